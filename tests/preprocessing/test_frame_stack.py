"""frame_stack: what a stack holds (Parallel, AEC cyclic and turn-based, dying and spawning
agents), its layout, its bounds, and that emitted arrays are never modified afterwards."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo.utils.conversions import aec_to_parallel, parallel_to_aec

from ps_wrappers import frame_stack
from ps_wrappers.testing import DyingAgentsEnv, check_aec_env, check_in_space, check_parallel_env

from .conftest import image_env, u8
from .turn_env import InPlaceEnv, SpawnEnv, TurnEnv


def _expected(frames: list[np.ndarray], k: int, axis: int, padding: str = "zero") -> np.ndarray:
    """Reference stack from an agent's observation history, frames shaped for stacking."""
    pad = np.zeros_like(frames[0]) if padding == "zero" else frames[0]
    window = ([pad] * k + frames)[-k:]
    return np.concatenate(window, axis=axis)


LAYOUTS = [  # space, channels, stacked shape for k=3, stack axis, frame reshape
    (u8(4), "auto", (12,), 0, (4,)),
    (u8(5, 6), "auto", (5, 6, 3), 2, (5, 6, 1)),
    (u8(5, 6), "first", (3, 5, 6), 0, (1, 5, 6)),
    (u8(7, 6, 2), "auto", (7, 6, 6), 2, (7, 6, 2)),
    (u8(2, 7, 6), "auto", (6, 7, 6), 0, (2, 7, 6)),
    (u8(7, 6, 2), "first", (21, 6, 2), 0, (7, 6, 2)),
]


@pytest.mark.parametrize("padding", ["zero", "reset"])
@pytest.mark.parametrize("space, channels, shape, axis, frame", LAYOUTS)
def test_parallel_stack_is_the_last_k_observations(space: spaces.Box, channels: Any, shape: tuple, axis: int, frame: tuple, padding: Any) -> None:
    env = frame_stack(image_env({"a": space, "b": space}), 3, channels=channels, padding=padding)
    assert env.observation_space("a").shape == shape
    seen: dict[str, list[np.ndarray]] = {"a": [], "b": []}
    obs, _ = env.reset(seed=0)
    for _ in range(6):
        for agent in ("a", "b"):
            seen[agent].append(env.unwrapped.emitted[agent].reshape(frame))
            np.testing.assert_array_equal(obs[agent], _expected(seen[agent], 3, axis, padding))
            check_in_space(env.observation_space(agent), obs[agent], agent)
        obs, *_ = env.step({"a": 0, "b": 1})


def test_zero_padding_widens_the_bounds_of_older_frames_only() -> None:
    env = frame_stack(image_env({"a": spaces.Box(1, 5, (2,), np.int64)}), 3)
    space = env.observation_space("a")
    assert space.low.tolist() == [0, 0, 0, 0, 1, 1] and space.high.tolist() == [5] * 6
    obs, _ = env.reset(seed=0)
    assert obs["a"][:4].tolist() == [0, 0, 0, 0]
    assert check_parallel_env(lambda: frame_stack(image_env({"a": spaces.Box(1, 5, (2,), np.int64)}), 3), n_steps=40) > 0
    assert frame_stack(image_env({"a": spaces.Box(1, 5, (2,), np.int64)}), 3, padding="reset").observation_space("a").low.min() == 1


def test_emitted_arrays_are_never_modified_later() -> None:
    env = frame_stack(image_env({"a": u8(3, 3)}), 2)
    obs, _ = env.reset(seed=0)
    kept = [(obs["a"], obs["a"].copy())]
    for _ in range(5):
        obs, *_ = env.step({"a": 0})
        kept.append((obs["a"], obs["a"].copy()))
    for emitted, snapshot in kept:
        np.testing.assert_array_equal(emitted, snapshot)


def test_an_env_that_reuses_its_observation_array_is_stacked_correctly() -> None:
    env = frame_stack(InPlaceEnv(), 3)
    env.reset()
    for _ in range(3):
        obs, *_ = env.step({"a": 0})
    assert obs["a"].tolist() == [1, 1, 2, 2, 3, 3]


def test_dying_agents_emit_their_final_stack_and_forget_it() -> None:
    env = frame_stack(DyingAgentsEnv((2, 4)), 2)
    obs, _ = env.reset()
    np.testing.assert_allclose(obs["agent_0"], [0, 0, 0.0, 0.0])
    obs, _, term, _, _ = env.step({"agent_0": 0, "agent_1": 0})
    obs, _, term, _, _ = env.step({"agent_0": 0, "agent_1": 0})
    assert term["agent_0"] and not term["agent_1"]
    np.testing.assert_allclose(obs["agent_0"], [0.01, 0.0, 0.02, 0.0])
    assert set(env._history) == {"agent_1"}
    assert check_parallel_env(lambda: frame_stack(DyingAgentsEnv((2, 4, 7)), 3), n_steps=40) > 0


def test_spawned_and_revived_agents_start_fresh_stacks() -> None:
    env = frame_stack(SpawnEnv(), 3)
    out = [env.reset()[0]]
    for _ in range(6):
        out.append(env.step(dict.fromkeys(env.agents, 0))[0])
    assert out[2]["a"].tolist() == [0, 100, 1, 101, 2, 102]
    assert out[3]["a"].tolist() == [1, 101, 2, 102, 3, 103]  # a's final observation (it dies)
    assert out[3]["late"].tolist() == [0, 0, 0, 0, 3, 103]  # spawned: zero history
    assert out[4]["a"].tolist() == [0, 0, 0, 0, 4, 104]  # revived under its name: a new stack
    assert out[5]["late"].tolist() == [3, 103, 4, 104, 5, 105]


