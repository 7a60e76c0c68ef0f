"""The full wrapper stack on real PettingZoo environments.

pad_observations -> pad_actions(invalid_action="random_valid") -> agent_indicator must pass
PettingZoo's API tests (which sample the whole padded action space, hence "random_valid") and our
in-space checks with masked random play, for ``parallel_env()`` and ``env()`` (AEC).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from gymnasium import spaces
from mpe2 import (
    simple_adversary_v3,
    simple_speaker_listener_v4,
    simple_tag_v3,
    simple_world_comm_v3,
)
from pettingzoo.butterfly import knights_archers_zombies_v11
from pettingzoo.classic import tictactoe_v3
from pettingzoo.sisl import multiwalker_v9
from pettingzoo.utils.conversions import parallel_to_aec

from ps_wrappers import agent_indicator, pad_actions, pad_observations
from ps_wrappers.testing import SpaceMapEnv, check_aec_env, check_in_space, check_parallel_env

# Warnings from PettingZoo's API tests that mean our stack broke the API.
_API_WARNINGS = (
    "was not given",
    "was dead last turn",
    "No agents present",
    "not all possible_agents",
    "different observation space sizes",
    "class of observation spaces is different",
    "not a NumPy array",
    "out of bounds",
)


def _stack(env: Any, **indicator: Any) -> Any:
    return agent_indicator(pad_actions(pad_observations(env), invalid_action="random_valid"), **indicator)


def _mask(env: Any, agent: Any) -> np.ndarray | None:
    return env.action_mask(agent)


def _run(check: Callable[..., int], env_fn: Callable[[], Any], n_steps: int) -> int:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        checked = check(env_fn, n_steps=n_steps, mask_fn=_mask)
    bad = [str(w.message) for w in caught if any(s in str(w.message) for s in _API_WARNINGS)]
    assert not bad, f"PettingZoo API warnings: {bad}"
    return checked


ENVS: list[tuple[ModuleType, dict[str, Any], int]] = [
    (simple_world_comm_v3, {"max_cycles": 15}, 40),
    (simple_tag_v3, {"max_cycles": 15}, 40),
    (simple_adversary_v3, {"max_cycles": 15}, 40),
    (simple_speaker_listener_v4, {"max_cycles": 15}, 40),
    (multiwalker_v9, {"max_cycles": 15}, 30),
    (knights_archers_zombies_v11, {"max_cycles": 15}, 30),
]
ids = [m.__name__.rsplit(".", 1)[-1] for m, _, _ in ENVS]


@pytest.mark.parametrize("module, kwargs, n_steps", ENVS, ids=ids)
def test_full_stack_parallel(module: ModuleType, kwargs: dict, n_steps: int) -> None:
    def make() -> Any:
        return _stack(module.parallel_env(**kwargs))

    env = make()
    agents = env.possible_agents
    # One observation space and one action space: what a single shared policy needs.
    assert all(env.observation_space(a) == env.observation_space(agents[0]) for a in agents)
    assert all(env.action_space(a) == env.action_space(agents[0]) for a in agents)
    assert _run(check_parallel_env, make, n_steps) >= n_steps


@pytest.mark.parametrize("module, kwargs, n_steps", [*ENVS, (tictactoe_v3, {}, 40)], ids=[*ids, "tictactoe_v3"])
def test_full_stack_aec(module: ModuleType, kwargs: dict, n_steps: int) -> None:
    def make() -> Any:
        return _stack(module.env(**kwargs))

    assert _run(check_aec_env, make, n_steps) == n_steps


def test_simple_world_comm_shapes_and_masks() -> None:
    raw = simple_world_comm_v3.parallel_env(max_cycles=5)
    env = _stack(simple_world_comm_v3.parallel_env(max_cycles=5))
    n = len(raw.possible_agents)
    largest = max(raw.observation_space(a).shape[0] for a in raw.possible_agents)
    assert env.observation_space("agent_0").shape == (largest + n,)
    assert env.action_space("agent_0") == spaces.Discrete(20)
    actions = env.env  # the pad_actions env under the indicator
    for a in raw.possible_agents:
        own = int(raw.action_space(a).n)
        np.testing.assert_array_equal(actions.padding_mask(a), np.arange(20) < own)


def test_simple_world_comm_by_type() -> None:
    env = _stack(simple_world_comm_v3.parallel_env(max_cycles=5), by="type")
    assert env.indicator_labels == ["leadadversary", "adversary", "agent"]
    obs, _ = env.reset(seed=0)
    indicator = {a: o[-3:] for a, o in obs.items()}
    for a, ind in indicator.items():
        expected = np.zeros(3, np.float32)
        expected[["leadadversary", "adversary", "agent"].index(a.rsplit("_", 1)[0])] = 1
        np.testing.assert_array_equal(ind, expected, err_msg=a)
        check_in_space(env.observation_space(a), obs[a], a)
    assert _run(check_parallel_env, lambda: _stack(simple_world_comm_v3.parallel_env(max_cycles=5), by="type"), 20) > 0


def test_tictactoe_masks_stay_meaningful() -> None:
    env = _stack(tictactoe_v3.env())
    env.reset(seed=0)
    first = env.agent_selection
    env.step(4)  # the centre
    second = env.agent_selection
    obs = env.observe(second)
    assert obs["action_mask"][4] == 0 and obs["action_mask"].sum() == 8
    np.testing.assert_array_equal(env.action_mask(second), obs["action_mask"].astype(bool))
    assert obs["observation"].shape == (3, 3, 4)  # 2 board planes + one indicator plane per player
    idx = env.possible_agents.index(second)
    assert np.all(obs["observation"][..., 2 + idx] == 1) and np.all(obs["observation"][..., 3 - idx] == 0)
    assert first != second


@pytest.mark.parametrize(
    "shape, channels, axis",
    [
        ((7, 7, 3), "auto", 2),
        ((3, 7, 7), "auto", 0),
        ((7, 7, 3), "last", 2),
        ((3, 7, 7), "first", 0),
        ((4, 84, 84), "auto", 0),
        ((84, 84, 4), "auto", 2),
        ((3, 3, 3), "auto", 2),
        ((5, 6), "auto", 1),
    ],
)
@pytest.mark.parametrize("aec", [False, True], ids=["parallel", "aec"])
def test_image_indicator_layout(shape: tuple, channels: Any, axis: int, aec: bool) -> None:
    obs = {f"pursuer_{i}": spaces.Box(0, 255, shape, np.uint8) for i in range(3)}
    inner = SpaceMapEnv(obs, {a: spaces.Discrete(5) for a in obs}, max_steps=3)
    env = agent_indicator(parallel_to_aec(inner) if aec else inner, channels=channels)
    expected = list(shape)
    expected[axis] += 3
    for i, a in enumerate(obs):
        space = env.observation_space(a)
        assert space.shape == tuple(expected) and space.dtype == np.uint8
        if aec:
            env.reset(seed=i)
            y = env.observe(a)
        else:
            y = env.reset(seed=i)[0][a]
        planes = np.take(y, range(shape[axis], shape[axis] + 3), axis=axis)
        for j in range(3):
            assert np.all(np.take(planes, j, axis=axis) == (j == i))
        np.testing.assert_array_equal(np.take(y, range(shape[axis]), axis=axis), inner.emitted[a])
    check = check_aec_env if aec else check_parallel_env
    assert check(lambda: env, n_steps=6, api_test=False) > 0
