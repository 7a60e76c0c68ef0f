"""``SubprocPettingZooVecEnv``: the copies of the vec env stepped in worker processes.

Each worker owns a contiguous block of copies and steps them with the same runners as the
in-process :class:`~ps_wrappers.vec_env.PettingZooVecEnv` (its sibling over
:class:`~ps_wrappers.base_vec_env.SlotVecEnv`); only the per-step arrays cross the pipe. Worth it
when one env step costs far more than the pipe round trip (physics-heavy envs such as multiwalker
or knights-archers-zombies); for cheap envs the in-process vec env is faster.

Failures are loud, following SB3's ``SubprocVecEnv`` worker: an exception inside a worker is sent
back and re-raised in the caller with the worker's traceback attached (as the cause); a worker that
dies is reported with its exit code; when construction fails in some workers the others are
stopped; a closed vec env refuses to step.
"""

from __future__ import annotations

import multiprocessing as mp
import numbers
import os
import traceback
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import CloudpickleWrapper

from ps_wrappers.action_padding import InvalidActionMode
from ps_wrappers.base_vec_env import SlotVecEnv, call_env
from ps_wrappers.construction import build_runners
from ps_wrappers.copy_runner import reset_runners, step_runners
from ps_wrappers.slot_writer import SlotBuffers

__all__ = ["SubprocPettingZooVecEnv", "WorkerTraceback"]


class WorkerTraceback(Exception):
    """The traceback of an exception raised inside a worker process (attached as the cause)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        """The worker's formatted traceback."""
        return "\n\n" + self.text


def _send_error(remote: Any, err: BaseException) -> None:
    text = traceback.format_exc()
    try:
        remote.send(("error", (err, text)))
    except Exception:  # the exception itself does not pickle: send its text
        remote.send(("error", (RuntimeError(f"{type(err).__name__}: {err}"), text)))


def _worker(remote: Any, parent: Any, env_fn: CloudpickleWrapper, copies: list[int], kwargs: dict) -> None:
    parent.close()
    try:
        runners, buffers, spec = build_runners(env_fn.var, copies, **kwargs)
        remote.send(("ok", replace(spec, encoder=None)))  # the encoder's writers are closures
    except Exception as err:  # report construction errors to the parent
        _send_error(remote, err)
        remote.close()
        return
    rewards = np.zeros(buffers.n_rows, np.float32)
    dones = np.zeros(buffers.n_rows, bool)
    infos: list[dict] = [{} for _ in range(buffers.n_rows)]
    while True:
        try:
            cmd, data = remote.recv()
        except (EOFError, KeyboardInterrupt):  # the parent is gone
            break
        try:
            if cmd == "step":
                step_runners(runners, data, rewards, dones, infos)
                remote.send(("ok", (buffers.copy(), rewards.copy(), dones.copy(), list(infos))))
            elif cmd == "reset":
                reset_infos = reset_runners(runners, *data)
                remote.send(("ok", (buffers.copy(), reset_infos)))
            elif cmd == "call":
                kind, name, local, args, kw = data
                remote.send(("ok", [call_env(runners[i].env, kind, name, args, kw) for i in local]))
            elif cmd == "close":
                for runner in runners:
                    runner.env.close()
                remote.close()
                return
            else:
                raise NotImplementedError(f"`{cmd}` is not implemented in the worker")
        except Exception as err:
            _send_error(remote, err)
    for runner in runners:
        runner.env.close()


def _n_workers(n_workers: Any, n_envs: int) -> int:
    if n_workers is None:
        return min(n_envs, os.cpu_count() or 1)
    if isinstance(n_workers, bool) or not isinstance(n_workers, numbers.Integral) or n_workers < 1:
        raise ValueError(f"make_vec_env: n_workers must be a positive integer or None, got {n_workers!r}")
    return min(n_envs, int(n_workers))


