"""What SuperSuit 3.11 gets wrong in its preprocessing wrappers (docs/preprocessing.md), and that
ours do not. Each test shows SuperSuit's behaviour on a minimal env, then ours on the same env.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import supersuit as ss
from gymnasium import spaces
from pettingzoo.utils.conversions import aec_to_parallel, parallel_to_aec

from ps_wrappers import color_reduction, frame_stack

from .conftest import image_env, u8


@pytest.fixture(autouse=True)
def _quiet() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def test_stacking_gray_frames_first_keeps_only_the_newest() -> None:
    """frame_stack_v1(stack_dim=0) on (H, W) frames writes the new frame into every slot but the
    last, which stays zero: the stack is [new, new, 0] instead of [older, old, new]."""
    env = image_env({"a": u8(2, 2)})
    theirs = ss.frame_stack_v1(env, 3, stack_dim=0)
    theirs.reset(seed=0)
    for _ in range(3):
        obs, *_ = theirs.step({"a": 0})
    newest = env.emitted["a"]
    np.testing.assert_array_equal(obs["a"][0], newest)
    np.testing.assert_array_equal(obs["a"][1], newest)
    assert not obs["a"][2].any()

    env = image_env({"a": u8(2, 2)})
    mine = frame_stack(env, 3, channels="first")
    mine.reset(seed=0)
    frames = []
    for _ in range(3):
        obs, *_ = mine.step({"a": 0})
        frames.append(env.emitted["a"])
    np.testing.assert_array_equal(obs["a"], np.stack(frames))


def test_emitted_stacks_are_overwritten_at_the_next_step() -> None:
    """frame_stack_v1 returns the same array every step and shifts it in place, so an observation
    kept by the caller (a replay buffer of references, a trajectory list) changes afterwards."""
    for wrap, changed in ((lambda e: ss.frame_stack_v1(e, 2), True), (lambda e: frame_stack(e, 2), False)):
        env = wrap(image_env({"a": u8(3)}))
        obs, _ = env.reset(seed=0)
        kept, snapshot = obs["a"], obs["a"].copy()
        env.step({"a": 0})
        assert (not np.array_equal(kept, snapshot)) == changed


def test_zero_padding_outside_the_declared_bounds() -> None:
    """frame_stack_v1 tiles the frame's bounds but pads with zeros: with low > 0 the first
    observations are outside the declared space."""
    space = spaces.Box(1, 5, (2,), np.int64)
    theirs = ss.frame_stack_v1(image_env({"a": space}), 3)
    obs, _ = theirs.reset(seed=0)
    assert not theirs.observation_space("a").contains(obs["a"])
    mine = frame_stack(image_env({"a": space}), 3)
    obs, _ = mine.reset(seed=0)
    assert mine.observation_space("a").contains(obs["a"])


def test_aec_stacks_lag_one_step_through_aec_to_parallel() -> None:
    """frame_stack_v1 on an AEC env stacks an agent's frame only when it is selected, so after
    aec_to_parallel every agent but the first sees last step's frame as its newest."""
    for wrap, lagging in ((lambda e: ss.frame_stack_v1(e, 2), True), (lambda e: frame_stack(e, 2), False)):
        inner = image_env({"a": u8(2), "b": u8(2)})
        env = aec_to_parallel(wrap(parallel_to_aec(inner)))
        env.reset(seed=0)
        obs, *_ = env.step({"a": 0, "b": 0})
        np.testing.assert_array_equal(obs["a"][-2:], inner.emitted["a"])
        assert (not np.array_equal(obs["b"][-2:], inner.emitted["b"])) == lagging


def test_float_images_reduce_to_zeros() -> None:
    """color_reduction_v0 casts the luminance to uint8, so [0, 1] float images become all zeros
    (and the declared space claims uint8 in [0, 1])."""
    space = spaces.Box(0.0, 1.0, (4, 4, 3), np.float32)
    theirs = ss.color_reduction_v0(image_env({"a": space}), "full")
    obs, _ = theirs.reset(seed=0)
    assert obs["a"].dtype == np.uint8 and not obs["a"].any()
    mine = color_reduction(image_env({"a": space}))
    obs, _ = mine.reset(seed=0)
    assert obs["a"].dtype == np.float32 and obs["a"].min() > 0
