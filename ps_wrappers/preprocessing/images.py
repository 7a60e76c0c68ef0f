"""What the image wrappers share: argument checks and where an image's channels are.

An image observation is a Box of rank 2 (``(H, W)``, one channel) or rank 3 (``(H, W, C)`` or
``(C, H, W)``). The channel axis of a rank-3 Box follows :func:`ps_wrappers.agent_indicator`'s
rule, so the wrappers and indicator planes agree: ``channels="auto"`` takes the first axis for
shapes like ``(C, H, W)`` with ``C <= 4 < W`` and the last axis otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from gymnasium import spaces

from ps_wrappers.agent_indication import _channel_axis
from ps_wrappers.space_padding import box_of

__all__ = [
    "box_of","Channels", "ImageAxes", "check_channels", "check_positive_int", "image_axes", "round_to_int"]

Channels = Literal["auto", "last", "first"]


@dataclass(frozen=True)
class ImageAxes:
    """Where height, width and channels are in an image observation.

    Attributes:
        height: Axis of the rows.
        width: Axis of the columns.
        channel: Axis of the channels, or ``None`` for a rank-2 (single-channel) image.
    """

    height: int
    width: int
    channel: int | None

    @property
    def channels_first(self) -> bool:
        """Whether the channel axis comes first (``(C, H, W)``)."""
        return self.channel == 0


def check_channels(wrapper: str, channels: Any) -> None:
    """Raise ``ValueError`` unless ``channels`` is ``"auto"``, ``"last"`` or ``"first"``."""
    if channels not in ("auto", "last", "first"):
        raise ValueError(
            f"{wrapper}: channels must be 'auto', 'last' (H, W, C) or 'first' (C, H, W), got {channels!r}"
        )


def check_positive_int(wrapper: str, name: str, value: Any) -> int:
    """``value`` as an int; ``TypeError`` for non-integers (bools included), ``ValueError`` if < 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{wrapper}: {name} must be a positive int, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{wrapper}: {name} must be a positive int, got {value}")
    return value


def image_axes(wrapper: str, agent: Any, space: spaces.Space, channels: Channels) -> ImageAxes:
    """The axes of ``agent``'s image observation space.

    Raises:
        NotImplementedError: if ``space`` is not a Box.
        ValueError: if the Box is not of rank 2 or 3.
    """
    if not isinstance(space, spaces.Box):
        raise NotImplementedError(
            f"{wrapper}: the observation space of agent {agent!r} is {space}; only image "
            "observations (a Box of shape (H, W), (H, W, C) or (C, H, W)) are supported. Apply "
            f"{wrapper} to an env with image observations, or convert them first."
        )
    rank = len(space.shape)
    if rank == 2:
        return ImageAxes(0, 1, None)
    if rank != 3:
        raise ValueError(
            f"{wrapper}: the observation space of agent {agent!r} is {space} of rank {rank}; an "
            "image must have shape (H, W), (H, W, C) or (C, H, W)."
        )
    channel = _channel_axis(space, channels)
    return ImageAxes(1, 2, 0) if channel == 0 else ImageAxes(0, 1, 2)


def round_to_int(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float ``values`` rounded to nearest and cast to the integer ``dtype``, saturating at its
    range (a float64 blend of int64 extremes can round past ``iinfo.max``; the cast would wrap)."""
    info = np.iinfo(dtype)
    high = float(info.max)
    if int(high) > info.max:  # 2**63 - 1 rounds up to 2**63 in float64
        high = float(np.nextafter(high, 0.0))
    out = np.rint(values)
    np.clip(out, float(info.min), high, out=out)
    return out.astype(dtype)

