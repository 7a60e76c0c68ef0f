"""The test environments and checkers of ``ps_wrappers.testing`` are library code: test them."""

from __future__ import annotations

import re

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv

from ps_wrappers import agent_indicator
from ps_wrappers.testing import (
    AgentIdentityEnv,
    DyingAgentsEnv,
    SpaceMapEnv,
    check_aec_env,
    check_in_space,
    check_parallel_env,
    sample_valid_action,
)

BOX = spaces.Box(-1.0, 1.0, (2,), np.float32)


# --- DyingAgentsEnv ---------------------------------------------------------------------------------


def test_dying_agents_terminate_at_their_lifetimes() -> None:
    env = DyingAgentsEnv((3, 5, 8))
    obs, infos = env.reset()
    assert env.agents == ["agent_0", "agent_1", "agent_2"] and set(infos) == set(env.agents)
    died_at: dict[str, int] = {}
    total: dict[str, float] = dict.fromkeys(env.possible_agents, 0.0)
    t = 0
    while env.agents:
        alive = list(env.agents)
        obs, rew, term, trunc, _ = env.step(dict.fromkeys(alive, 0))
        t += 1
        assert set(obs) == set(rew) == set(term) == set(alive)
        for a in alive:
            total[a] += rew[a]
            assert not trunc[a]
            np.testing.assert_allclose(obs[a], [t / 100, env.possible_agents.index(a) / 3])
            check_in_space(env.observation_space(a), obs[a], a)
            if term[a]:
                died_at[a] = t
        assert env.agents == [a for a in alive if not term[a]]
    assert died_at == {"agent_0": 3, "agent_1": 5, "agent_2": 8}
    assert total == {"agent_0": 3.0, "agent_1": 5.0, "agent_2": 8.0}
    assert len(env.received) == 8


def test_dying_agents_truncate_at_max_steps() -> None:
    env = DyingAgentsEnv((2, 50), max_steps=4)
    env.reset()
    for _ in range(3):
        env.step(dict.fromkeys(env.agents, 1))
    assert env.agents == ["agent_1"]
    _, _, term, trunc, _ = env.step({"agent_1": 1})
    assert term == {"agent_1": False} and trunc == {"agent_1": True}
    assert env.agents == []


def test_dying_agents_reset_revives_everyone() -> None:
    env = DyingAgentsEnv((1, 2))
    env.reset()
    env.step({"agent_0": 0, "agent_1": 0})
    assert env.agents == ["agent_1"]
    env.reset()
    assert env.agents == ["agent_0", "agent_1"] and env.received == []


def test_dying_agents_refuse_actions_for_dead_or_missing_agents() -> None:
    env = DyingAgentsEnv((1, 3))
    env.reset()
    with pytest.raises(ValueError, match=r"actions for \['agent_0'\] but the live agents are \['agent_0', 'agent_1'\]"):
        env.step({"agent_0": 0})
    env.step({"agent_0": 0, "agent_1": 0})
    with pytest.raises(ValueError, match=r"the live agents are \['agent_1'\]"):
        env.step({"agent_0": 0, "agent_1": 0})


@pytest.mark.parametrize("lifetimes", [(), (0, 3), (2, -1)])
def test_dying_agents_invalid_lifetimes(lifetimes: tuple) -> None:
    with pytest.raises(ValueError, match=re.escape(f"lifetimes must be positive integers, got {lifetimes!r}")):
        DyingAgentsEnv(lifetimes)


def test_dying_agents_pass_the_api_tests() -> None:
    from pettingzoo.utils.conversions import parallel_to_aec

    assert check_parallel_env(lambda: DyingAgentsEnv((2, 4, 7)), n_steps=30) > 0
    assert check_aec_env(lambda: parallel_to_aec(DyingAgentsEnv((2, 4, 7))), n_steps=30) == 30


# --- AgentIdentityEnv -------------------------------------------------------------------------------


