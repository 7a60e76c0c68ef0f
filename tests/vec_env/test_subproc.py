"""The subprocess vec env fails loudly: worker errors with their traceback, construction, close."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gymnasium import spaces

import ps_wrappers as pw
from ps_wrappers.subproc_vec_env import WorkerTraceback
from ps_wrappers.testing import Fault, HostileEnv

BOX = spaces.Box(-1.0, 1.0, (3,), np.float32)


class Exploding(HostileEnv):
    """Raises inside ``step`` at its third step."""

    def step(self, actions: dict) -> tuple:
        if self._global == 2:
            raise RuntimeError("boom from inside the env")
        return super().step(actions)


def _exploding() -> Exploding:
    return Exploding(BOX, spaces.Discrete(2), 2, max_steps=50)


def test_worker_exception_reaches_the_caller_with_its_traceback() -> None:
    venv = pw.make_vec_env(_exploding, n_envs=2, seed=0, vec_env_cls="subproc", n_workers=2)
    try:
        venv.reset()
        venv.step(np.zeros(4, np.int64))
        venv.step(np.zeros(4, np.int64))
        with pytest.raises(RuntimeError, match="boom from inside the env") as info:
            venv.step(np.zeros(4, np.int64))
        cause = info.value.__cause__
        assert isinstance(cause, WorkerTraceback)
        assert "in step" in cause.text and "boom from inside the env" in cause.text
        venv.get_attr("possible_agents")  # the pipes are still in step after the error
    finally:
        venv.close()


def test_env_contract_errors_keep_their_type_across_the_pipe() -> None:
    make = lambda: HostileEnv(BOX, spaces.Discrete(2), 2, [Fault(1, 1, "reward_none")])  # noqa: E731
    venv = pw.make_vec_env(make, n_envs=2, seed=0, vec_env_cls="subproc", n_workers=2)
    try:
        venv.reset()
        with pytest.raises(pw.EnvContractError, match=r"returned the reward None for agent 'agent_1'"):
            venv.step(np.zeros(4, np.int64))
    finally:
        venv.close()


def _fails_after_first(path: str) -> HostileEnv:
    """Builds fine in the first process that calls it, fails in every later one."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL)
        os.close(fd)
    except FileExistsError:
        raise ValueError("this copy cannot be built") from None
    return HostileEnv(BOX, spaces.Discrete(2), 2)


def test_construction_failure_in_one_worker_stops_the_healthy_ones(tmp_path: Path) -> None:
    before = set(mp.active_children())
    path = str(tmp_path / "built")
    with pytest.raises(ValueError, match="this copy cannot be built") as info:
        pw.make_vec_env(lambda: _fails_after_first(path), n_envs=2, vec_env_cls="subproc", n_workers=2)
    assert isinstance(info.value.__cause__, WorkerTraceback)
    assert Path(path).exists()  # one worker did build its env
    assert [p for p in mp.active_children() if p not in before] == []  # and was stopped


def test_a_killed_worker_is_reported_with_its_exit_code() -> None:
    venv = pw.make_vec_env(lambda: HostileEnv(BOX, spaces.Discrete(2)), n_envs=2, seed=0, vec_env_cls="subproc", n_workers=2)
    try:
        venv.reset()
        proc: Any = venv._procs[1]
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(timeout=5)
        with pytest.raises(RuntimeError, match=r"worker 1 \(copies \[1\]\) stopped without replying \(exit code -9\)"):
            venv.step(np.zeros(6, np.int64))
    finally:
        venv.close()


def test_unknown_command_is_an_error_not_a_hang() -> None:
    venv = pw.make_vec_env(lambda: HostileEnv(BOX, spaces.Discrete(2)), vec_env_cls="subproc")
    try:
        venv._send(0, ("teleport", None))
        with pytest.raises(NotImplementedError, match="`teleport` is not implemented in the worker"):
            venv._gather([0])
    finally:
        venv.close()


def test_step_after_close_is_a_clear_error() -> None:
    venv = pw.make_vec_env(lambda: HostileEnv(BOX, spaces.Discrete(2)), vec_env_cls="subproc")
    venv.reset()
    venv.close()
    assert all(not p.is_alive() for p in venv._procs)
    venv.close()  # idempotent
    with pytest.raises(RuntimeError, match=r"SubprocPettingZooVecEnv\.step\(\) after close\(\)"):
        venv.step(np.zeros(3, np.int64))
