"""Example-based tests of the wrappers: regressions of fixed bugs and documented behaviour."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo.utils.conversions import parallel_to_aec
from pettingzoo.utils.env import AECEnv, ParallelEnv

from ps_wrappers import agent_indicator, pad_actions, pad_observations, unpad_observation
from ps_wrappers.testing import (
    DyingAgentsEnv,
    SpaceMapEnv,
    check_aec_env,
    check_in_space,
    check_parallel_env,
)

from .helpers import assert_same

BOX = spaces.Box(-1.0, 1.0, (3,), np.float32)


def _mask(env: Any, agent: Any) -> np.ndarray | None:
    return env.action_mask(agent)


def test_int64_box_with_infinite_bounds_pads_to_a_space_that_contains_it() -> None:
    """Regression: int64 bounds went through float64 and iinfo.max overflowed to iinfo.min."""
    wide = spaces.Box(-np.inf, np.inf, (2,), np.int64)
    env = pad_observations(SpaceMapEnv({"a": wide, "b": spaces.Box(0, 5, (3,), np.int64)}, {"a": BOX, "b": BOX}))
    space = env.observation_space("a")
    info = np.iinfo(np.int64)
    np.testing.assert_array_equal(space.low, [info.min, info.min, 0])
    np.testing.assert_array_equal(space.high, [info.max, info.max, 5])
    assert check_parallel_env(lambda: env, n_steps=5, api_test=False) == 10


@pytest.mark.parametrize("aec", [False, True], ids=["parallel", "aec"])
def test_action_mask_padded_by_pad_observations_is_moved_to_the_agents_actions(aec: bool) -> None:
    """Regression: pad_observations then pad_actions left the mask at the wrong actions or failed."""
    acts = {"scout_0": spaces.Discrete(2, start=2), "tank_0": spaces.Discrete(4), "medic_0": spaces.Discrete(2, start=3)}
    obs = {a: spaces.Dict({"obs": BOX, "action_mask": spaces.Box(0, 1, (int(s.n),), np.int8)}) for a, s in acts.items()}
    raw = SpaceMapEnv(obs, acts, max_steps=1000)
    env = pad_actions(pad_observations(parallel_to_aec(raw) if aec else raw))
    assert env.action_space("tank_0") == spaces.Discrete(5)
    assert all(env.observation_space(a) == env.observation_space("tank_0") for a in acts)
    env.reset(seed=3)
    np.testing.assert_array_equal(env.padding_mask("scout_0"), [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(env.padding_mask("medic_0"), [0, 0, 0, 1, 1])
    for a, own in acts.items():
        raw_mask = raw.emitted[a]["action_mask"].astype(bool)
        expected = np.zeros(5, bool)
        expected[int(own.start) : int(own.start) + int(own.n)] = raw_mask
        np.testing.assert_array_equal(env.action_mask(a), expected)
        observed = env.observe(a) if aec else env._last_obs[a]
        np.testing.assert_array_equal(observed["action_mask"].astype(bool), expected)
    assert check_parallel_env(lambda: env, n_steps=20, api_test=False, mask_fn=_mask) if not aec else check_aec_env(
        lambda: env, n_steps=20, api_test=False, mask_fn=_mask
    )


def test_multibinary_action_mask_space_keeps_its_type() -> None:
    """Regression: padded MultiBinary masks became Box for some agents only."""
    obs = {"a": spaces.Dict({"action_mask": spaces.MultiBinary(2)}), "b": spaces.Dict({"action_mask": spaces.MultiBinary(4)})}
    env = pad_actions(SpaceMapEnv(obs, {"a": spaces.Discrete(2), "b": spaces.Discrete(4)}))
    assert env.observation_space("a") == env.observation_space("b") == spaces.Dict({"action_mask": spaces.MultiBinary(4)})
    assert check_parallel_env(lambda: env, n_steps=10, api_test=False, mask_fn=_mask) == 20


def test_integer_box_actions_are_clipped_before_the_cast() -> None:
    """Regression: 250 was cast to int8 (-6) before clipping, reaching the env as the low bound."""
    acts = {"a": spaces.Box(-5, 5, (1,), np.int8), "b": spaces.Box(-300, 300, (2,), np.int16)}
    env = pad_actions(SpaceMapEnv({"a": BOX, "b": BOX}, acts))
    env.reset(seed=0)
    env.step({"a": np.array([250, 7], np.int16), "b": np.array([-290, 3], np.int16)})
    env.step({"a": np.array([-250, 7], np.int16), "b": np.array([0, 0], np.int16)})
    received = env.unwrapped.received
    assert_same(received[0]["a"], np.array([5], np.int8))
    assert_same(received[1]["a"], np.array([-5], np.int8))
    assert_same(received[0]["b"], np.array([-290, 3], np.int16))


def test_float_box_actions_drop_extra_dims_and_clip() -> None:
    acts = {"walker_0": spaces.Box(-1, 1, (2,), np.float32), "walker_1": spaces.Box(0, 10, (4,), np.float32)}
    env = pad_actions(SpaceMapEnv({a: BOX for a in acts}, acts))
    assert env.action_space("walker_0") == spaces.Box(np.array([-1, -1, 0, 0], np.float32), np.full(4, 10, np.float32))
    env.reset(seed=0)
    env.step({"walker_0": np.array([0.5, 3.0, 9.0, 9.0], np.float32), "walker_1": np.array([-1.0, 5.0, 11.0, 2.0], np.float32)})
    got = env.unwrapped.received[0]
    assert_same(got["walker_0"], np.array([0.5, 1.0], np.float32))
    assert_same(got["walker_1"], np.array([0.0, 5.0, 10.0, 2.0], np.float32))
    assert env.padding_mask("walker_0") is None and env.action_mask("walker_0") is None


def test_random_valid_is_deterministic_under_reset_seed() -> None:
    acts = {"leadadversary_0": spaces.Discrete(20), "agent_0": spaces.Discrete(5), "agent_1": spaces.Discrete(5, start=10)}

    def run(seed: int) -> list[dict]:
        env = pad_actions(SpaceMapEnv({a: BOX for a in acts}, acts, max_steps=100), invalid_action="random_valid")
        env.reset(seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for v in range(20):
                env.step(dict.fromkeys(acts, v))
        counts = env.invalid_action_counts
        assert counts == {"agent_0": 15, "agent_1": 15}
        return list(env.unwrapped.received)

    first = run(1)
    assert first == run(1)
    assert first != run(2)
    assert all(0 <= r["agent_0"] < 5 and 10 <= r["agent_1"] < 15 for r in first)
    assert [r["leadadversary_0"] for r in first] == list(range(20))


def test_random_valid_warns_once_per_agent() -> None:
    acts = {"big_0": spaces.Discrete(6), "small_0": spaces.Discrete(2)}
    env = pad_actions(SpaceMapEnv({a: BOX for a in acts}, acts, max_steps=100), invalid_action="random_valid")
    env.reset(seed=0)
    with pytest.warns(UserWarning, match=r"pad_actions: replacing padded action 5 of agent 'small_0' by a random valid action") as record:
        env.step({"big_0": 5, "small_0": 5})
        env.step({"big_0": 5, "small_0": 4})
    assert len([w for w in record if "replacing padded action" in str(w.message)]) == 1
    assert env.invalid_action_counts == {"small_0": 2}


def test_info_action_mask_is_combined_with_the_padding_mask() -> None:
    class InfoMaskEnv(SpaceMapEnv):
        """Puts the agent's own mask in ``info["action_mask"]`` (as lbforaging does)."""

        def _infos(self, agents: list) -> dict:
            own = {"a": [1, 0, 1], "b": [1, 0, 1, 0, 0, 1]}  # the agent's own length
            return {a: {"action_mask": np.array(own[a], np.int8)} for a in agents}

        def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
            obs, _ = super().reset(seed=seed)
            return obs, self._infos(self.agents)

        def step(self, actions: dict) -> tuple:
            obs, rew, term, trunc, _ = super().step(actions)
            return obs, rew, term, trunc, self._infos(list(obs))

    acts = {"a": spaces.Discrete(3, start=1), "b": spaces.Discrete(6)}
    env = pad_actions(InfoMaskEnv({a: BOX for a in acts}, acts))
    env.reset(seed=0)
    np.testing.assert_array_equal(env.action_mask("a"), [0, 1, 0, 1, 0, 0])
    np.testing.assert_array_equal(env.padding_mask("a"), [0, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(env.action_mask("b"), [1, 0, 1, 0, 0, 1])


def test_info_action_mask_of_the_wrong_length_is_refused() -> None:
    class WrongMaskEnv(SpaceMapEnv):
        def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
            obs, _ = super().reset(seed=seed)
            return obs, {a: {"action_mask": np.array([1, 0, 1], np.int8)} for a in self.agents}

    acts = {"a": spaces.Discrete(3, start=1), "b": spaces.Discrete(6)}
    env = pad_actions(WrongMaskEnv({a: BOX for a in acts}, acts))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"pad_actions: agent 'b': its info\['action_mask'\] has 3 entries, but its action space Discrete\(6\) has 6 actions"):
        env.action_mask("b")


def test_homogeneous_agents_pass_through_untouched() -> None:
    obs = {f"walker_{i}": BOX for i in range(3)}
    raw = SpaceMapEnv(obs, {a: spaces.Discrete(4) for a in obs})
    env = pad_observations(raw)
    assert not env.transform.changes_obs
    assert all(env.observation_space(a) == BOX for a in obs)
    padded, _ = env.reset(seed=0)
    for a in obs:
        assert_same(padded[a], raw.emitted[a])
        assert_same(unpad_observation(env, a, padded[a]), raw.emitted[a])


def test_padded_discrete_observations_keep_their_values_and_start() -> None:
    obs = {"a": spaces.Discrete(3, start=-2), "b": spaces.Discrete(4, start=5)}
    env = pad_observations(SpaceMapEnv(obs, {a: spaces.Discrete(2) for a in obs}))
    assert env.observation_space("a") == spaces.Discrete(11, start=-2)
    o, _ = env.reset(seed=0)
    assert -2 <= o["a"] < 1 and 5 <= o["b"] < 9


@pytest.mark.parametrize("aec", [False, True], ids=["parallel", "aec"])
def test_full_stack_on_dying_agents(aec: bool) -> None:
    def make() -> ParallelEnv | AECEnv:
        raw = DyingAgentsEnv((2, 4, 7))
        inner = parallel_to_aec(raw) if aec else raw
        return agent_indicator(pad_actions(pad_observations(inner)))

    check = check_aec_env if aec else check_parallel_env
    assert check(make, n_steps=40, mask_fn=_mask) > 0


def test_indicator_on_each_space_kind() -> None:
    obs = {
        "d": spaces.Discrete(3, start=1),
        "md": spaces.MultiDiscrete([2, 3], start=[-1, 0]),
        "mb": spaces.MultiBinary(2),
        "t": spaces.Tuple([spaces.Discrete(2), BOX]),
        "do": spaces.Dict({"observation": BOX, "action_mask": spaces.Box(0, 1, (2,), np.int8)}),
        "dx": spaces.Dict({"pos": BOX}),
    }
    k = len(obs)
    for i, (a, space) in enumerate(obs.items()):
        env = agent_indicator(SpaceMapEnv({b: space for b in obs}, {b: spaces.Discrete(2) for b in obs}))
        o, _ = env.reset(seed=i)
        x = env.unwrapped.emitted[a]
        y = o[a]
        check_in_space(env.observation_space(a), y, a)
        if a == "d":
            assert env.observation_space(a) == spaces.MultiDiscrete([3, k], start=[1, 0])
            assert_same(y, np.array([x, i]))
        elif a == "md":
            assert_same(y, np.append(x, i).astype(np.int64))
        elif a == "mb":
            assert_same(y, np.concatenate([x, np.eye(k, dtype=np.int8)[i]]))
        elif a == "t":
            assert env.observation_space(a) == spaces.Tuple([spaces.Discrete(2), BOX, spaces.Discrete(k)])
            assert y[0] == x[0] and y[2] == i
            assert_same(y[1], x[1])
        elif a == "do":
            assert_same(y["action_mask"], x["action_mask"])
            assert_same(y["observation"], np.concatenate([x["observation"], np.eye(k, dtype=np.float32)[i]]))
        else:
            assert_same(y["pos"], x["pos"])
            assert_same(y["agent_indicator"], np.eye(k, dtype=np.float32)[i])


def test_box_actions_of_unpadded_agents_are_clipped_too() -> None:
    obs = {"big": spaces.Box(0, 1, (2,), np.float32), "small": spaces.Box(0, 1, (2,), np.float32)}
    acts = {"big": spaces.Box(-1, 1, (3,), np.float32), "small": spaces.Box(-0.5, 0.5, (2,), np.float32)}
    env = pad_actions(SpaceMapEnv(obs, acts))
    inner = env.unwrapped
    env.reset(seed=0)
    env.step({"big": np.array([5.0, -5.0, 0.2], np.float32), "small": np.array([0.9, -0.9, 0.7], np.float32)})
    np.testing.assert_array_equal(inner.received[-1]["big"], np.array([1.0, -1.0, 0.2], np.float32))
    np.testing.assert_array_equal(inner.received[-1]["small"], np.array([0.5, -0.5], np.float32))