def test_agent_identity_rewards_each_agent_for_its_own_action() -> None:
    env = AgentIdentityEnv(n_agents=5, n_actions=3, obs_dim=4, max_steps=3)
    assert [env.optimal_action(a) for a in env.possible_agents] == [0, 1, 2, 0, 1]
    obs, _ = env.reset(seed=0)
    for t in range(3):
        first = obs["agent_0"]
        assert all(np.array_equal(o, first) for o in obs.values()), "every agent sees the same observation"
        check_in_space(env.observation_space("agent_0"), first, "observation")
        actions = {a: (env.optimal_action(a) + t) % 3 for a in env.agents}
        obs, rew, term, trunc, _ = env.step(actions)
        assert rew == {a: float(t == 0) for a in env.possible_agents}
        assert not any(term.values()) and all(trunc.values()) == (t == 2)
    assert env.agents == []


def test_agent_identity_shared_constant_policy_is_at_chance() -> None:
    """A policy that ignores identity answers every agent alike: 1/n_agents of the optimum here."""
    env = AgentIdentityEnv(n_agents=4, n_actions=4, max_steps=5)
    env.reset(seed=1)
    total = 0.0
    while env.agents:
        _, rew, *_ = env.step(dict.fromkeys(env.agents, 2))
        total += sum(rew.values())
    assert total == 5.0  # one agent of four is right, five steps


def test_agent_identity_is_solved_by_reading_the_indicator() -> None:
    env = agent_indicator(AgentIdentityEnv(n_agents=4, n_actions=4, obs_dim=3, max_steps=5))
    obs, _ = env.reset(seed=2)
    total = 0.0
    while env.agents:
        actions = {a: int(np.argmax(o[3:])) for a, o in obs.items()}  # the identity, from the observation
        obs, rew, *_ = env.step(actions)
        total += sum(rew.values())
    assert total == 20.0


def test_agent_identity_seeding() -> None:
    a, b = AgentIdentityEnv(), AgentIdentityEnv()
    np.testing.assert_array_equal(a.reset(seed=7)[0]["agent_0"], b.reset(seed=7)[0]["agent_0"])
    assert not np.array_equal(a.reset(seed=7)[0]["agent_0"], b.reset(seed=8)[0]["agent_0"])


@pytest.mark.parametrize("kwargs", [{"n_agents": 0}, {"n_actions": 0}, {"obs_dim": 0}, {"max_steps": 0}])
def test_agent_identity_invalid_arguments(kwargs: dict) -> None:
    with pytest.raises(ValueError, match=r"AgentIdentityEnv: n_agents, n_actions, obs_dim and max_steps must be >= 1"):
        AgentIdentityEnv(**kwargs)


def test_agent_identity_passes_the_api_tests() -> None:
    assert check_parallel_env(lambda: AgentIdentityEnv(n_agents=3), n_steps=30) == 90


# --- SpaceMapEnv --------------------------------------------------------------------------------------


def _masked_env() -> SpaceMapEnv:
    obs = {"a": spaces.Dict({"action_mask": spaces.Box(0, 1, (4,), np.int8), "x": BOX})}
    return SpaceMapEnv(obs, {"a": spaces.Discrete(4, start=10)}, max_steps=50)


def test_space_map_env_masks_are_non_empty_and_enforced() -> None:
    env = _masked_env()
    env.reset(seed=0)
    for _ in range(20):
        mask = env.emitted["a"]["action_mask"]
        assert mask.any() and mask.dtype == np.int8
        if not mask.all():
            with pytest.raises(ValueError, match=r"SpaceMapEnv: action .* of agent 'a' is masked out"):
                env.step({"a": 10 + int(np.flatnonzero(mask == 0)[0])})
        env.step({"a": 10 + int(np.flatnonzero(mask)[0])})
    assert len(env.received) == 20


@pytest.mark.parametrize("action", [9, 14, -1])
def test_space_map_env_refuses_actions_outside_the_space(action: int) -> None:
    env = _masked_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=rf"SpaceMapEnv: action {action} of agent 'a' is outside Discrete\(4, start=10\)"):
        env.step({"a": action})
    assert env.received == []


def test_space_map_env_box_actions_checked() -> None:
    env = SpaceMapEnv({"a": BOX}, {"a": spaces.Box(0, 1, (2,))})
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"is outside Box"):
        env.step({"a": np.array([0.5, 1.5])})
    env.step({"a": np.array([0.5, 1.0])})
    np.testing.assert_array_equal(env.received[0]["a"], [0.5, 1.0])


