"""``SubprocPettingZooVecEnv``: the copies of :class:`PettingZooVecEnv` stepped in worker processes.

Each worker owns a contiguous block of copies and steps them with the same runners as the
in-process vec env; only the per-step arrays cross the pipe. Worth it when one env step costs far
more than the pipe round trip (physics-heavy envs such as multiwalker or knights-archers-zombies);
for cheap envs the in-process vec env is faster.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import (
    CloudpickleWrapper,
    VecEnvIndices,
    VecEnvStepReturn,
)

from ps_wrappers.action_padding import InvalidActionMode
from ps_wrappers.make_vec_env import build_runners
from ps_wrappers.vec_env import PettingZooVecEnv, record_reset_infos, reset_runners, step_runners

__all__ = ["SubprocPettingZooVecEnv"]


def _worker(remote: Any, parent: Any, env_fn: CloudpickleWrapper, copies: list[int], kwargs: dict) -> None:
    parent.close()
    try:
        runners, buf, obs_space, act_space = build_runners(env_fn.var, copies, None, **kwargs)
    except Exception as err:  # report construction errors to the parent
        remote.send(("error", err))
        return
    n = buf.shape[0]
    rewards = np.zeros(n, np.float32)
    dones = np.zeros(n, bool)
    infos: list[dict] = [{} for _ in range(n)]
    remote.send(("ok", (obs_space, act_space)))
    while True:
        cmd, data = remote.recv()
        if cmd == "step":
            step_runners(runners, data, rewards, dones, infos)
            remote.send((buf.copy(), rewards.copy(), dones.copy(), list(infos)))
        elif cmd == "reset":
            reset_infos = reset_runners(runners, *data)
            remote.send((buf.copy(), reset_infos))
        elif cmd == "call":
            name, local, args, kw, attr = data
            envs = [runners[i].env for i in local]
            if attr == "get":
                remote.send([getattr(e, name) for e in envs])
            elif attr == "set":
                for e in envs:
                    setattr(e, name, args)
                remote.send(None)
            elif attr == "wrapped":
                remote.send([_is_wrapped(e, name) for e in envs])
            else:
                remote.send([getattr(e, name)(*args, **kw) for e in envs])
        elif cmd == "close":
            for r in runners:
                r.env.close()
            remote.close()
            return


def _is_wrapped(env: Any, cls: type) -> bool:
    while env is not None:
        if isinstance(env, cls):
            return True
        env = env.__dict__.get("env") or env.__dict__.get("aec_env")
    return False


class SubprocPettingZooVecEnv(PettingZooVecEnv):
    """:class:`PettingZooVecEnv` whose copies live in ``n_workers`` processes."""

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
        n_workers = min(n_envs, n_workers or os.cpu_count() or 1)
        if n_workers < 1:
            raise ValueError(f"SubprocPettingZooVecEnv: n_workers must be >= 1, got {n_workers}")
        method = start_method or ("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
        ctx: Any = mp.get_context(method)
        self._blocks = [[int(c) for c in b] for b in np.array_split(np.arange(n_envs), n_workers)]
        self._remotes, self._procs = [], []
        for block in self._blocks:
            remote, work = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(work, remote, CloudpickleWrapper(env_fn), block, kwargs), daemon=True)
            proc.start()
            work.close()
            self._remotes.append(remote)
            self._procs.append(proc)
        answers = [r.recv() for r in self._remotes]
        for status, payload in answers:
            if status == "error":
                self.close()
                raise payload
        obs_space, act_space = answers[0][1]
        # No local runners: the methods below talk to the workers instead.
        local_buf = np.zeros((n_envs * len(obs_space.layout.agents), obs_space.layout.total_dim), np.float32)
        self._closed = False
        self._replaced: list[int] = []
        super().__init__([], local_buf, obs_space, act_space, invalid_action)

    def _slots(self, w: int) -> slice:
        block = self._blocks[w]
        return slice(block[0] * self.n_agents, (block[-1] + 1) * self.n_agents)

    def reset(self) -> np.ndarray:
        """Reset every copy in every worker."""
        seeds = self._seeds[:: self.n_agents]
        options = self._options[:: self.n_agents]
        if seeds[0] is not None:
            self.action_guard.seed(seeds[0])
        for remote, block in zip(self._remotes, self._blocks):
            remote.send(("reset", ([seeds[c] for c in block], [options[c] for c in block])))
        infos: list[dict] = []
        for w, remote in enumerate(self._remotes):
            obs, reset_infos = remote.recv()
            self._obs[self._slots(w)] = obs
            infos.extend(reset_infos)
        self.reset_infos = infos
        self._reset_seeds()
        self._reset_options()
        return self._obs.copy()

    def step_async(self, actions: np.ndarray) -> None:
        """Check the actions and send each worker its block."""
        actions, self._replaced = self.action_guard.check(self._obs, actions)
        for w, remote in enumerate(self._remotes):
            remote.send(("step", actions[self._slots(w)]))

    def step_wait(self) -> VecEnvStepReturn:
        """Gather every worker's results."""
        for w, remote in enumerate(self._remotes):
            obs, rew, done, infos = remote.recv()
            s = self._slots(w)
            self._obs[s], self._rewards[s], self._dones[s] = obs, rew, done
            self._infos[s] = infos
        record_reset_infos(self.reset_infos, self._dones, self._infos)
        for i in self._replaced:
            self._infos[i] = {**self._infos[i], "invalid_action_replaced": True}
        return self._obs.copy(), self._rewards.copy(), self._dones.copy(), list(self._infos)

    def _call(self, name: str, indices: VecEnvIndices, kind: str, args: Any = (), kw: dict | None = None) -> list[Any]:
        slots: Iterable[int]
        if indices is None:
            slots = range(self.num_envs)
        elif isinstance(indices, int):
            slots = [indices]
        else:
            slots = indices
        copies = [i // self.n_agents for i in slots]
        out: list[Any] = []
        for c in copies:
            w = next(k for k, b in enumerate(self._blocks) if c in b)
            self._remotes[w].send(("call", (name, [self._blocks[w].index(c)], args, kw or {}, kind)))
            res = self._remotes[w].recv()
            out.extend(res if res is not None else [None])
        return out

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """Attribute of each slot's PettingZoo env (in its worker)."""
        if attr_name == "action_masks" and self.layout.n_actions:
            return [self.action_masks] * len(self._call("possible_agents", indices, "get"))
        return self._call(attr_name, indices, "get")

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an attribute on each addressed slot's PettingZoo env."""
        self._call(attr_name, indices, "set", value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any) -> list[Any]:
        """Call a method of each slot's PettingZoo env (``action_masks``: the slot's own mask)."""
        if method_name == "action_masks":
            return super().env_method(method_name, indices=indices)
        return self._call(method_name, indices, "method", method_args, method_kwargs)

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        """Whether each slot's env has ``wrapper_class`` in its wrapper chain."""
        return self._call(wrapper_class, indices, "wrapped")  # type: ignore[arg-type]

    def get_images(self) -> Sequence[np.ndarray | None]:
        """``render()`` of each copy."""
        return self._call("render", list(range(0, self.num_envs, self.n_agents)), "method")

    def close(self) -> None:
        """Stop the workers."""
        if getattr(self, "_closed", True):
            return
        for remote in self._remotes:
            try:
                remote.send(("close", None))
            except (BrokenPipeError, OSError):
                pass
        for proc in self._procs:
            proc.join(timeout=5)
        self._closed = True
