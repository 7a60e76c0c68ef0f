"""Checks that an env keeps its promises: every emitted observation inside its declared space.

PettingZoo's ``parallel_api_test`` and ``api_test`` never check observations against their spaces;
these functions do, for every agent on every reset and step, and run PettingZoo's own tests too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import AECEnv, ParallelEnv

__all__ = ["check_in_space", "check_parallel_env", "check_aec_env", "sample_valid_action"]


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array(shape={value.shape}, dtype={value.dtype}, min={value.min(initial=0)}, max={value.max(initial=0)})"
    return repr(value)


def check_in_space(space: spaces.Space, value: Any, what: str) -> None:
    """Raise ``AssertionError`` naming ``what`` when ``value`` is not inside ``space``.

    Beyond ``space.contains`` it also requires the dtype of Box values to match exactly.
    """
    if isinstance(space, spaces.Box) and isinstance(value, np.ndarray) and value.dtype != space.dtype:
        raise AssertionError(f"{what}: dtype {value.dtype} differs from the space's {space.dtype}")
    if not space.contains(value):
        raise AssertionError(f"{what}: {_describe(value)} is not inside {space}")


def sample_valid_action(space: spaces.Space, mask: np.ndarray | None, rng: np.random.Generator) -> Any:
    """Sample an action from ``space`` that ``mask`` allows (uniformly when no mask is given).

    For MultiDiscrete spaces the mask is the concatenation of one mask per dimension
    (sb3-contrib's layout, as returned by ``action_mask`` of :func:`ps_wrappers.pad_actions`).
    """
    if mask is not None and isinstance(space, spaces.Discrete):
        valid = np.flatnonzero(mask)
        if valid.size == 0:
            raise AssertionError(f"action mask allows no action in {space}")
        return np.int64(space.start + rng.choice(valid))
    if mask is not None and isinstance(space, spaces.MultiDiscrete) and space.nvec.ndim == 1:
        mask = np.asarray(mask).reshape(-1)
        if mask.size != int(space.nvec.sum()):
            raise AssertionError(f"action mask of {mask.size} entries does not fit {space}")
        action = np.zeros(len(space.nvec), dtype=space.dtype)
        for d, part in enumerate(np.split(mask, np.cumsum(space.nvec)[:-1])):
            valid = np.flatnonzero(part)
            if valid.size == 0:
                raise AssertionError(f"action mask allows no value in dimension {d} of {space}")
            action[d] = space.start[d] + rng.choice(valid)
        return action
    return space.sample()


def _mask_of(obs: Any, info: dict | None) -> np.ndarray | None:
    if isinstance(obs, dict) and "action_mask" in obs:
        return np.asarray(obs["action_mask"])
    if info and "action_mask" in info:
        return np.asarray(info["action_mask"])
    return None


def check_parallel_env(
    env_fn: Callable[[], ParallelEnv],
    *,
    seed: int = 0,
    n_steps: int = 200,
    api_test: bool = True,
    mask_fn: Callable[[ParallelEnv, Any], np.ndarray | None] | None = None,
) -> int:
    """Run PettingZoo's parallel API test, then check every observation is in its space.

    Args:
        env_fn: Zero-argument callable returning a fresh ParallelEnv.
        seed: Seed for resets and the random actions.
        n_steps: Environment steps to take (resetting when all agents are done).
        api_test: Also run ``pettingzoo.test.parallel_api_test``.
        mask_fn: Optional ``(env, agent) -> mask`` giving the valid actions of an agent (for
            example ``env.action_mask`` of :func:`ps_wrappers.pad_actions`); actions are sampled
            inside it, and the test fails if a masked-out action is ever needed.

    Returns:
        The number of observations checked.
    """
    if api_test:
        from pettingzoo.test import parallel_api_test

        parallel_api_test(env_fn(), num_cycles=50)
    env = env_fn()
    rng = np.random.default_rng(seed)
    for agent in env.possible_agents:
        env.action_space(agent).seed(seed)
    checked = 0
    obs, infos = env.reset(seed=seed)
    for step in range(n_steps):
        for agent, o in obs.items():
            check_in_space(env.observation_space(agent), o, f"step {step}, agent {agent!r}")
            checked += 1
        if not env.agents:
            obs, infos = env.reset(seed=seed + step + 1)
            continue
        actions = {}
        for agent in env.agents:
            mask = mask_fn(env, agent) if mask_fn else _mask_of(obs.get(agent), infos.get(agent))
            actions[agent] = sample_valid_action(env.action_space(agent), mask, rng)
        obs, _, terms, truncs, infos = env.step(actions)
    env.close()
    return checked


def check_aec_env(
    env_fn: Callable[[], AECEnv],
    *,
    seed: int = 0,
    n_steps: int = 200,
    api_test: bool = True,
    mask_fn: Callable[[AECEnv, Any], np.ndarray | None] | None = None,
) -> int:
    """AEC counterpart of :func:`check_parallel_env` (uses ``pettingzoo.test.api_test``)."""
    if api_test:
        from pettingzoo.test import api_test as aec_api_test

        aec_api_test(env_fn(), num_cycles=50)
    env = env_fn()
    rng = np.random.default_rng(seed)
    for agent in env.possible_agents:
        env.action_space(agent).seed(seed)
    env.reset(seed=seed)
    checked = 0
    for step in range(n_steps):
        if not env.agents:
            env.reset(seed=seed + step + 1)
        agent = env.agent_selection
        obs, _, term, trunc, info = env.last()
        check_in_space(env.observation_space(agent), obs, f"step {step}, agent {agent!r}")
        for other in env.agents:
            check_in_space(env.observation_space(other), env.observe(other), f"observe({other!r})")
        checked += 1
        if term or trunc:
            env.step(None)
            continue
        mask = mask_fn(env, agent) if mask_fn else _mask_of(obs, info)
        env.step(sample_valid_action(env.action_space(agent), mask, rng))
    env.close()
    return checked
