"""color_reduction and resize: values against independent references, spaces, channel layouts."""

from __future__ import annotations

import re

import numpy as np
import pytest
import tinyscaler
import torch
from gymnasium import spaces

from ps_wrappers import color_reduction, resize
from ps_wrappers.testing import check_aec_env, check_in_space, check_parallel_env

from .conftest import image_env, u8


def _luma64(img: np.ndarray, axis: int = -1) -> np.ndarray:
    r, g, b = (np.take(img.astype(np.float64), i, axis=axis) for i in range(3))
    return 0.299 * r + 0.587 * g + 0.114 * b


def _torch_resize(img: np.ndarray, h: int, w: int, mode: str) -> np.ndarray:
    """Reference: torch.nn.functional.interpolate on a (H, W, C) image, in float64."""
    x = torch.from_numpy(img.astype(np.float64)).permute(2, 0, 1)[None]
    kwargs = {"align_corners": False} if mode == "bilinear" else {}
    return torch.nn.functional.interpolate(x, size=(h, w), mode=mode, **kwargs)[0].permute(1, 2, 0).numpy()


# --- color_reduction --------------------------------------------------------------------------------


def test_full_luminance_of_uint8_rounds_to_nearest() -> None:
    env = color_reduction(image_env({"a": u8(6, 5, 3)}))
    obs, _ = env.reset(seed=0)
    raw = env.unwrapped.emitted["a"]
    assert obs["a"].dtype == np.uint8 and obs["a"].shape == (6, 5)
    np.testing.assert_array_less(np.abs(obs["a"] - _luma64(raw)), 0.5 + 1e-4)
    fn = env.transform.obs_fns["a"]
    pure = np.zeros((1, 4, 3), np.uint8)
    pure[0, 0] = 255
    pure[0, 1, 0], pure[0, 2, 1], pure[0, 3, 2] = 255, 255, 255
    assert fn(pure).tolist() == [[255, 76, 150, 29]]  # white, red, green, blue


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
def test_full_luminance_keeps_other_dtypes(dtype: type) -> None:
    space = spaces.Box(np.zeros((4, 4, 3), dtype), np.full((4, 4, 3), 2, dtype), dtype=dtype)
    env = color_reduction(image_env({"a": space}))
    obs, _ = env.reset(seed=1)
    out, raw = obs["a"], env.unwrapped.emitted["a"]
    assert out.dtype == dtype and env.observation_space("a").dtype == dtype
    expected = _luma64(raw)
    if np.issubdtype(dtype, np.integer):
        expected = np.rint(expected)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert out.max() > 0  # float images are not cast to uint8 zeros (SuperSuit's bug)
    check_in_space(env.observation_space("a"), out, "luminance")


@pytest.mark.parametrize("mode, index", [("R", 0), ("G", 1), ("B", 2)])
def test_single_channel_modes_keep_that_channel(mode: str, index: int) -> None:
    env = color_reduction(image_env({"a": u8(3, 4, 3)}), mode)  # type: ignore[arg-type]
    obs, _ = env.reset(seed=2)
    np.testing.assert_array_equal(obs["a"], env.unwrapped.emitted["a"][..., index])


def test_channels_first_and_keep_dim() -> None:
    first = color_reduction(image_env({"a": u8(3, 9, 7)}), keep_dim=True)
    assert first.observation_space("a").shape == (1, 9, 7)
    obs, _ = first.reset(seed=3)
    raw = first.unwrapped.emitted["a"]
    last = color_reduction(image_env({"a": u8(9, 7, 3)}), keep_dim=True)
    np.testing.assert_array_equal(obs["a"][0], last.transform.obs_fns["a"](np.moveaxis(raw, 0, -1))[..., 0])
    forced = color_reduction(image_env({"a": u8(3, 3, 3)}), channels="first")
    assert forced.transform.obs_fns["a"](np.arange(27, dtype=np.uint8).reshape(3, 3, 3)).shape == (3, 3)


def test_per_pixel_bounds_contain_the_luminance() -> None:
    rng = np.random.default_rng(0)
    low = rng.integers(0, 100, (5, 5, 3)).astype(np.uint8)
    high = (low + rng.integers(0, 100, (5, 5, 3))).astype(np.uint8)
    for aec in (False, True):
        for keep_dim in (False, True):
            check = check_aec_env if aec else check_parallel_env
            env = lambda aec=aec, keep_dim=keep_dim: color_reduction(  # noqa: E731
                image_env({"a": spaces.Box(low, high, dtype=np.uint8)}, aec), keep_dim=keep_dim
            )
            assert check(env, n_steps=60, api_test=False) > 0


