"""Image observations: which spaces are images, and writing them channels-first into slot buffers.

An observation is an image when it is a rank-3 Box (any dtype) or a rank-2 ``uint8`` Box (one
channel), or a Dict whose only entry besides ``action_mask`` is one. Channels first or last is
decided as SB3's ``is_image_space_channels_first`` does (the smallest axis holds the channels),
unless ``make_vec_env(images=...)`` forces it. Images keep their dtype and are written
channels-first into a preallocated ``[rows, C, H, W]`` buffer, many rows at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from gymnasium import spaces

from ps_wrappers.encoding import OutOfSpace, make_checker, values_ok
from ps_wrappers.space_padding import box_of

__all__ = ["ImageMode", "ImageSpec", "ImageFeatures", "check_image_mode", "find_image"]

ImageMode = Literal["auto", "channels_last", "channels_first", "flatten"]
_MODES = ("auto", "channels_last", "channels_first", "flatten")


@dataclass(frozen=True)
class ImageSpec:
    """Where an observation's image is and how it maps to ``(C, H, W)``.

    Attributes:
        space: The image's Box as the env emits it (after padding).
        key: The Dict entry holding the image, or None when the observation is the image.
        channels_last: Whether the env's axes are ``(H, W, C)`` (else ``(C, H, W)``, or ``(H, W)``).
    """

    space: spaces.Box
    key: str | None
    channels_last: bool

    @property
    def chw(self) -> tuple[int, int, int]:
        """The channels-first shape written into the slot."""
        shape = tuple(int(s) for s in self.space.shape)
        if len(shape) == 2:
            return (1, shape[0], shape[1])
        return (shape[2], shape[0], shape[1]) if self.channels_last else (shape[0], shape[1], shape[2])

    def to_chw(self, array: np.ndarray) -> np.ndarray:
        """A view of env-layout images ``[..., *space.shape]`` as ``[..., C, H, W]``."""
        lead = array.shape[: array.ndim - len(self.space.shape)]
        if len(self.space.shape) == 2:
            return array.reshape(*lead, 1, *self.space.shape)
        if self.channels_last:
            k = len(lead)
            return array.transpose(*range(k), k + 2, k, k + 1)
        return array

    def chw_space(self) -> spaces.Box:
        """The channels-first Box of the slot's ``"image"`` entry (bounds transposed)."""
        low = self.to_chw(np.asarray(self.space.low))
        high = self.to_chw(np.asarray(self.space.high))
        return box_of(np.ascontiguousarray(low), np.ascontiguousarray(high), self.space.dtype)


def check_image_mode(mode: Any) -> None:
    """Raise ``ValueError`` unless ``mode`` is one of the ``images=`` options of ``make_vec_env``."""
    if mode not in _MODES:
        raise ValueError(f"make_vec_env: images must be one of {_MODES}, got {mode!r}")


def _is_image(space: spaces.Space) -> bool:
    if not isinstance(space, spaces.Box):
        return False
    return len(space.shape) == 3 or (len(space.shape) == 2 and space.dtype == np.uint8)


def find_image(space: spaces.Space, mode: ImageMode = "auto") -> ImageSpec | None:
    """The :class:`ImageSpec` of an observation space, or None when it is not an image.

    Raises:
        ValueError: for an unknown ``mode``, or a forced channel order on a non-image space.
    """
    check_image_mode(mode)
    if mode == "flatten":
        return None
    key: str | None = None
    image = space
    if isinstance(space, spaces.Dict):
        keys = [k for k in space.spaces if k != "action_mask"]
        if len(keys) == 1 and _is_image(space.spaces[keys[0]]):
            key, image = keys[0], space.spaces[keys[0]]
    if not _is_image(image):
        if mode != "auto":
            raise ValueError(
                f"make_vec_env: images={mode!r} but the observation space {space} is not an image "
                "(a rank-3 Box, a rank-2 uint8 Box, or a Dict of one such Box and an action_mask); "
                "leave images='auto'"
            )
        return None
    assert isinstance(image, spaces.Box)
    if len(image.shape) == 2:
        channels_last = False
    elif mode == "auto":
        channels_last = int(np.argmin(image.shape)) != 0  # SB3's is_image_space_channels_first
    else:
        channels_last = mode == "channels_last"
    return ImageSpec(image, key, channels_last)


def _full_range(space: spaces.Box) -> bool:
    """Integer images whose bounds are the dtype's whole range cannot hold an invalid value."""
    if not np.issubdtype(space.dtype, np.integer):
        return False
    info = np.iinfo(space.dtype)  # type: ignore[type-var]
    return bool((space.low == info.min).all() and (space.high == info.max).all())


class ImageFeatures:
    """Writes env images channels-first into ``images[rows]`` and checks them against their bounds."""

    def __init__(self, spec: ImageSpec, images: np.ndarray, low: np.ndarray | None = None, high: np.ndarray | None = None) -> None:
        """``images``: the ``[R, C, H, W]`` buffer; ``low``/``high``: per-agent bounds ``[N, *shape]``."""
        self.spec = spec
        self.images = images
        self.shape = tuple(spec.space.shape)
        self.dtype = spec.space.dtype
        self._scratch = np.empty((images.shape[0], *self.shape), self.dtype)
        self._flat = self._scratch.reshape(-1, *self.shape[1:])
        self._per_agent = low is not None
        self.low = spec.space.low if low is None else low
        self.high = spec.space.high if high is None else high
        self._checker = None if self._per_agent else make_checker(self.low, self.high)
        self._check = self._per_agent or not _full_range(spec.space)
        self._casting: Any = "safe" if np.issubdtype(self.dtype, np.integer) else "same_kind"

    def _image(self, obs: Any) -> Any:
        key = self.spec.key
        if key is None:
            return obs
        if not isinstance(obs, dict) or key not in obs:
            raise OutOfSpace
        return obs[key]

    def write(self, rows: slice | np.ndarray, agents: slice | np.ndarray, observations: list) -> None:
        """Write the images of ``observations`` into ``rows`` (agents ``agents``), all at once.

        Raises:
            OutOfSpace: if one has another shape or dtype kind, or a value outside its bounds.
        """
        images = [self._image(o) for o in observations] if self.spec.key is not None else observations
        m = len(images)
        if m == 0:
            return
        try:
            shapes = [i.shape for i in images]
        except AttributeError:
            raise OutOfSpace from None
        if shapes.count(self.shape) != m:
            raise OutOfSpace
        block = self._scratch[:m]
        try:
            np.concatenate(images, out=self._flat[: m * self.shape[0]], casting=self._casting)
        except TypeError:
            raise OutOfSpace from None
        self.write_block(rows, agents, block)

    def write_block(self, rows: slice | list[int] | np.ndarray, agents: slice | list[int] | np.ndarray, block: np.ndarray) -> None:
        """Check ``block`` (env-layout images ``[m, *shape]`` of the space's dtype) and write it channels-first.

        The path of an env that hands over a whole team's images as one array (see
        :mod:`ps_wrappers.magent_runner`); :meth:`write` gathers single observations into such a block.

        Raises:
            OutOfSpace: if a value is outside its bounds.
        """
        if self._check:
            if self._checker is not None:
                ok = self._checker(block)
            else:
                ok = values_ok(block, self.low[agents], self.high[agents], None)
            if not ok:
                raise OutOfSpace
        self.images[rows] = self.spec.to_chw(block)

    def zero(self, row: int) -> None:
        """Blank one row (a placeholder)."""
        self.images[row] = 0
