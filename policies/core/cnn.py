"""CNN trunks for image slots: SB3's NatureCNN for screens, :class:`GridCNN` for small grids.

SB3's ``NatureCNN`` (Mnih et al., 2015: 8x8/4, 4x4/2, 3x3/1 convolutions) needs at least 36x36
pixels. Grid-world observations are far smaller: pursuit 7x7, MAgent2 9x9 to 13x13. For those,
:class:`GridCNN` keeps every position (3x3 convolutions, stride 1, as the MAgent baselines do) and
ends with one dense layer. :func:`default_image_trunk` picks between them by image size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, NatureCNN
from torch import nn

__all__ = ["GridCNN", "NATURE_CNN_MIN_SIZE", "default_image_trunk"]

NATURE_CNN_MIN_SIZE = 36
"""Smallest height and width that NatureCNN's three convolutions accept."""


class GridCNN(BaseFeaturesExtractor):
    """Small-image CNN: 3x3 convolutions with stride 1, then a dense layer (ReLU throughout).

    A convolution is unpadded while the image is at least 5 pixels high and wide after it, padded
    (``same``) otherwise, so 3x3 to 13x13 grids all work and large grids shrink a little.

    Args:
        observation_space: Channels-first image Box ``(C, H, W)``.
        features_dim: Width of the output layer.
        channels: Output channels of each convolution.
        kernel_size: Square kernel size of every convolution.

    Raises:
        ValueError: for a space that is not a rank-3 Box or empty ``channels``.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        features_dim: int = 256,
        channels: Sequence[int] = (32, 32),
        kernel_size: int = 3,
    ) -> None:
        if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 3:
            raise ValueError(f"GridCNN needs a channels-first image Box (C, H, W), got {observation_space!r}")
        if not channels:
            raise ValueError("GridCNN: channels must list at least one convolution width")
        super().__init__(observation_space, features_dim)
        c, h, w = (int(d) for d in observation_space.shape)
        layers: list[nn.Module] = []
        for width in channels:
            shrink = min(h, w) - (kernel_size - 1) >= 5
            pad = 0 if shrink else kernel_size // 2
            layers += [nn.Conv2d(c, int(width), kernel_size, stride=1, padding=pad), nn.ReLU()]
            c = int(width)
            if shrink:
                h, w = h - kernel_size + 1, w - kernel_size + 1
        self.cnn = nn.Sequential(*layers, nn.Flatten())
        self.linear = nn.Sequential(nn.Linear(c * h * w, features_dim), nn.ReLU())

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """Features of a batch of images ``[B, C, H, W]``."""
        return self.linear(self.cnn(observations))


def default_image_trunk(image_shape: Sequence[int]) -> type[BaseFeaturesExtractor]:
    """``NatureCNN`` for images of at least 36x36 pixels, :class:`GridCNN` for smaller ones."""
    height, width = (int(d) for d in tuple(image_shape)[1:3])
    return NatureCNN if min(height, width) >= NATURE_CNN_MIN_SIZE else GridCNN


def image_box(shape: Sequence[int], uint8: bool) -> spaces.Box:
    """A channels-first image space of ``shape`` (``[0, 255]`` uint8, or unbounded float32)."""
    if uint8:
        return spaces.Box(0, 255, tuple(int(d) for d in shape), dtype=np.uint8)
    return spaces.Box(-np.inf, np.inf, tuple(int(d) for d in shape), dtype=np.float32)