class SubprocPettingZooVecEnv(SlotVecEnv):
    """The parameter-sharing vec env whose copies live in ``n_workers`` processes."""

    def __init__(
        self,
        env_fn: Callable[[], Any],
        n_envs: int,
        invalid_action: InvalidActionMode = "raise",
        *,
        n_workers: int | None = None,
        start_method: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Start the workers; use :func:`ps_wrappers.make_vec_env` with ``vec_env_cls="subproc"``."""
        workers = _n_workers(n_workers, n_envs)
        method = start_method or ("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
        ctx: Any = mp.get_context(method)
        if method == "forkserver":  # workers fork from a server that has imported torch and SB3 once
            ctx.set_forkserver_preload(["ps_wrappers"])
        self._blocks = [[int(c) for c in b] for b in np.array_split(np.arange(n_envs), workers)]
        self._remotes: list[Any] = []
        self._procs: list[Any] = []
        for block in self._blocks:
            remote, work = ctx.Pipe()
            args = (work, remote, CloudpickleWrapper(env_fn), block, dict(kwargs, invalid_action=invalid_action))
            proc = ctx.Process(target=_worker, args=args, daemon=True)
            proc.start()
            work.close()
            self._remotes.append(remote)
            self._procs.append(proc)
        try:
            specs = self._gather(range(workers))
        except BaseException:
            self._stop()
            raise
        spec = specs[0]
        n_agents = len(spec.agents)
        self._slot_blocks = [slice(b[0] * n_agents, (b[-1] + 1) * n_agents) for b in self._blocks]
        self._where = {c: (w, k) for w, b in enumerate(self._blocks) for k, c in enumerate(b)}
        super().__init__(spec, SlotBuffers(spec.layout, n_envs * n_agents), n_envs, invalid_action)

    # --- pipes ---------------------------------------------------------------------------------------

    def _recv(self, w: int) -> tuple[str, Any]:
        try:
            return self._remotes[w].recv()
        except (EOFError, ConnectionError, OSError):
            proc = self._procs[w]
            proc.join(timeout=1)
            raise RuntimeError(
                f"SubprocPettingZooVecEnv: worker {w} (copies {self._blocks[w]}) stopped without replying "
                f"(exit code {proc.exitcode}); a crash in native code kills a worker without a Python "
                "traceback: run with vec_env_cls='dummy' to see the error"
            ) from None

    def _gather(self, workers: Any) -> list[Any]:
        """Every worker's reply (all are read, so the pipes stay in step), re-raising the first error."""
        replies = [self._recv(w) for w in workers]
        for status, payload in replies:
            if status == "error":
                err, text = payload
                raise err from WorkerTraceback(text)
        return [payload for _, payload in replies]

    def _send(self, w: int, message: Any) -> None:
        try:
            self._remotes[w].send(message)
        except (BrokenPipeError, ConnectionError, OSError):
            self._recv(w)  # raises the worker's exit
            raise

    # --- SlotVecEnv ----------------------------------------------------------------------------------

    def _reset_copies(self, seeds: list[int | None], options: list[dict]) -> list[dict]:
        for w, block in enumerate(self._blocks):
            self._send(w, ("reset", ([seeds[c] for c in block], [options[c] for c in block])))
        infos: list[dict] = []
        for s, (obs, reset_infos) in zip(self._slot_blocks, self._gather(range(len(self._blocks)))):
            self._buffers.assign(s, obs)
            infos.extend(reset_infos)
        return infos

    def _step_copies(self, actions: np.ndarray) -> None:
        for w, s in enumerate(self._slot_blocks):
            self._send(w, ("step", actions[s]))
        for s, (obs, rew, done, infos) in zip(self._slot_blocks, self._gather(range(len(self._blocks)))):
            self._buffers.assign(s, obs)
            self._rewards[s], self._dones[s] = rew, done
            self._infos[s] = infos

    def _call_copies(self, kind: str, name: Any, copies: list[int], args: Any = (), kwargs: dict | None = None) -> list[Any]:
        out: list[Any] = []
        for c in copies:
            w, k = self._where[c]
            self._send(w, ("call", (kind, name, [k], args, kwargs or {})))
            out.extend(self._gather([w])[0])
        return out

    def _close(self) -> None:
        self._stop()

    def _stop(self) -> None:
        """Ask every worker to close its envs, wait for it, and close the pipes (SB3's order)."""
        for remote in self._remotes:
            try:
                remote.send(("close", None))
            except (BrokenPipeError, ConnectionError, OSError):
                pass
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=1)
        for remote in self._remotes:
            remote.close()