def test_heterogeneous_agents_are_reduced_each_from_its_own_space() -> None:
    env = color_reduction(image_env({"big": u8(10, 12, 3), "small": u8(3, 4, 5), "float": spaces.Box(0.0, 1.0, (6, 6, 3))}))
    assert [env.observation_space(a).shape for a in env.possible_agents] == [(10, 12), (4, 5), (6, 6)]
    assert check_parallel_env(lambda: env, n_steps=30) > 0


def test_color_reduction_errors() -> None:
    with pytest.raises(ValueError, match=re.escape("color_reduction: agent 'rgba' has observation space Box(0, 255, (5, 5, 4), uint8) with 4 channels on axis 2 (channels='auto'); it needs RGB images with 3 channels")):
        color_reduction(image_env({"ok": u8(5, 5, 3), "rgba": u8(5, 5, 4)}))
    with pytest.raises(ValueError, match="agent 'gray' has observation space .* with no channel axis"):
        color_reduction(image_env({"gray": u8(5, 5)}))
    with pytest.raises(NotImplementedError, match=r"color_reduction: the observation space of agent 'd' is Discrete\(3\); only image observations"):
        color_reduction(image_env({"d": spaces.Discrete(3)}))
    with pytest.raises(ValueError, match=r"color_reduction: the observation space of agent 'v' is .* of rank 1; an image must have shape"):
        color_reduction(image_env({"v": spaces.Box(0, 1, (3,))}))
    with pytest.raises(ValueError, match="color_reduction: mode must be 'full', 'R', 'G' or 'B', got 'gray'"):
        color_reduction(image_env({"a": u8(5, 5, 3)}), "gray")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="color_reduction: channels must be 'auto', 'last'"):
        color_reduction(image_env({"a": u8(5, 5, 3)}), channels="middle")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="color_reduction expects a PettingZoo ParallelEnv or AECEnv"):
        color_reduction(np.zeros(3))  # type: ignore[type-var]


# --- resize -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("h, w", [(84, 84), (5, 3), (20, 40), (12, 9)])
def test_bilinear_matches_torch(h: int, w: int) -> None:
    img = np.random.default_rng(h * w).random((12, 9, 3), dtype=np.float32)
    env = resize(image_env({"a": spaces.Box(0.0, 1.0, (12, 9, 3))}), w, h)
    out = env.transform.obs_fns["a"](img)
    assert out.shape == (h, w, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, _torch_resize(img, h, w, "bilinear"), atol=1e-5)


def test_uint8_bilinear_rounds_the_exact_blend() -> None:
    img = np.random.default_rng(0).integers(0, 256, (457, 120, 3)).astype(np.uint8)
    env = resize(image_env({"a": u8(457, 120, 3)}), 84, 84)
    out = env.transform.obs_fns["a"](img)
    assert out.dtype == np.uint8
    np.testing.assert_array_less(np.abs(out - _torch_resize(img, 84, 84, "bilinear")), 0.5 + 1e-3)


def test_nearest_matches_torch_and_tinyscaler() -> None:
    img = np.random.default_rng(1).integers(0, 256, (457, 120, 3)).astype(np.uint8)
    env = resize(image_env({"a": u8(457, 120, 3)}), 84, 50, linear_interp=False)
    out = env.transform.obs_fns["a"](img)
    assert out.shape == (50, 84, 3)
    np.testing.assert_array_equal(out, _torch_resize(img, 50, 84, "nearest-exact"))
    np.testing.assert_array_equal(out, tinyscaler.scale(img, (84, 50), mode="nearest"))


@pytest.mark.parametrize("linear", [True, False])
def test_channels_first_and_rank2_agree_with_channels_last(linear: bool) -> None:
    img = np.random.default_rng(2).integers(0, 256, (3, 30, 20)).astype(np.uint8)
    first = resize(image_env({"a": u8(3, 30, 20)}), 11, 13, linear_interp=linear)
    last = resize(image_env({"a": u8(30, 20, 3)}), 11, 13, linear_interp=linear)
    gray = resize(image_env({"a": u8(30, 20)}), 11, 13, linear_interp=linear)
    assert first.observation_space("a").shape == (3, 13, 11) and gray.observation_space("a").shape == (13, 11)
    expected = last.transform.obs_fns["a"](np.moveaxis(img, 0, -1))
    np.testing.assert_array_equal(np.moveaxis(first.transform.obs_fns["a"](img), 0, -1), expected)
    np.testing.assert_array_equal(gray.transform.obs_fns["a"](img[1]), expected[..., 1])


