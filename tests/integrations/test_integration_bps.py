"""integrations.bps: API, seeding, truncation, group landmarks, colour blindness, BPS-h, errors."""

from __future__ import annotations

import numpy as np
import pytest

from integrations import bps


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"heterogeneous": True, "group_sizes": (2, 3, 1)}, {"group_sizes": (1,)}],
    ids=["bps1", "bps-h", "one-agent"],
)
def test_api_and_spaces(api_check, kwargs):
    api_check(lambda: bps.parallel_env(**kwargs), n_steps=60)


def test_default_is_bps1():
    env = bps.parallel_env()
    assert len(env.possible_agents) == 15
    assert [env.agent_groups[a] for a in env.possible_agents] == [0] * 5 + [1] * 5 + [2] * 5
    assert env.possible_agents[5] == "group1_0"


def test_seeding_is_deterministic(rollout, same_trace, traces_differ):
    t1 = rollout(bps.parallel_env(heterogeneous=True), seed=5, n_steps=30)
    t2 = rollout(bps.parallel_env(heterogeneous=True), seed=5, n_steps=30)
    t3 = rollout(bps.parallel_env(heterogeneous=True), seed=6, n_steps=30)
    same_trace(t1, t2)
    assert traces_differ(t1, t3)


def test_time_limit_is_truncation():
    env = bps.parallel_env(group_sizes=(2, 2), max_cycles=4)
    env.reset(seed=0)
    for t in range(4):
        _, _, term, trunc, _ = env.step({a: 1 for a in env.agents})
        assert not any(term.values()) and all(trunc.values()) == (t == 3)
    assert env.agents == []
    with pytest.raises(RuntimeError, match="call reset"):
        env.step({})


def test_agents_of_a_group_share_its_landmark():
    env = bps.parallel_env(group_sizes=(3, 2, 4))
    obs, _ = env.reset(seed=1)
    n_groups = 3
    _, rew, *_ = env.step({a: 0 for a in env.agents})
    obs = env._observations()
    for agent in env.possible_agents:
        g = env.agent_groups[agent]
        landmark = env.landmark_of(agent)
        mates = [a for a in env.possible_agents if env.agent_groups[a] == g]
        assert all(np.array_equal(env.landmark_of(m), landmark) for m in mates)
        # the landmark slot coloured g holds this agent's landmark, relative to the agent
        slots = obs[agent][4:].reshape(n_groups, 2 + n_groups)
        (slot,) = np.flatnonzero(slots[:, 2 + g] == 1)
        np.testing.assert_allclose(slots[slot, :2] + obs[agent][2:4], landmark, atol=1e-5)
        assert rew[agent] == pytest.approx(-np.linalg.norm(obs[agent][2:4] - landmark), abs=1e-5)
    others = {tuple(env.landmarks[g]) for g in range(n_groups)}
    assert len(others) == n_groups  # different groups, different landmarks


def test_agents_cannot_see_their_colour():
    # Same seed, different colour assignment: every observation is identical, rewards are not.
    a, b = bps.parallel_env(group_sizes=(1, 3)), bps.parallel_env(group_sizes=(3, 1))
    obs_a, _ = a.reset(seed=2)
    obs_b, _ = b.reset(seed=2)
    for _ in range(5):
        for i in range(4):
            np.testing.assert_array_equal(
                obs_a[a.possible_agents[i]], obs_b[b.possible_agents[i]]
            )
        obs_a, rew_a, *_ = a.step({x: 2 for x in a.agents})
        obs_b, rew_b, *_ = b.step({x: 2 for x in b.agents})
    assert list(rew_a.values())[1] != list(rew_b.values())[1]  # agent 1 changed colour


