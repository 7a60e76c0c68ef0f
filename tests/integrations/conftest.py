"""Shared helpers for the integration tests."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from pettingzoo.utils.env import ParallelEnv

from ps_wrappers.testing import check_parallel_env

_API_WARNINGS = ("was not given", "was dead last turn", "No agents present", "not all possible_agents")


def _run_api_check(env_fn: Callable[[], ParallelEnv], **kwargs: Any) -> int:
    """PettingZoo's parallel API test plus our in-space check; its warnings count as failures."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        checked = check_parallel_env(env_fn, **kwargs)
    bad = [str(w.message) for w in caught if any(s in str(w.message) for s in _API_WARNINGS)]
    assert not bad, f"PettingZoo API warnings: {bad}"
    assert checked > 0
    return checked


@pytest.fixture
def api_check() -> Callable[..., int]:
    """``api_check(env_fn, **check_parallel_env_kwargs)``."""
    return _run_api_check


def _rollout(env: ParallelEnv, seed: int, n_steps: int, action_seed: int = 0) -> list[tuple]:
    """Reset with ``seed`` and take seeded random actions; return per-step (obs, rew, term, trunc)."""
    rng = np.random.default_rng(action_seed)
    obs, _ = env.reset(seed=seed)
    trace: list[tuple] = [({a: np.asarray(o).copy() for a, o in obs.items()},)]
    for _ in range(n_steps):
        if not env.agents:
            break
        actions = {a: int(rng.integers(env.action_space(a).n)) for a in env.agents}
        obs, rew, term, trunc, _ = env.step(actions)
        trace.append(({a: np.asarray(o).copy() for a, o in obs.items()}, rew, term, trunc))
    return trace


def _assert_same_trace(t1: list[tuple], t2: list[tuple]) -> None:
    """Two rollouts are identical, step for step."""
    assert len(t1) == len(t2)
    for s1, s2 in zip(t1, t2):
        assert s1[0].keys() == s2[0].keys()
        for a in s1[0]:
            np.testing.assert_array_equal(s1[0][a], s2[0][a])
        assert s1[1:] == s2[1:]


def _traces_differ(t1: list[tuple], t2: list[tuple]) -> bool:
    """Whether two rollouts differ in any observation."""
    return any(
        not np.array_equal(s1[0][a], s2[0][a]) for s1, s2 in zip(t1, t2) for a in s1[0] if a in s2[0]
    )


@pytest.fixture
def rollout() -> Callable[..., list[tuple]]:
    """``rollout(env, seed, n_steps, action_seed=0)``: a seeded random rollout trace."""
    return _rollout


@pytest.fixture
def same_trace() -> Callable[[list[tuple], list[tuple]], None]:
    """``same_trace(t1, t2)`` asserts two traces are identical."""
    return _assert_same_trace


@pytest.fixture
def traces_differ() -> Callable[[list[tuple], list[tuple]], bool]:
    """``traces_differ(t1, t2)``: whether two traces differ in an observation."""
    return _traces_differ
