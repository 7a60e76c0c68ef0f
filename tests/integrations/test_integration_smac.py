"""integrations.smac over the StarCraft2Env stand-in: API, masks, deaths, time limit, seeding."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

from integrations import smac
from integrations.smac_stub import FakeStarCraft2Env


def make(**kwargs):
    return smac.parallel_env(kwargs.pop("map_name", "3m"), env_factory=FakeStarCraft2Env, **kwargs)


def scripted(obs, agents):
    """Attack the first enemy in range, otherwise walk east (towards the enemies)."""
    actions = {}
    for agent in agents:
        valid = np.flatnonzero(obs[agent]["action_mask"])
        attacks = valid[valid >= 6]
        actions[agent] = int(attacks[0]) if attacks.size else (4 if 4 in valid else 1)
    return actions


def test_missing_smac_raises_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "smac", None)
    with pytest.raises(ImportError, match="needs StarCraft SMAC.*PyPI package `smac` is SMAC3"):
        smac.parallel_env()


@pytest.mark.parametrize("map_name", ["3m", "5m_vs_6m"])
def test_api_and_spaces(api_check, map_name):
    api_check(lambda: make(map_name=map_name, reseed="relaunch"), n_steps=150)


def test_spaces_follow_get_env_info():
    env = make(map_name="5m_vs_6m")
    info = env.env.get_env_info()
    assert env.possible_agents == [f"agent_{i}" for i in range(5)]
    space = env.observation_space("agent_0")
    assert space["observation"].shape == (info["obs_shape"],)
    assert space["action_mask"].shape == (info["n_actions"],) == (12,)
    assert env.action_space("agent_0").n == 12
    env.reset(seed=0)
    assert env.state().shape == env.state_space.shape


def test_action_mask_is_smacs_and_forbidden_actions_never_reach_it():
    env = make()
    obs, _ = env.reset(seed=0)
    for i, agent in enumerate(env.agents):
        np.testing.assert_array_equal(obs[agent]["action_mask"], env.env.get_avail_agent_actions(i))
        assert obs[agent]["action_mask"][0] == 0  # no-op is for the dead only
    # at the start nobody is in range: attacking enemy 0 (action 6) is masked out
    with pytest.raises(ValueError, match="action 6 of agent 'agent_0' is not available; its action mask allows \\[1, 2, 3, 4, 5\\]"):
        env.step({"agent_0": 6, "agent_1": 1, "agent_2": 1})
    assert env.env.received_actions == []
    with pytest.raises(ValueError, match="no action for live agent 'agent_2'"):
        env.step({"agent_0": 1, "agent_1": 1})


def test_a_dead_unit_terminates_and_leaves():
    env = make()
    obs, _ = env.reset(seed=0)
    while True:
        obs, rew, term, trunc, _ = env.step(scripted(obs, env.agents))
        died = [a for a in term if term[a]]
        if died:
            break
    assert len(died) == 1 and len(env.agents) == 2  # one unit died mid-battle
    (dead,) = died
    assert not trunc[dead]
    assert dead not in env.agents
    np.testing.assert_array_equal(obs[dead]["observation"], 0.0)
    np.testing.assert_array_equal(obs[dead]["action_mask"], [1] + [0] * 8)
    assert len(set(rew.values())) == 1  # one team reward, the dying unit included
    alive = list(env.agents)
    obs, rew, *_ = env.step(scripted(obs, alive))  # no action for the dead unit is needed
    assert set(rew) == set(alive) and dead not in obs
    assert env.env.received_actions[-1][env.possible_agents.index(dead)] == 0


def _play(env, seed):
    obs, _ = env.reset(seed=seed)
    last = None
    while env.agents:
        obs, rew, term, trunc, info = env.step(scripted(obs, env.agents))
        last = (term, trunc, info)
    return last


def test_won_battle_terminates_the_survivors():
    outcomes = {}
    for seed in range(6):
        env = make(seed=seed)
        term, trunc, info = _play(env, seed)
        outcomes[next(iter(info.values()))["battle_won"]] = (term, trunc)
    term, trunc = outcomes[True]
    assert all(term.values()) and not any(trunc.values())
    term, trunc = outcomes[False]  # lost: the last units died
    assert all(term.values()) and not any(trunc.values())


@pytest.mark.parametrize("continuing", [False, True])
def test_time_limit_is_truncation(continuing):
    env = make(episode_limit=4, continuing_episode=continuing)
    env.reset(seed=0)
    for t in range(4):
        _, _, term, trunc, info = env.step({a: 1 for a in env.agents})  # stop: nobody fights
        assert not any(term.values())
        assert all(trunc.values()) == (t == 3)
    assert info["agent_0"].get("episode_limit", False) == continuing
    assert env.agents == []


def test_seeding_is_deterministic():
    def trace(env, seed):
        obs, _ = env.reset(seed=seed)
        out = []
        while env.agents:
            obs, rew, *_ = env.step(scripted(obs, env.agents))
            out.append((sorted(rew.items()), [o["observation"].tolist() for o in obs.values()]))
        return out

    assert trace(make(), 3) == trace(make(), 3)
    assert trace(make(), 3) != trace(make(), 4)
    # relaunch: every new seed recreates the game, so episode k equals a fresh env with seed k
    env = make(reseed="relaunch")
    first = env.env
    trace(env, 1)
    assert trace(env, 2) == trace(make(), 2) and env.env is not first
    assert first.closed


def test_reseed_first_warns_once_and_keeps_the_game():
    env = make(seed=5)
    game = env.env
    env.reset(seed=5)
    with pytest.warns(UserWarning, match="launched with seed 5; reset\\(seed=6\\) cannot reseed"):
        env.reset(seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.reset(seed=7)
    assert env.env is game


def test_errors():
    with pytest.raises(ValueError, match="reseed must be one of \\['first', 'relaunch'\\]"):
        make(reseed="always")
    with pytest.raises(ValueError, match="seed must be >= 0"):
        make(seed=-1)
    with pytest.raises(ValueError, match="unknown map_name 'nope'"):
        make(map_name="nope")