def test_space_map_env_records_and_seeds() -> None:
    obs = {"x 1": spaces.MultiDiscrete([3, 4], start=[-1, 2]), "y-2": spaces.Discrete(5, start=-2)}
    acts = {a: spaces.Discrete(2) for a in obs}
    e1, e2 = SpaceMapEnv(obs, acts, max_steps=2), SpaceMapEnv(dict(obs), dict(acts), max_steps=2)
    o1, _ = e1.reset(seed=3)
    o2, _ = e2.reset(seed=3)
    for a in obs:
        check_in_space(obs[a], o1[a], a)
        np.testing.assert_array_equal(o1[a], o2[a])
        np.testing.assert_array_equal(e1.emitted[a], o1[a])
    e1.step({"x 1": 0, "y-2": 1})
    _, _, term, trunc, _ = e1.step({"x 1": 1, "y-2": 0})
    assert e1.received == [{"x 1": 0, "y-2": 1}, {"x 1": 1, "y-2": 0}]
    assert all(trunc.values()) and not any(term.values()) and e1.agents == []


def test_space_map_env_needs_the_same_agents() -> None:
    with pytest.raises(ValueError, match=r"must name the same agents, got \['a', 'b'\] and \['a'\]"):
        SpaceMapEnv({"a": BOX, "b": BOX}, {"a": spaces.Discrete(2)})


# --- checkers -----------------------------------------------------------------------------------------


def test_check_in_space_names_what_and_requires_the_dtype() -> None:
    check_in_space(BOX, np.zeros(2, np.float32), "ok")
    with pytest.raises(AssertionError, match=r"obs of 'a': dtype float64 differs from the space's float32"):
        check_in_space(BOX, np.zeros(2), "obs of 'a'")
    with pytest.raises(AssertionError, match=r"obs of 'a': array\(shape=\(2,\), dtype=float32, min=0.0, max=2.0\) is not inside Box"):
        check_in_space(BOX, np.array([0, 2], np.float32), "obs of 'a'")
    with pytest.raises(AssertionError, match=r"step 3: 7 is not inside Discrete\(3\)"):
        check_in_space(spaces.Discrete(3), 7, "step 3")


class _LyingEnv(SpaceMapEnv):
    """Declares Box(-1, 1) but emits 2.0 for one agent from the second step on."""

    def step(self, actions: dict) -> tuple:
        obs, *rest = super().step(actions)
        obs["b"] = np.full(2, 2.0, np.float32)
        return (obs, *rest)


def test_checkers_catch_observations_outside_their_space() -> None:
    from pettingzoo.utils.conversions import parallel_to_aec

    def make() -> ParallelEnv:
        return _LyingEnv({"a": BOX, "b": BOX}, {"a": spaces.Discrete(2), "b": spaces.Discrete(2)})

    with pytest.raises(AssertionError, match=r"step 1, agent 'b': .* is not inside Box"):
        check_parallel_env(make, n_steps=5, api_test=False)
    with pytest.raises(AssertionError, match=r"agent 'b'|observe\('b'\)"):
        check_aec_env(lambda: parallel_to_aec(make()), n_steps=10, api_test=False)


def test_sample_valid_action_respects_masks() -> None:
    rng = np.random.default_rng(0)
    d = spaces.Discrete(5, start=-2)
    mask = np.array([0, 0, 1, 0, 1], bool)
    assert {int(sample_valid_action(d, mask, rng)) for _ in range(50)} == {0, 2}
    with pytest.raises(AssertionError, match=r"action mask allows no action in Discrete\(5, start=-2\)"):
        sample_valid_action(d, np.zeros(5, bool), rng)
    md = spaces.MultiDiscrete([2, 3], start=[1, -1])
    md_mask = np.array([0, 1, 1, 0, 1], bool)
    seen = {tuple(sample_valid_action(md, md_mask, rng)) for _ in range(50)}
    assert seen == {(2, -1), (2, 1)}
    with pytest.raises(AssertionError, match=r"no value in dimension 1"):
        sample_valid_action(md, np.array([1, 1, 0, 0, 0], bool), rng)
    with pytest.raises(AssertionError, match=r"action mask of 3 entries does not fit"):
        sample_valid_action(md, np.ones(3, bool), rng)
    box = spaces.Box(0, 1, (2,))
    assert box.contains(sample_valid_action(box, None, rng))
