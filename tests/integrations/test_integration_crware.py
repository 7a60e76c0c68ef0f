"""integrations.crware: API, seeding, truncation, colour-matched rewards, action types, errors."""

from __future__ import annotations

import numpy as np
import pytest
from rware.warehouse import Direction

from integrations import crware


@pytest.mark.parametrize(
    "kwargs",
    [{"max_steps": 40}, {"agents_per_colour": (3, 2, 1), "size": "small", "max_steps": 40}],
    ids=["crware1", "three-colours"],
)
def test_api_and_spaces(api_check, kwargs):
    api_check(lambda: crware.parallel_env(**kwargs), n_steps=80)


def test_default_is_crware1_with_two_action_types():
    env = crware.parallel_env()
    assert env.possible_agents == ["colour0_0", "colour0_1", "colour1_0", "colour1_1"]
    assert [env.action_space(a).n for a in env.possible_agents] == [5, 5, 6, 6]
    assert env.agent_action_types["colour1_0"] == "absolute"
    cells, n_colours = 9, 2
    base = 3 + 4 + 1 + cells * 7  # rware's own flattened view
    assert env.observation_space("colour0_0").shape == (base + cells * n_colours + n_colours,)


def test_seeding_is_deterministic(rollout, same_trace, traces_differ):
    envs = [crware.parallel_env(agents_per_colour=(2, 1)) for _ in range(3)]
    t1, t2, t3 = (rollout(e, seed=s, n_steps=30) for e, s in zip(envs, (4, 4, 5)))
    same_trace(t1, t2)
    assert traces_differ(t1, t3)
    np.testing.assert_array_equal(envs[0].shelf_colours, envs[1].shelf_colours)


@pytest.mark.parametrize("limit", [{"max_steps": 5}, {"max_steps": 100, "max_inactivity_steps": 5}])
def test_limits_are_truncations(limit):
    env = crware.parallel_env(**limit)
    env.reset(seed=0)
    for t in range(5):
        _, _, term, trunc, _ = env.step({a: 0 for a in env.agents})
        assert not any(term.values()) and all(trunc.values()) == (t == 4)
    assert env.agents == []


def _park(env, agent_name: str, x: int, y: int, direction: Direction):
    """Put every robot on a free highway cell, and ``agent_name`` at (x, y)."""
    wh = env.env
    spots = iter([(0, 1), (0, 7), (9, 1), (9, 7)])
    for name, robot in zip(env.possible_agents, wh.agents):
        robot.x, robot.y = (x, y) if name == agent_name else next(spots)
        robot.dir = direction
        robot.carrying_shelf = None
    wh._recalc_grid()
    return wh.agents[env.possible_agents.index(agent_name)]


@pytest.mark.parametrize("agent_name", ["colour0_1", "colour1_0"])
@pytest.mark.parametrize("matching", [True, False])
def test_delivery_rewards_only_the_shelf_colour(agent_name, matching):
    env = crware.parallel_env()
    env.reset(seed=0)
    wh = env.env
    gx, gy = wh.goals[0]
    robot = _park(env, agent_name, gx, gy, Direction.UP)
    shelf = wh.request_queue[0]
    shelf.x, shelf.y = gx, gy
    robot.carrying_shelf = shelf
    colour = env.agent_colours[agent_name]
    wh.shelf_colours[shelf.id - 1] = colour if matching else 1 - colour
    _, rew, *_ = env.step({a: 0 for a in env.agents})
    expected = {a: (1.0 if (a == agent_name and matching) else 0.0) for a in env.possible_agents}
    assert rew == expected
    assert (shelf in wh.request_queue) is (not matching)  # wrong colour leaves the request open


