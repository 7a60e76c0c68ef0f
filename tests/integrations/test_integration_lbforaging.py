"""integrations.lbforaging: API, seeding, truncation, fixed levels, rewards, errors."""

from __future__ import annotations

import numpy as np
import pytest

from integrations import lbforaging

LBF1 = dict(
    field_size=10, players=6, max_num_food=6, player_levels=(1, 1, 1, 2, 2, 2), food_level=3
)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        dict(LBF1, action_mask=True),
        {"task": "Foraging-2s-10x10-3p-3f-coop-v3"},
        {"task": "Foraging-grid-8x8-2p-2f-v3", "player_levels": (1, 2)},
    ],
    ids=["default", "lbf1-masked", "coop-partial", "grid-fixed"],
)
def test_api_and_spaces(api_check, kwargs):
    api_check(lambda: lbforaging.parallel_env(**kwargs), n_steps=120)


def test_default_is_the_registered_small_task():
    env = lbforaging.parallel_env()
    assert env.possible_agents == ["agent_0", "agent_1"]
    assert env.env.field_size == (8, 8)
    assert env.env.sight == 8
    assert env.action_space("agent_0").n == 6


def test_seeding_is_deterministic(rollout, same_trace, traces_differ):
    t1 = rollout(lbforaging.parallel_env(**LBF1), seed=7, n_steps=40)
    t2 = rollout(lbforaging.parallel_env(**LBF1), seed=7, n_steps=40)
    t3 = rollout(lbforaging.parallel_env(**LBF1), seed=8, n_steps=40)
    same_trace(t1, t2)
    assert traces_differ(t1, t3)


def test_time_limit_is_truncation_not_termination():
    env = lbforaging.parallel_env(max_episode_steps=5, max_num_food=2)
    env.reset(seed=0)
    for t in range(5):
        _, _, term, trunc, _ = env.step({a: 0 for a in env.agents})
        assert not any(term.values())
        assert all(trunc.values()) == (t == 4)
    assert env.agents == []
    with pytest.raises(RuntimeError, match="after the episode ended; call reset"):
        env.step({})


def test_collecting_all_food_is_termination():
    env = lbforaging.parallel_env(
        field_size=6, players=1, max_num_food=1, player_levels=(1,), food_level=1
    )
    env.reset(seed=0)
    lbf = env.env
    (frow,), (fcol,) = np.nonzero(lbf.field)
    lbf.players[0].position = (frow, fcol - 1)  # stand west of the food
    lbf._gen_valid_moves()
    _, rew, term, trunc, _ = env.step({"agent_0": 5})  # LOAD
    assert rew["agent_0"] > 0
    assert term == {"agent_0": True} and trunc == {"agent_0": False}


@pytest.mark.parametrize("levels", [(1, 1, 1, 2, 2, 2), (1, 1, 2, 2, 3, 3)])
def test_fixed_levels_stay_fixed_across_resets(levels):
    env = lbforaging.parallel_env(
        field_size=10, players=6, max_num_food=6, player_levels=levels, food_level=max(levels) + 1
    )
    for seed in range(15):
        obs, _ = env.reset(seed=seed)
        assert env.player_levels == {f"agent_{i}": lvl for i, lvl in enumerate(levels)}
        # the agent's own level is the first player entry of its observation (after 6 foods)
        assert [int(obs[f"agent_{i}"][3 * 6 + 2]) for i in range(6)] == list(levels)
        foods = env.env.field[env.env.field > 0]
        assert foods.size == 6 and set(foods.tolist()) == {max(levels) + 1}


def test_without_fixed_levels_lbforaging_reshuffles_them():
    env = lbforaging.parallel_env(field_size=10, players=6, max_num_food=3, max_player_level=3)
    seen = set()
    for seed in range(10):
        env.reset(seed=seed)
        seen.add(tuple(env.player_levels.values()))
    assert len(seen) > 1


def test_shared_reward_is_team_sum(rollout):
    ind = rollout(lbforaging.parallel_env(field_size=5, players=3, max_num_food=3), 1, 50)
    shared = rollout(
        lbforaging.parallel_env(field_size=5, players=3, max_num_food=3, reward="shared"), 1, 50
    )
    total = 0.0
    for s_ind, s_sh in zip(ind[1:], shared[1:]):
        team = sum(s_ind[1].values())
        assert all(r == pytest.approx(team) for r in s_sh[1].values())
        total += team
    assert total > 0  # the comparison above was not only over zero rewards


def test_action_mask_matches_lbforaging_valid_actions():
    env = lbforaging.parallel_env(action_mask=True)
    _, infos = env.reset(seed=3)
    for agent, player in zip(env.agents, env.env.players):
        valid = {a.value for a in env.env._valid_actions[player]}
        assert set(np.flatnonzero(infos[agent]["action_mask"])) == valid
        assert infos[agent]["action_mask"].dtype == np.int8


def test_errors_name_the_argument_and_fix():
    with pytest.raises(ValueError, match="unknown task 'Foraging-nope'.*registered lbforaging id"):
        lbforaging.parallel_env("Foraging-nope")
    with pytest.raises(ValueError, match="player_levels must have one entry per agent \\(6\\)"):
        lbforaging.parallel_env(players=6, player_levels=(1, 2))
    with pytest.raises(ValueError, match="either player_levels or min_player_level"):
        lbforaging.parallel_env(player_levels=(1, 2), min_player_level=1)
    with pytest.raises(ValueError, match="either food_level or min_food_level"):
        lbforaging.parallel_env(food_level=2, max_food_level=3)
    with pytest.raises(TypeError, match="unknown argument\\(s\\) \\['fieldsize'\\]"):
        lbforaging.parallel_env(fieldsize=5)
    with pytest.raises(ValueError, match="reward must be one of \\['individual', 'shared'\\]"):
        lbforaging.parallel_env(reward="team")
    with pytest.raises(ValueError, match="field_size must be an int or \\(rows, cols\\), got \\(8, 8, 8\\)"):
        lbforaging.parallel_env(field_size=(8, 8, 8))
    assert lbforaging.parallel_env(field_size=(6, 9)).env.field_size == (6, 9)
    with pytest.raises(TypeError, match="players must be an int, got 2.5"):
        lbforaging.parallel_env(players=2.5)
    env = lbforaging.parallel_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="no action for live agent 'agent_1'"):
        env.step({"agent_0": 0})
    with pytest.raises(ValueError, match="action 9 of agent 'agent_0' is outside"):
        env.step({"agent_0": 9, "agent_1": 0})


def test_grid_ids_parse_to_the_registered_arguments(monkeypatch):
    import lbforaging as upstream

    registered = {}
    monkeypatch.setattr(upstream, "register", lambda id, entry_point, kwargs: registered.update({id: kwargs}))
    upstream.register_grid_envs()  # lbforaging's own loop, recorded instead of registered (fast)
    for task in ["Foraging-grid-8x8-2p-2f-v3", "Foraging-grid-3s-10x10-4p-3f-coop-v3"]:
        assert lbforaging._task_kwargs(task) == registered[task]
    assert len(registered) > 1000