def test_moving_to_the_own_landmark_pays():
    env = bps.parallel_env(group_sizes=(4, 4), max_cycles=25)
    env.reset(seed=3)
    first = last = None
    while env.agents:
        actions = {}
        for agent in env.agents:
            i = env.possible_agents.index(agent)
            delta = env.landmark_of(agent) - env._pos[i] - 0.3 * env._vel[i]
            axis = int(np.argmax(np.abs(delta)))
            actions[agent] = (1 + 2 * axis) + int(delta[axis] > 0) if abs(delta[axis]) > 0.05 else 0
        _, rew, *_ = env.step(actions)
        first = sum(rew.values()) if first is None else first
        last = sum(rew.values())
    assert last > first / 4


def test_bps_h_groups_have_different_observation_spaces():
    env = bps.parallel_env(group_sizes=(2, 2, 2), heterogeneous=True)
    shapes = {g: env.observation_space(f"group{g}_0").shape for g in range(3)}
    assert len(set(shapes.values())) == 3
    assert env.observation_space("group1_0") is env.observation_space("group1_1")
    obs, _ = env.reset(seed=0)
    base = env.base_observations()
    for i, agent in enumerate(env.possible_agents):
        g = env.agent_groups[agent]
        sensor = env._sensors[g]
        assert np.linalg.matrix_rank(sensor) == env.base_obs_dim  # nothing is lost
        np.testing.assert_allclose(obs[agent], sensor @ base[i], rtol=1e-5, atol=1e-6)


def test_errors_name_the_argument_and_fix():
    with pytest.raises(ValueError, match="group_sizes\\[1\\] must be >= 1, got 0"):
        bps.parallel_env(group_sizes=(3, 0))
    with pytest.raises(TypeError, match="group_sizes must be a sequence of ints, got 5"):
        bps.parallel_env(group_sizes=5)
    with pytest.raises(TypeError, match="heterogeneous must be True or False"):
        bps.parallel_env(heterogeneous="yes")
    env = bps.parallel_env(group_sizes=(1, 1))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="no action for live agent 'group1_0'"):
        env.step({"group0_0": 0})
    with pytest.raises(ValueError, match="action 5 of agent 'group1_0' is outside Discrete\\(5\\)"):
        env.step({"group0_0": 0, "group1_0": 5})
    with pytest.raises(TypeError, match="actions must be integers"):
        env.step({"group0_0": 0.5, "group1_0": 1})


def test_landmark_slots_fixed_by_default_and_shuffled_on_request() -> None:
    fixed = bps.parallel_env(group_sizes=(1, 1, 1, 1))
    shuffled = bps.parallel_env(group_sizes=(1, 1, 1, 1), shuffle_landmarks=True)
    orders_fixed, orders_shuffled = set(), set()
    for seed in range(8):
        fixed.reset(seed=seed)
        shuffled.reset(seed=seed)
        orders_fixed.add(tuple(fixed.landmark_order))
        orders_shuffled.add(tuple(shuffled.landmark_order))
    assert orders_fixed == {(0, 1, 2, 3)}
    assert len(orders_shuffled) > 1


def test_scripted_references_own_landmark_beats_centre() -> None:
    refs = bps.scripted_returns((2, 2, 2), n_episodes=5, seed=0)
    assert set(refs) == {"own landmark", "centre"}
    assert refs["own landmark"] > refs["centre"] + 4.0  # identity is worth a lot on BPS


def test_shared_reward_gives_every_agent_the_team_mean() -> None:
    own = bps.parallel_env(group_sizes=(2, 1, 3))
    team = bps.parallel_env(group_sizes=(2, 1, 3), shared_reward=True)
    own.reset(seed=3)
    team.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(5):
        actions = {a: int(rng.integers(5)) for a in own.agents}
        _, r_own, *_ = own.step(actions)
        _, r_team, *_ = team.step(actions)
        assert len(set(r_own.values())) > 1
        assert r_team == pytest.approx(dict.fromkeys(r_own, np.mean(list(r_own.values()))))
    with pytest.raises(TypeError, match="shared_reward must be True or False"):
        bps.parallel_env(shared_reward=1)