def test_unrequested_shelf_of_the_right_colour_pays_nothing():
    env = crware.parallel_env()
    env.reset(seed=0)
    wh = env.env
    gx, gy = wh.goals[1]
    robot = _park(env, "colour0_0", gx, gy, Direction.UP)
    shelf = next(s for s in wh.shelfs if s not in wh.request_queue)
    shelf.x, shelf.y = gx, gy
    robot.carrying_shelf = shelf
    wh.shelf_colours[shelf.id - 1] = 0
    _, rew, *_ = env.step({a: 0 for a in env.agents})
    assert sum(rew.values()) == 0.0


def test_action_types_have_different_semantics():
    env = crware.parallel_env()
    env.reset(seed=0)
    # index 1: "forward" (relative, facing down) vs "north" (absolute, turns up first)
    rel = _park(env, "colour0_0", 3, 5, Direction.DOWN)
    env.step({a: (1 if a == "colour0_0" else 0) for a in env.agents})
    assert (rel.x, rel.y, rel.dir) == (3, 6, Direction.DOWN)
    ab = _park(env, "colour1_0", 3, 5, Direction.DOWN)
    env.step({a: (1 if a == "colour1_0" else 0) for a in env.agents})
    assert (ab.x, ab.y, ab.dir) == (3, 4, Direction.UP)
    # index 4: "toggle load" (relative) vs "east" (absolute)
    ab = _park(env, "colour1_0", 3, 5, Direction.DOWN)
    env.step({a: (4 if a == "colour1_0" else 0) for a in env.agents})
    assert (ab.x, ab.y, ab.dir) == (4, 5, Direction.RIGHT)
    rel = _park(env, "colour0_0", 1, 1, Direction.DOWN)  # (1, 1) holds a shelf
    env.step({a: (4 if a == "colour0_0" else 0) for a in env.agents})
    assert rel.carrying_shelf is not None and (rel.x, rel.y) == (1, 1)
    # absolute index 5 toggles the load
    ab = _park(env, "colour1_1", 2, 2, Direction.DOWN)
    env.step({a: (5 if a == "colour1_1" else 0) for a in env.agents})
    assert ab.carrying_shelf is not None


def test_observation_shows_shelf_colours_not_own_colour():
    env = crware.parallel_env()
    env.reset(seed=0)
    wh = env.env
    robot = _park(env, "colour0_0", 1, 1, Direction.UP)  # standing under a shelf
    wh.shelf_colours[wh.grid[1, 1, 1] - 1] = 1
    obs, *_ = env.step({a: 0 for a in env.agents})
    o = obs["colour0_0"]
    centre = 4  # the middle of the 3x3 window
    colours = o[-(9 * 2 + 2) : -2].reshape(9, 2)
    np.testing.assert_array_equal(colours[centre], [0.0, 1.0])
    np.testing.assert_array_equal(o[-2:], [0.0, 0.0])  # carrying nothing
    env.step({a: (4 if a == "colour0_0" else 0) for a in env.agents})  # pick it up
    obs, *_ = env.step({a: 0 for a in env.agents})
    assert robot.carrying_shelf is not None
    np.testing.assert_array_equal(obs["colour0_0"][-2:], [0.0, 1.0])


def test_errors_name_the_argument_and_fix():
    with pytest.raises(ValueError, match="action_types must give one type per colour \\(2\\)"):
        crware.parallel_env((2, 2), ("relative",))
    with pytest.raises(ValueError, match="action_types\\[1\\] must be one of \\['relative', 'absolute'\\]"):
        crware.parallel_env((2, 2), ("relative", "diagonal"))
    with pytest.raises(TypeError, match="unsupported argument\\(s\\) \\['reward_type'\\]"):
        crware.parallel_env(reward_type="global")
    with pytest.raises(ValueError, match="agents_per_colour\\[0\\] must be >= 1"):
        crware.parallel_env((0, 2))
    env = crware.parallel_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action 5 of agent 'colour0_0' is outside"):
        env.step({"colour0_0": 5, "colour0_1": 0, "colour1_0": 5, "colour1_1": 0})