@pytest.mark.parametrize("space", [u8(4), u8(5, 6), u8(2, 5, 6)])
def test_aec_stacks_equal_parallel_stacks_through_aec_to_parallel(space: spaces.Box) -> None:
    """The AEC wrapper commits what an agent acted on, so a cyclic AEC env converted back to
    Parallel gives exactly the Parallel stacks (SuperSuit's lag one step for all but one agent)."""
    agents = {"a": space, "b": space, "c": space}
    par = frame_stack(image_env(agents), 3)
    via_aec = aec_to_parallel(frame_stack(image_env(agents, aec=True), 3))
    o1, _ = par.reset(seed=4)
    o2, _ = via_aec.reset(seed=4)
    for step in range(8):
        for agent in agents:
            np.testing.assert_array_equal(o1[agent], o2[agent], err_msg=f"step {step}, agent {agent}")
        actions = {a: step % 2 for a in par.agents}
        o1, *_ = par.step(actions)
        o2, *_ = via_aec.step(actions)


def test_turn_based_stacks_hold_the_positions_each_agent_moved_in() -> None:
    env = frame_stack(TurnEnv(plies=8), 3)
    env.reset()
    acted_on: dict[str, list[list[int]]] = {"p0": [], "p1": []}
    while env.agents:
        agent = env.agent_selection
        for other in env.agents:  # observing anyone, any number of times, changes nothing
            env.observe(other)
        obs, _, term, trunc, _ = env.last()
        if term or trunc:
            env.step(None)
            continue
        frames = ([[0, 0]] * 3 + acted_on[agent] + [obs[-2:].tolist()])[-3:]
        assert obs.tolist() == sum(frames, []), (agent, acted_on[agent])
        acted_on[agent].append(obs[-2:].tolist())
        env.step(0)
    assert acted_on["p1"] == [[1, 10], [3, 11], [5, 12], [7, 13]]


@pytest.mark.parametrize("padding", ["zero", "reset"])
def test_aec_dying_agents_and_api(padding: Any) -> None:
    assert check_aec_env(lambda: frame_stack(parallel_to_aec(DyingAgentsEnv((2, 4, 7))), 3, padding=padding), n_steps=60) > 0
    assert check_aec_env(lambda: frame_stack(TurnEnv(), 2, padding=padding), n_steps=60) > 0


@pytest.mark.parametrize("aec", [False, True], ids=["parallel", "aec"])
def test_heterogeneous_agents_in_space(aec: bool) -> None:
    obs = {
        "img": u8(6, 5, 3),
        "gray": u8(4, 4),
        "vec": spaces.Box(-np.inf, np.inf, (3,), np.float32),
        "wide": spaces.Box(np.arange(4, dtype=np.float32), np.arange(4, dtype=np.float32) + 2),
    }
    check = check_aec_env if aec else check_parallel_env
    assert check(lambda: frame_stack(image_env(obs, aec), 4), n_steps=60) > 0


def test_stack_size_one_copies_and_adds_the_channel_axis_to_gray_images() -> None:
    env = frame_stack(image_env({"a": u8(4, 4)}), 1)
    obs, _ = env.reset(seed=0)
    assert obs["a"].shape == (4, 4, 1)
    np.testing.assert_array_equal(obs["a"][..., 0], env.unwrapped.emitted["a"])


def test_frame_stack_errors() -> None:
    env = image_env({"a": u8(4, 4)})
    with pytest.raises(ValueError, match="frame_stack: stack_size must be a positive int, got 0"):
        frame_stack(env, 0)
    with pytest.raises(TypeError, match=re.escape("frame_stack: stack_size must be a positive int, got True (bool)")):
        frame_stack(env, True)
    with pytest.raises(ValueError, match="frame_stack: padding must be 'zero' or 'reset', got 'edge'"):
        frame_stack(env, 2, padding="edge")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="frame_stack: channels must be"):
        frame_stack(env, 2, channels=-1)  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError, match=r"frame_stack: the observation space of agent 'd' is Discrete\(4\); only Box"):
        frame_stack(image_env({"a": u8(4, 4), "d": spaces.Discrete(4)}), 2)
    with pytest.raises(ValueError, match=r"frame_stack: the observation space of agent 'v' is Box\(.*\) of rank 4"):
        frame_stack(image_env({"v": spaces.Box(0, 1, (2, 2, 2, 2))}), 2)
    with pytest.raises(TypeError, match="frame_stack expects a PettingZoo ParallelEnv or AECEnv"):
        frame_stack("pistonball", 2)  # type: ignore[type-var]


def test_an_agent_missing_from_possible_agents_is_named() -> None:
    class Ghost(InPlaceEnv):
        def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
            return {"ghost": np.zeros(2, np.int64)}, {"ghost": {}}

    with pytest.raises(ValueError, match=r"frame_stack: agent 'ghost' is not in the environment's possible_agents \['a'\]"):
        frame_stack(Ghost(), 2).reset()
