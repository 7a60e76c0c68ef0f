"""Property tests: for any Box image space (ranks 2 and 3, float and int dtypes, per-element and
infinite bounds), any output size and stack size, and agents with different spaces, every
observation of resize -> frame_stack and of color_reduction is inside its declared space, on
every reset and step, Parallel and AEC."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ps_wrappers import color_reduction, frame_stack, resize
from ps_wrappers.testing import check_aec_env, check_parallel_env
from tests.wrappers.strategies import box_spaces

from .conftest import image_env

DTYPES = (np.float32, np.float64, np.uint8, np.int8, np.int16, np.int32, np.int64)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(make: Any, aec: bool) -> None:
    check = check_aec_env if aec else check_parallel_env
    assert check(make, n_steps=12, api_test=False) > 0


@st.composite
def image_maps(draw: st.DrawFn) -> dict[str, spaces.Box]:
    """One to three agents, each with its own image space of rank 2 or 3 and any dtype."""
    return {
        f"agent_{i}": draw(box_spaces(draw(st.sampled_from((2, 3))), draw(st.sampled_from(DTYPES)), max_dim=5))
        for i in range(draw(st.integers(1, 3)))
    }


@st.composite
def rgb_maps(draw: st.DrawFn) -> tuple[dict[str, spaces.Box], str]:
    """One to three agents with RGB spaces, all channels first or all last, and that layout."""
    first = draw(st.booleans())
    out = {}
    for i in range(draw(st.integers(1, 3))):
        flat = draw(box_spaces(1, draw(st.sampled_from(DTYPES)), max_dim=4))
        h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        shape = (3, h, w) if first else (h, w, 3)
        low = np.resize(flat.low, int(np.prod(shape))).reshape(shape)
        high = np.resize(flat.high, int(np.prod(shape))).reshape(shape)
        out[f"agent_{i}"] = spaces.Box(low, high, shape, flat.dtype)
    return out, "first" if first else "last"


@SETTINGS
@given(
    obs=image_maps(),
    size=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    linear=st.booleans(),
    k=st.integers(1, 3),
    padding=st.sampled_from(["zero", "reset"]),
    aec=st.booleans(),
)
def test_resize_then_stack_stays_in_space(obs: dict, size: tuple[int, int], linear: bool, k: int, padding: Any, aec: bool) -> None:
    _check(lambda: frame_stack(resize(image_env(obs, aec, max_steps=6), *size, linear_interp=linear), k, padding=padding), aec)


@SETTINGS
@given(maps=rgb_maps(), mode=st.sampled_from(["full", "R", "G", "B"]), keep_dim=st.booleans(), aec=st.booleans())
def test_color_reduction_stays_in_space(maps: tuple[dict, str], mode: Any, keep_dim: bool, aec: bool) -> None:
    obs, channels = maps
    _check(lambda: color_reduction(image_env(obs, aec, max_steps=6), mode, channels=channels, keep_dim=keep_dim), aec)
