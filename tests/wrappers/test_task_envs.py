"""ImageIdentityEnv, ContinuousIdentityEnv and MemoryEnv (ps_wrappers.testing): PettingZoo API,
seeding, in-space observations, and the chance-level and optimal returns their docstrings state,
measured by running scripted policies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from pettingzoo.test import parallel_seed_test

from ps_wrappers import pad_actions
from ps_wrappers.testing import (
    ContinuousIdentityEnv,
    ImageIdentityEnv,
    MemoryEnv,
    check_parallel_env,
)

Policy = Callable[[Any, str, np.ndarray], Any]


def mean_return(env: Any, policy: Policy, episodes: int, seed: int = 0) -> float:
    """Mean over agents and episodes of the episode return of ``policy(env, agent, obs)``."""
    total, count = 0.0, 0
    for e in range(episodes):
        obs, _ = env.reset(seed=seed + e)
        returns = dict.fromkeys(env.agents, 0.0)
        while env.agents:
            obs, rew, *_ = env.step({a: policy(env, a, obs[a]) for a in env.agents})
            for a, r in rew.items():
                returns[a] += r
        total += sum(returns.values())
        count += len(returns)
    return total / count


ENVS = {
    "image": lambda: ImageIdentityEnv(),
    "image-chw": lambda: ImageIdentityEnv(n_agents=3, n_actions=5, image_size=(7, 9), channels=2, channels_last=False),
    "continuous": lambda: ContinuousIdentityEnv(),
    "continuous-hetero": lambda: ContinuousIdentityEnv(action_dims=(3, 3, 1, 2)),
    "memory": lambda: MemoryEnv(),
    "memory-3": lambda: MemoryEnv(n_agents=3, n_cues=4, delay=2),
}


@pytest.mark.parametrize("name", list(ENVS))
def test_api_seeding_and_spaces(name: str) -> None:
    make = ENVS[name]
    assert check_parallel_env(make, n_steps=100) > 0
    parallel_seed_test(make, num_cycles=20)
    a, b = make(), make()
    first_a = a.reset(seed=1)[0]
    assert all(np.array_equal(first_a[k], v) for k, v in b.reset(seed=1)[0].items())


# --- ImageIdentityEnv -------------------------------------------------------------------------------


def test_image_identity_shows_every_agent_the_same_fresh_image() -> None:
    env = ImageIdentityEnv(image_size=12)
    obs, _ = env.reset(seed=0)
    assert obs["agent_0"].shape == (12, 12, 3) and obs["agent_0"].dtype == np.uint8
    nxt, *_ = env.step(dict.fromkeys(env.agents, 0))
    for o in (obs, nxt):
        assert all(np.array_equal(o["agent_0"], o[a]) for a in env.possible_agents)
    assert not np.array_equal(obs["agent_0"], nxt["agent_0"])
    assert ImageIdentityEnv(channels_last=False, channels=1).observation_space("agent_0").shape == (1, 12, 12)


@pytest.mark.parametrize("n_agents, n_actions", [(4, 4), (6, 4), (3, 5)])
def test_image_identity_returns(n_agents: int, n_actions: int) -> None:
    env = ImageIdentityEnv(n_agents=n_agents, n_actions=n_actions)
    expected = env.expected_returns()
    assert mean_return(env, lambda e, a, o: e.optimal_action(a), 2) == expected["optimal"] == 10
    blind = [mean_return(env, lambda e, a, o, k=k: k, 1) for k in range(n_actions)]
    assert max(blind) == pytest.approx(expected["best_shared"])  # the best agent-blind policy
    rng = np.random.default_rng(0)
    random = mean_return(env, lambda e, a, o: rng.integers(n_actions), 300)
    assert random == pytest.approx(expected["random"], abs=0.15)
    assert expected["best_shared"] < expected["optimal"]


# --- ContinuousIdentityEnv --------------------------------------------------------------------------


def test_continuous_identity_targets_differ_and_returns_match() -> None:
    env = ContinuousIdentityEnv()
    targets = np.stack([env.target(a) for a in env.possible_agents])
    assert len({tuple(t) for t in targets.round(3)}) == 4 and np.abs(targets).max() <= 0.8
    expected = env.expected_returns()
    assert mean_return(env, lambda e, a, o: e.target(a), 2) == expected["optimal"] == 0.0
    shared = env.best_shared_action()
    assert mean_return(env, lambda e, a, o: shared, 2) == pytest.approx(expected["best_shared"], rel=1e-5)
    for nudge in np.eye(2, dtype=np.float32) * 0.1:  # a local optimum of agent-blind actions
        assert mean_return(env, lambda e, a, o, n=nudge: shared + n, 1) < expected["best_shared"]
    rng = np.random.default_rng(0)
    random = mean_return(env, lambda e, a, o: rng.uniform(-1, 1, 2).astype(np.float32), 300)
    assert random == pytest.approx(expected["random"], abs=0.15)
    assert (expected["random"], expected["best_shared"]) == pytest.approx((-6.533, -1.834), abs=1e-3)


def test_continuous_identity_heterogeneous_actions_through_pad_actions() -> None:
    env = ContinuousIdentityEnv(action_dims=(2, 2, 1, 1))
    assert [env.action_space(a).shape for a in env.possible_agents] == [(2,), (2,), (1,), (1,)]
    padded = pad_actions(env)
    assert {padded.action_space(a).shape for a in padded.possible_agents} == {(2,)}
    shared = env.best_shared_action()
    assert shared.shape == (2,)
    assert mean_return(padded, lambda e, a, o: shared, 1) == pytest.approx(env.expected_returns()["best_shared"], rel=1e-5)
    targets = {a: np.pad(env.target(a), (0, 2 - env.target(a).size), constant_values=0.9) for a in env.possible_agents}
    assert mean_return(padded, lambda e, a, o: targets[a], 1) == 0.0  # padded dimensions are dropped


def test_continuous_identity_refuses_actions_outside_the_agents_space() -> None:
    env = ContinuousIdentityEnv(n_agents=2, action_dims=(2, 1))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"ContinuousIdentityEnv: action .* of agent 'agent_1' is outside its action space Box\(-1\.0, 1\.0, \(1,\), float32\)"):
        env.step({"agent_0": np.zeros(2), "agent_1": np.zeros(2)})
    with pytest.raises(ValueError, match="of agent 'agent_0' is outside"):
        env.step({"agent_0": np.array([1.5, 0.0]), "agent_1": np.zeros(1)})


# --- MemoryEnv --------------------------------------------------------------------------------------


def test_memory_cue_then_blanks_then_query() -> None:
    env = MemoryEnv(n_agents=2, n_cues=3, delay=3)
    obs, _ = env.reset(seed=0)
    seen = [obs]
    rewards = []
    while env.agents:
        obs, rew, term, trunc, _ = env.step(dict.fromkeys(env.agents, 0))
        seen.append(obs)
        rewards.append(rew)
        assert not any(trunc.values())
    assert len(rewards) == 4 and all(term.values())
    for a in env.possible_agents:
        assert seen[0][a].tolist() == np.eye(4)[env.cue(a)].tolist()
        assert not seen[1][a].any() and not seen[2][a].any()
        assert seen[3][a].tolist() == [0, 0, 0, 1]
        assert [r[a] for r in rewards[:3]] == [0.0, 0.0, 0.0]


def test_memory_query_observation_does_not_depend_on_the_cue() -> None:
    queries = set()
    cues = set()
    for seed in range(20):
        env = MemoryEnv(n_agents=1, n_cues=3, delay=2)
        env.reset(seed=seed)
        cues.add(env.cue("agent_0"))
        env.step({"agent_0": 0})
        obs, *_ = env.step({"agent_0": 0})
        queries.add(tuple(obs["agent_0"]))
    assert len(cues) == 3 and len(queries) == 1  # a feed-forward policy cannot do better than chance


def test_memory_returns() -> None:
    env = MemoryEnv(n_agents=3, n_cues=2, delay=4)
    expected = env.expected_returns()
    memory: dict[str, int] = {}

    def recurrent(e: Any, agent: str, obs: np.ndarray) -> int:
        if obs[:-1].any():
            memory[agent] = int(obs[:-1].argmax())
        return memory[agent]

    assert mean_return(env, recurrent, 50) == expected["optimal"] == 1.0
    feed_forward = mean_return(env, lambda e, a, o: 1 if o[-1] else 0, 400)
    assert feed_forward == pytest.approx(expected["best_feed_forward"], abs=0.05)
    rng = np.random.default_rng(0)
    assert mean_return(env, lambda e, a, o: rng.integers(2), 400) == pytest.approx(expected["random"], abs=0.05)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: ImageIdentityEnv(image_size=(4, 0)), r"ImageIdentityEnv: n_agents, n_actions, max_steps, channels and the image height"),
        (lambda: ImageIdentityEnv(n_agents=0), r"ImageIdentityEnv: .*got n_agents=0"),
        (lambda: ContinuousIdentityEnv(n_agents=3, action_dims=(1, 2)), r"ContinuousIdentityEnv: need .* got n_agents=3, action_dims=\(1, 2\)"),
        (lambda: ContinuousIdentityEnv(action_dims=0), r"ContinuousIdentityEnv: need .*action_dims=0"),
        (lambda: MemoryEnv(n_cues=1), r"MemoryEnv: need n_agents >= 1, n_cues >= 2 and delay >= 1, got n_agents=2, n_cues=1, delay=4"),
        (lambda: MemoryEnv(delay=0), r"MemoryEnv: .*delay=0"),
    ],
)
def test_bad_arguments(make: Callable[[], Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()
