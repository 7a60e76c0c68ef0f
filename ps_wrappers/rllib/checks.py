"""``check_rllib_env``: what RLlib's env checker checks, with valid actions, and more.

RLlib's ``check_multiagent_environments`` (run on every env runner unless
``disable_env_checking=True``) steps the env once with actions sampled from the action spaces. A
padded agent's space contains actions that are invalid by design, so the checker's step fails (the
env refuses them) and kills the runner. :func:`policies.rllib.shared_ppo_config` therefore disables
it; this function is its replacement: the same structural checks, with actions drawn from each
agent's ``action_mask``, over many steps and episodes, plus what RLlib does not check (every
observation inside its declared space, ``possible_agents`` order, seeding).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from ps_wrappers.rllib.options import MASK_KEY
from ps_wrappers.testing.checks import check_in_space, sample_valid_action

__all__ = ["check_rllib_env"]


def _fail(message: str) -> AssertionError:
    return AssertionError(f"check_rllib_env: {message}")


def _check_keys(env: MultiAgentEnv, what: str, data: dict, allowed: set, order: bool = True) -> None:
    if not isinstance(data, dict):
        raise _fail(f"{what} must be a dict keyed by agent, got {type(data).__name__}")
    keys = [k for k in data if k != "__all__"]
    extra = [k for k in keys if k not in allowed]
    if extra:
        raise _fail(f"{what} has entries for {extra}, which may not appear now (allowed: {sorted(map(str, allowed))})")
    if order:
        expected = [a for a in env.possible_agents if a in data]
        if keys != expected:
            raise _fail(f"{what} keys {keys} are not in possible_agents order {expected}")


def _rollout(env: MultiAgentEnv, n_steps: int, seed: int) -> list[Any]:
    """Run ``n_steps`` checked steps with valid random actions; return everything observed."""
    rng = np.random.default_rng(seed)
    for i, agent in enumerate(env.possible_agents):  # Box actions are drawn by the space itself
        env.get_action_space(agent).seed(seed + i)
    trace: list[Any] = []
    obs, infos = env.reset(seed=seed)
    done: set[Any] = set()
    allowed = possible = set(env.possible_agents)
    for step in range(n_steps + 1):
        where = "reset()" if step == 0 or trace[-1] == "reset" else f"step {step}"
        _check_keys(env, f"{where} observations", obs, allowed)
        _check_keys(env, f"{where} infos", infos, set(obs), order=False)
        for agent, o in obs.items():
            check_in_space(env.get_observation_space(agent), o, f"{where}: observation of agent {agent!r}")
        trace.append({a: {k: np.array(v, copy=True) for k, v in o.items()} for a, o in obs.items()})
        if step == n_steps:
            return trace
        to_act = [a for a in obs if a not in done]
        actions = {}
        for agent in to_act:
            mask = obs[agent].get(MASK_KEY)
            actions[agent] = sample_valid_action(env.get_action_space(agent), None if mask is None else mask > 0.5, rng)
        obs, rewards, terminated, truncated, infos = env.step(actions)
        where = f"step {step + 1}"
        for name, data in (("terminateds", terminated), ("truncateds", truncated)):
            if "__all__" not in data:
                raise _fail(f"{where}: {name} has no '__all__' entry")
        _check_keys(env, f"{where} rewards", rewards, possible - done)
        for agent, r in rewards.items():
            if not isinstance(r, float):
                raise _fail(f"{where}: reward of agent {agent!r} is {r!r} ({type(r).__name__}), not a float")
        for agent in set(terminated) - {"__all__"}:
            if terminated[agent] and truncated.get(agent):
                raise _fail(f"{where}: agent {agent!r} is both terminated and truncated")
            if (terminated[agent] or truncated.get(agent)) and agent not in obs:
                raise _fail(f"{where}: agent {agent!r} ended without a final observation (RLlib needs one)")
        trace.append({"rewards": dict(rewards)})
        allowed = possible - done
        done |= {a for a in obs if terminated.get(a) or truncated.get(a)}
        if terminated["__all__"] or truncated["__all__"]:
            if terminated["__all__"] and truncated["__all__"]:
                raise _fail(f"{where}: '__all__' is both terminated and truncated")
            _check_keys(env, f"{where} observations", obs, possible)
            for agent, o in obs.items():
                check_in_space(env.get_observation_space(agent), o, f"{where}: final observation of agent {agent!r}")
            obs, infos = env.reset()
            done = set()
            allowed = possible
            trace.append("reset")
    return trace


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return bool(a == b)


def check_rllib_env(env: MultiAgentEnv, *, n_steps: int = 100, seed: int = 0) -> None:
    """Check a multi-agent env the way RLlib's env checker would, with valid actions.

    Runs ``n_steps`` steps (resetting at episode ends) with random actions drawn from each agent's
    ``obs["action_mask"]`` and checks: dicts keyed by agents that may appear (in
    ``possible_agents`` order, nothing for agents already done), ``"__all__"`` flags, float
    rewards, a final observation for every agent that ends, no agent both terminated and
    truncated, every observation inside its declared space; then repeats the run with the same
    seed and requires identical observations and rewards.

    Args:
        env: The env, e.g. ``ps_wrappers.rllib.to_rllib(env_fn)``.
        n_steps: Steps to run.
        seed: Seed of the env and of the random actions.

    Raises:
        AssertionError: naming the first problem found.
    """
    if not isinstance(env, MultiAgentEnv):
        raise TypeError(f"check_rllib_env expects an RLlib MultiAgentEnv, got {type(env).__name__}")
    first = _rollout(env, n_steps, seed)
    second = _rollout(env, n_steps, seed)
    for i, (a, b) in enumerate(zip(first, second)):
        if not _same(a, b):
            raise _fail(
                f"two runs with seed={seed} differ at item {i} of the trace; reset(seed=...) must "
                "make the env deterministic"
            )