@pytest.mark.parametrize("linear", [True, False])
@pytest.mark.parametrize("aec", [False, True], ids=["parallel", "aec"])
def test_resized_observations_stay_in_per_pixel_and_infinite_bounds(linear: bool, aec: bool) -> None:
    rng = np.random.default_rng(3)
    low = rng.uniform(-5, 0, (9, 7, 2)).astype(np.float32)
    high = (low + rng.uniform(0, 3, (9, 7, 2))).astype(np.float32)
    high[0, 0, 0] = np.inf
    obs = {
        "float": spaces.Box(low, high, dtype=np.float32),
        "int": spaces.Box(rng.integers(-9, 0, (9, 7)), rng.integers(1, 9, (9, 7)), dtype=np.int64),
        "u8": u8(9, 7, 3),
    }
    check = check_aec_env if aec else check_parallel_env
    assert check(lambda: resize(image_env(obs, aec), 4, 17, linear_interp=linear), n_steps=80, api_test=False) > 0
    space = resize(image_env(obs), 4, 17, linear_interp=linear).observation_space("float")
    assert np.isinf(space.high).any() and np.isfinite(space.low).all()


def test_heterogeneous_agents_resize_to_one_size() -> None:
    env = resize(image_env({"a": u8(30, 40, 3), "b": u8(3, 8, 8), "c": u8(7, 9)}), 6, 5)
    assert [env.observation_space(a).shape for a in env.possible_agents] == [(5, 6, 3), (3, 5, 6), (5, 6)]


def test_resize_errors() -> None:
    env = image_env({"a": u8(8, 8, 3)})
    with pytest.raises(ValueError, match="resize: x_size must be a positive int, got 0"):
        resize(env, 0, 4)
    with pytest.raises(TypeError, match=r"resize: y_size must be a positive int, got 4\.0 \(float\)"):
        resize(env, 4, 4.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="resize: linear_interp must be a bool, got 'yes'"):
        resize(env, 4, 4, linear_interp="yes")  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError, match=r"resize: the observation space of agent 'md' is MultiDiscrete\(\[3 3\]\); only image"):
        resize(image_env({"a": u8(8, 8, 3), "md": spaces.MultiDiscrete([3, 3])}), 4, 4)
    with pytest.raises(ValueError, match=r"resize: the observation space of agent 'v' is Box\(.*\(2, 2, 2, 2\).*\) of rank 4"):
        resize(image_env({"v": spaces.Box(0, 1, (2, 2, 2, 2))}), 4, 4)


# --- non-contiguous images ---------------------------------------------------------------------------


def _views(img: np.ndarray) -> list[np.ndarray]:
    """The same pixels as non-contiguous arrays: transposed storage (pygame's surfaces), a
    reversed axis, a strided slice of a larger buffer."""
    transposed = np.ascontiguousarray(np.swapaxes(img, 0, 1)).swapaxes(0, 1)
    reversed_ = np.ascontiguousarray(img[::-1])[::-1]
    big = np.zeros((img.shape[0] * 2,) + img.shape[1:], img.dtype)
    big[::2] = img
    views = [transposed, reversed_, big[::2]]
    for v in views:
        assert not v.flags.c_contiguous and np.array_equal(v, img)
    return views


@pytest.mark.parametrize("linear", [True, False])
@pytest.mark.parametrize("shape", [(31, 17, 3), (3, 31, 17), (31, 17)], ids=["last", "first", "rank2"])
def test_resize_of_non_contiguous_images_equals_their_copy(linear: bool, shape: tuple[int, ...]) -> None:
    img = np.random.default_rng(4).integers(0, 256, shape).astype(np.uint8)
    fn = resize(image_env({"a": u8(*shape)}), 12, 9, linear_interp=linear).transform.obs_fns["a"]
    expected = fn(img)
    for view in _views(img):
        out = fn(view)
        np.testing.assert_array_equal(out, expected)
        assert not np.shares_memory(out, view)


@pytest.mark.parametrize("mode", ["full", "R", "G", "B"])
@pytest.mark.parametrize("channels", ["last", "first"])
def test_color_reduction_of_non_contiguous_images_equals_their_copy(mode: str, channels: str) -> None:
    shape = (19, 11, 3) if channels == "last" else (3, 19, 11)
    img = np.random.default_rng(5).integers(0, 256, shape).astype(np.uint8)
    fn = color_reduction(image_env({"a": u8(*shape)}), mode=mode).transform.obs_fns["a"]  # type: ignore[arg-type]
    expected = fn(img)
    assert expected.flags.c_contiguous
    for view in _views(img):
        out = fn(view)
        np.testing.assert_array_equal(out, expected)
        assert not np.shares_memory(out, view)  # a copy: the env may reuse its buffer next step
