"""``resize``: image observations to a new height and width (bilinear or nearest neighbour)."""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import AECEnv, ParallelEnv

from ps_wrappers.preprocessing.images import (
    Channels,
    ImageAxes,
    box_of,
    check_channels,
    check_positive_int,
    image_axes,
    round_to_int,
)
from ps_wrappers.transform import AgentTransform, check_env, wrap

__all__ = ["resize", "Resampler"]

EnvT = TypeVar("EnvT", ParallelEnv, AECEnv)


def _source_coords(n_in: int, n_out: int) -> np.ndarray:
    """Half-pixel-centre source coordinate of every output pixel (OpenCV, PIL, torch's
    ``align_corners=False``), clamped to the image."""
    return np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0, n_in - 1)


class Resampler:
    """Resizes images of one shape with precomputed gather indices and weights.

    Bilinear: the rows and columns of the four neighbours of every output pixel are picked as one
    ``(2h, 2w)`` block (a flat ``take`` on contiguous images, an open-mesh index on others, so a
    transposed image is never copied whole) and blended in float32 (float64 for 32/64-bit
    integers and float64 images), integers rounded to nearest. Nearest neighbour: one pick.

    Args:
        shape: Input shape (rank 2 or 3).
        axes: Where height, width and channels are.
        size: Output ``(height, width)``.
        linear: Bilinear (True) or nearest neighbour (False).
        dtype: The images' dtype (kept).
    """

    def __init__(self, shape: tuple[int, ...], axes: ImageAxes, size: tuple[int, int], linear: bool, dtype: np.dtype) -> None:
        h_in, w_in = shape[axes.height], shape[axes.width]
        h, w = size
        self.axes, self.linear, self.dtype = axes, linear, np.dtype(dtype)
        self.in_shape = tuple(shape)
        out = list(shape)
        out[axes.height], out[axes.width] = h, w
        self.out_shape = tuple(out)
        # The pixels needed (the nearest pixel, or the four bilinear neighbours as one (2h, 2w)
        # block) are picked with one precomputed index: a flat ``take`` when the image is
        # C-contiguous (fastest), else an open-mesh advanced index over the height and width axes,
        # which reads a non-contiguous image (pygame's transposed surfaces) in place where
        # ``take`` or a flat reshape would first copy all of it.
        self._flat_shape: tuple[int, ...]
        if axes.channel is None:
            self._flat_shape, self._take_axis = (h_in * w_in,), 0
        elif axes.channels_first:
            self._flat_shape, self._take_axis = (shape[0], h_in * w_in), 1
        else:
            self._flat_shape, self._take_axis = (h_in * w_in, shape[2]), 0
        self._w_in = w_in
        ys, xs = _source_coords(h_in, h), _source_coords(w_in, w)
        self._h, self._w = h, w
        if not linear:
            yi = np.minimum(np.floor((np.arange(h) + 0.5) * (h_in / h)).astype(np.intp), h_in - 1)
            xi = np.minimum(np.floor((np.arange(w) + 0.5) * (w_in / w)).astype(np.intp), w_in - 1)
            self._set_pick(yi, xi)
            return
        y0 = np.floor(ys).astype(np.intp)
        x0 = np.floor(xs).astype(np.intp)
        y1, x1 = np.minimum(y0 + 1, h_in - 1), np.minimum(x0 + 1, w_in - 1)
        self._set_pick(np.concatenate([y0, y1]), np.concatenate([x0, x1]))
        self._corners = [self._quadrant(len(shape), top, left) for top in (True, False) for left in (True, False)]
        self._work = np.dtype(
            np.float64 if self.dtype.itemsize >= 4 and self.dtype.kind in "iu" or self.dtype == np.float64 else np.float32
        )
        wy = np.broadcast_to((ys - y0)[:, None], (h, w)).astype(self._work)
        wx = np.broadcast_to((xs - x0)[None, :], (h, w)).astype(self._work)
        if axes.channel is not None and not axes.channels_first:
            wy, wx = wy[:, :, None], wx[:, :, None]
        self._wy, self._wx = wy, wx
        self._round = self.dtype.kind in "iu"

    def _set_pick(self, rows: np.ndarray, cols: np.ndarray) -> None:
        """Precompute the pick of ``rows`` x ``cols`` (channels kept where they are) both ways: as
        an open-mesh index and as a flat ``take`` index with the shape it is reshaped to."""
        # Height and width are adjacent axes in every layout (H, W), (H, W, C), (C, H, W), so the
        # two broadcast index arrays keep their place in the result.
        index: list[Any] = [slice(None)] * len(self.in_shape)
        index[self.axes.height], index[self.axes.width] = rows[:, None], cols[None, :]
        self._index = tuple(index)
        self._flat_index = (rows[:, None] * self._w_in + cols[None, :]).ravel()
        picked = list(self.in_shape)
        picked[self.axes.height], picked[self.axes.width] = len(rows), len(cols)
        self._picked_shape = tuple(picked)

    def _quadrant(self, rank: int, top: bool, left: bool) -> tuple[Any, ...]:
        """Slice of one neighbour (top/bottom, left/right) out of the ``(2h, 2w)`` bilinear pick."""
        index: list[Any] = [slice(None)] * rank
        index[self.axes.height] = slice(0, self._h) if top else slice(self._h, None)
        index[self.axes.width] = slice(0, self._w) if left else slice(self._w, None)
        return tuple(index)

    def _pick(self, image: Any) -> np.ndarray:
        image = np.asarray(image)
        if image.flags.c_contiguous:
            return image.reshape(self._flat_shape).take(self._flat_index, axis=self._take_axis).reshape(self._picked_shape)
        return image[self._index]

    def __call__(self, image: Any) -> np.ndarray:
        """The resized image (a new array of ``out_shape`` and the same dtype)."""
        if not self.linear:
            return self._pick(image)
        picked = self._pick(image)
        p00, p01, p10, p11 = (picked[c].astype(self._work) for c in self._corners)
        p01 -= p00
        p01 *= self._wx
        p00 += p01  # top row
        p11 -= p10
        p11 *= self._wx
        p10 += p11  # bottom row
        p10 -= p00
        p10 *= self._wy
        p00 += p10
        if self._round and self.dtype.itemsize >= 4:
            return round_to_int(p00, self.dtype)  # float64 blends of extremes may pass the range
        if self._round:  # 8/16-bit values are exact in float32: blends stay in range
            np.rint(p00, out=p00)
        return p00.astype(self.dtype)

    def bounds(self, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Output bounds: per pixel, the extremes of the bounds of the pixels it is blended from.

        Sound for any bounds (infinite ones included): a blend lies between its inputs.
        """
        if not self.linear:
            return self._pick(low), self._pick(high)
        low_picked, high_picked = self._pick(low), self._pick(high)
        lows = [low_picked[c] for c in self._corners]
        highs = [high_picked[c] for c in self._corners]
        return np.minimum.reduce(lows), np.maximum.reduce(highs)


def _resizer(agent: Any, space: spaces.Space, size: tuple[int, int], linear: bool, channels: Channels) -> tuple[spaces.Box, Any]:
    axes = image_axes("resize", agent, space, channels)
    assert isinstance(space, spaces.Box)
    resampler = Resampler(space.shape, axes, size, linear, np.dtype(space.dtype))
    low, high = resampler.bounds(space.low, space.high)
    new = box_of(low, high, space.dtype)
    exact = space.dtype == np.uint8 or not linear  # rounding keeps uint8 blends in range
    if exact:
        return new, resampler

    def clipped(x: Any) -> np.ndarray:
        # Float blends of equal values may round one ulp outside them: keep the declared bounds.
        return np.clip(resampler(x), low, high)

    return new, clipped


def resize(
    env: EnvT, x_size: int, y_size: int, *, linear_interp: bool = True, channels: Channels = "auto"
) -> EnvT:
    """Resize image observations to ``y_size`` rows and ``x_size`` columns.

    Arguments follow SuperSuit's ``resize_v1(env, x_size, y_size, linear_interp)`` (x is the
    width), so ``(H, W, C)`` becomes ``(y_size, x_size, C)`` and ``(C, H, W)`` becomes
    ``(C, y_size, x_size)``; the dtype is kept (uint8 stays uint8). Bilinear interpolation
    samples at pixel centres like OpenCV, Pillow and torch (``align_corners=False``, without
    antialiasing); nearest neighbour picks the pixel whose centre is nearest. Declared bounds
    contain every output. Heterogeneous agents: each agent's images are resized from their own
    shape. Implemented in numpy (no compiled dependency); see docs/preprocessing.md for its speed
    against SuperSuit's tinyscaler.

    Args:
        env: A PettingZoo ParallelEnv or AECEnv whose agents observe images.
        x_size: Output width (columns).
        y_size: Output height (rows).
        linear_interp: Bilinear (True) or nearest neighbour (False).
        channels: Where the channels of rank-3 images are: ``"auto"``, ``"last"`` or ``"first"``.

    Returns:
        The same kind of env with resized image observations.

    Raises:
        TypeError: if ``env`` is not a PettingZoo env, a size is not an int, or ``linear_interp``
            not a bool.
        ValueError: for sizes below 1, an unknown ``channels``, or a Box that is not an image.
        NotImplementedError: for an agent whose observation space is not a Box.

    Example:
        >>> from pettingzoo.butterfly import pistonball_v6
        >>> env = resize(pistonball_v6.parallel_env(), 84, 84)
        >>> env.observation_space("piston_0")
        Box(0, 255, (84, 84, 3), uint8)
    """
    check_env(env, "resize")
    size = (check_positive_int("resize", "y_size", y_size), check_positive_int("resize", "x_size", x_size))
    if not isinstance(linear_interp, bool):
        raise TypeError(f"resize: linear_interp must be a bool, got {linear_interp!r}")
    check_channels("resize", channels)
    agents = list(env.possible_agents)
    inner = {a: env.observation_space(a) for a in agents}
    obs_spaces: dict[Any, spaces.Space] = {}
    obs_fns: dict[Any, Any] = {}
    for a in agents:
        obs_spaces[a], obs_fns[a] = _resizer(a, inner[a], size, linear_interp, channels)
    transform = AgentTransform(
        name="resize",
        observation_spaces=obs_spaces,
        action_spaces={a: env.action_space(a) for a in agents},
        obs_fns=obs_fns,
        inner_observation_spaces=inner,
    )
    return wrap(env, transform)
