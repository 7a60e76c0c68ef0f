"""``color_reduction``: RGB images to one channel (luminance, or one colour channel)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import AECEnv, ParallelEnv

from ps_wrappers.preprocessing.images import (
    Channels,
    box_of,
    check_channels,
    image_axes,
    round_to_int,
)
from ps_wrappers.transform import AgentTransform, check_env, wrap

__all__ = ["color_reduction", "LUMA_WEIGHTS"]

EnvT = TypeVar("EnvT", ParallelEnv, AECEnv)
Mode = Literal["full", "R", "G", "B"]
Fn = Callable[[Any], np.ndarray]

LUMA_WEIGHTS = (0.299, 0.587, 0.114)
"""ITU-R BT.601 luma weights of R, G and B (those of SuperSuit, OpenCV and Pillow)."""

_CHANNEL = {"R": 0, "G": 1, "B": 2}


def _luminance_fn(dtype: np.dtype, channel_axis: int) -> Fn:
    """``x -> luminance`` over ``channel_axis`` (of size 3), keeping ``dtype``.

    uint8 rounds to nearest (SuperSuit truncates, so no grey level is ever 255 unless R, G and B
    all are); other integer types round too; floats stay floats.
    """
    if dtype == np.uint8:
        w32 = np.asarray(LUMA_WEIGHTS, np.float32)
        if channel_axis == 0:

            def luma_u8_first(x: Any) -> np.ndarray:
                x = np.asarray(x)
                y = w32 @ x.astype(np.float32).reshape(3, -1)
                y += 0.5
                return y.astype(np.uint8).reshape(x.shape[1:])

            return luma_u8_first

        def luma_u8(x: Any) -> np.ndarray:
            # astype first: it reads any strides (pygame's transposed surfaces) into a contiguous
            # float32 copy, where a flat reshape would first copy the uint8 image as well.
            y = np.asarray(x).astype(np.float32) @ w32
            y += 0.5
            return y.astype(np.uint8)

        return luma_u8
    work = np.dtype(dtype) if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)
    w = [work.type(v) for v in LUMA_WEIGHTS]
    integer = not np.issubdtype(dtype, np.floating)

    def luma(x: Any) -> np.ndarray:
        # Element-wise products and sums (each correctly rounded, so monotone): the luminance of
        # an image inside [low, high] lies inside [luminance(low), luminance(high)].
        x = np.asarray(x)
        r, g, b = (np.take(x, i, axis=channel_axis).astype(work) for i in range(3))
        y = r * w[0]
        y += g * w[1]
        y += b * w[2]
        return round_to_int(y, dtype) if integer else y

    return luma


def _reduce(agent: Any, space: spaces.Space, mode: Mode, channels: Channels, keep_dim: bool) -> tuple[spaces.Box, Fn]:
    axes = image_axes("color_reduction", agent, space, channels)
    assert isinstance(space, spaces.Box)
    if axes.channel is None or space.shape[axes.channel] != 3:
        found = "no channel axis" if axes.channel is None else f"{space.shape[axes.channel]} channels on axis {axes.channel}"
        raise ValueError(
            f"color_reduction: agent {agent!r} has observation space {space} with {found} "
            f"(channels={channels!r}); it needs RGB images with 3 channels. Pass channels='last' "
            "for (H, W, 3) or channels='first' for (3, H, W) images."
        )
    ch = axes.channel
    if mode == "full":
        base = _luminance_fn(np.dtype(space.dtype), ch)
    else:
        pick = (slice(None),) * ch + (_CHANNEL[mode],)

        def base(x: Any) -> np.ndarray:
            # A basic-index view copied once: ``np.take`` would first copy the whole image when it
            # is not contiguous (pygame's transposed surfaces), three times the bytes kept.
            return np.array(np.asarray(x)[pick], order="C")

    low, high = base(space.low), base(space.high)
    full_range = space.dtype == np.uint8 and not low.any() and bool((high == 255).all())
    fn = base
    if mode == "full" and space.dtype == np.uint8 and not full_range:
        # The float32 matrix product is not guaranteed monotone for arbitrary per-pixel bounds.
        def fn(x: Any, low: np.ndarray = low, high: np.ndarray = high) -> np.ndarray:
            return np.clip(base(x), low, high)

    if keep_dim:
        low, high = np.expand_dims(low, ch), np.expand_dims(high, ch)
        inner = fn

        def fn(x: Any) -> np.ndarray:
            return np.expand_dims(inner(x), ch)

    return box_of(low, high, space.dtype), fn


def color_reduction(
    env: EnvT, mode: Mode = "full", *, channels: Channels = "auto", keep_dim: bool = False
) -> EnvT:
    """Reduce RGB image observations to one channel.

    ``mode="full"`` is the luminance ``0.299 R + 0.587 G + 0.114 B`` (:data:`LUMA_WEIGHTS`),
    rounded to the nearest value for integer images (uint8 stays uint8); ``"R"``, ``"G"`` or
    ``"B"`` keep that channel. Images are ``(H, W, 3)`` or ``(3, H, W)`` (see ``channels``), of
    any dtype; float images stay float (SuperSuit casts them to uint8, turning ``[0, 1]`` images
    to zeros). The declared bounds are the reduced bounds, so they contain every output.

    Agents may have different spaces; each is reduced on its own. Parallel in -> Parallel out,
    AEC in -> AEC out, natively.

    Args:
        env: A PettingZoo ParallelEnv or AECEnv whose agents observe RGB images.
        mode: ``"full"``, ``"R"``, ``"G"`` or ``"B"``.
        channels: Where the channels are: ``"auto"`` (see :mod:`ps_wrappers.preprocessing.images`),
            ``"last"`` or ``"first"``.
        keep_dim: Keep a channel axis of size 1 (``(H, W, 1)`` or ``(1, H, W)``) instead of
            returning ``(H, W)``.

    Returns:
        The same kind of env with single-channel image observations.

    Raises:
        TypeError: if ``env`` is not a PettingZoo env, or ``keep_dim`` not a bool.
        ValueError: for an unknown ``mode`` or ``channels``, or an image without 3 channels.
        NotImplementedError: for an agent whose observation space is not a Box.

    Example:
        >>> from pettingzoo.butterfly import pistonball_v6
        >>> env = color_reduction(pistonball_v6.parallel_env())
        >>> env.observation_space("piston_0")
        Box(0, 255, (457, 120), uint8)
    """
    check_env(env, "color_reduction")
    if mode not in ("full", "R", "G", "B"):
        raise ValueError(f"color_reduction: mode must be 'full', 'R', 'G' or 'B', got {mode!r}")
    check_channels("color_reduction", channels)
    if not isinstance(keep_dim, bool):
        raise TypeError(f"color_reduction: keep_dim must be a bool, got {keep_dim!r}")
    agents = list(env.possible_agents)
    inner = {a: env.observation_space(a) for a in agents}
    obs_spaces: dict[Any, spaces.Space] = {}
    obs_fns: dict[Any, Any] = {}
    for a in agents:
        obs_spaces[a], obs_fns[a] = _reduce(a, inner[a], mode, channels, keep_dim)
    transform = AgentTransform(
        name="color_reduction",
        observation_spaces=obs_spaces,
        action_spaces={a: env.action_space(a) for a in agents},
        obs_fns=obs_fns,
        inner_observation_spaces=inner,
    )
    return wrap(env, transform)
