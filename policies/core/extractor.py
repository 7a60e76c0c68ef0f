"""The bridge between slot observations and SB3: a features extractor that runs the method's trunk.

SB3 gives every policy a features extractor (``features_extractor_class`` /
``features_extractor_kwargs``), run on the preprocessed observation before the MLP part. In the
sharing policies that slot holds a :class:`SlotFeaturesExtractor`: it splits the slot observation
(flat row or image dict, :mod:`ps_wrappers.layout`) into features, agent one-hot, acting flag and
action mask, runs the (agent-conditioned) trunk on the features, and returns one flat *latent*
row in the flat slot layout::

    [ trunk features (F) | agent one-hot (N) | acting flag (1) | action mask (M) ]

so everything after it (the method's head networks, masking, the acting flag) reads rows the same
way for vectors and images, in every SB3 family. For vectors with the default
``FlattenExtractor`` the trunk is the identity and the observation is returned unchanged: no copy,
no cost.

``features_extractor_class`` of a sharing policy is the class of the *plain* trunk, built on the
feature part only (the image ``(C, H, W)`` or the ``D`` features), like SB3's extractors:
``None`` (default) picks ``FlattenExtractor`` for vectors, ``NatureCNN`` for images of at least
36x36 and :class:`~policies.core.cnn.GridCNN` for smaller ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, FlattenExtractor, NatureCNN

from policies.core.cnn import GridCNN, default_image_trunk, image_box
from policies.core.trunks import ExtractorTrunk, Trunk
from ps_wrappers.layout import AnyLayout, ImageSlotLayout, SlotLayout, get_layout

__all__ = ["SlotFeaturesExtractor", "TrunkFactory", "make_trunk_factory", "resolve_trunk_class"]

TrunkFactory = Callable[[int], Trunk]
"""``factory(extra_channels) -> Trunk``: a fresh plain trunk, with extra input image channels."""


def resolve_trunk_class(layout: AnyLayout, trunk_class: type | None, owner: str) -> type:
    """The plain trunk class for a layout: ``trunk_class``, or the default for vectors / images.

    Raises:
        TypeError: if ``trunk_class`` is not a class.
    """
    if trunk_class is None:
        return default_image_trunk(layout.feature_shape) if layout.is_image else FlattenExtractor
    if not isinstance(trunk_class, type):
        raise TypeError(
            f"{owner}: features_extractor_class must be a class (an SB3 BaseFeaturesExtractor subclass "
            f"built as cls(observation_space, **features_extractor_kwargs)), got {trunk_class!r}"
        )
    return trunk_class


def feature_space(observation_space: spaces.Space, layout: AnyLayout, extra_channels: int = 0) -> spaces.Box:
    """The space of the feature part of a slot observation (with ``extra_channels`` more planes)."""
    if isinstance(layout, ImageSlotLayout):
        c, h, w = layout.image_shape
        return image_box((c + extra_channels, h, w), layout.is_uint8)
    assert isinstance(observation_space, spaces.Box)
    d = layout.feature_dim
    return spaces.Box(observation_space.low[:d], observation_space.high[:d], dtype=np.float32)


def make_trunk_factory(
    observation_space: spaces.Space,
    trunk_class: type | None,
    trunk_kwargs: dict[str, Any] | None,
    owner: str,
) -> TrunkFactory:
    """A factory of plain trunks of ``trunk_class`` on the feature part of ``observation_space``.

    Raises:
        ValueError: when the class cannot be built on the features (e.g. NatureCNN on a small
            grid or on vectors), naming the class, the feature space and the fix.
    """
    layout = get_layout(observation_space, owner)
    cls = resolve_trunk_class(layout, trunk_class, owner)
    kwargs = dict(trunk_kwargs or {})
    if cls is NatureCNN and isinstance(layout, ImageSlotLayout) and not layout.is_uint8:
        kwargs.setdefault("normalized_image", True)  # float images: no uint8 / bounds check

    def factory(extra_channels: int = 0) -> Trunk:
        space = feature_space(observation_space, layout, extra_channels)
        try:
            extractor = cls(space, **kwargs)
        except (AssertionError, RuntimeError, ValueError) as err:
            hint = (
                f"use {GridCNN.__module__}.GridCNN (the default below 36x36) or resize the images "
                "(ps_wrappers.resize)"
                if layout.is_image
                else "for vector observations use FlattenExtractor (the default) or an MLP extractor"
            )
            raise ValueError(
                f"{owner}: features_extractor_class={cls.__name__} cannot be built on the slot "
                f"features {space} ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); {hint}"
            ) from err
        if not isinstance(getattr(extractor, "features_dim", None), int):
            raise TypeError(
                f"{owner}: features_extractor_class={cls.__name__} must define an int features_dim "
                "(subclass stable_baselines3.common.torch_layers.BaseFeaturesExtractor)"
            )
        return ExtractorTrunk(extractor, flat_input=not layout.is_image)

    return factory


class SlotFeaturesExtractor(BaseFeaturesExtractor):
    """SB3 features extractor of the sharing policies: slot observation -> latent row.

    Args:
        observation_space: The vec env's ``SlotBox`` or ``SlotDict``.
        trunk: The method's trunk (from :meth:`policies.methods.SharingMethod.trunk`).

    Attributes:
        layout: The observation's slot layout.
        latent_layout: The flat layout of the output rows (features = trunk output).
    """

    def __init__(self, observation_space: spaces.Space, trunk: Trunk) -> None:
        layout = get_layout(observation_space, type(self).__name__)
        latent = layout.latent(trunk.features_dim)
        super().__init__(observation_space, latent.total_dim)
        self.layout = layout
        self.latent_layout: SlotLayout = latent
        self.trunk = trunk
        self._passthrough = isinstance(layout, SlotLayout) and trunk.is_identity

    def forward(self, observations: Any) -> torch.Tensor:
        """The latent rows ``[B, F + N + 1 + M]`` of a batch of (preprocessed) slot observations."""
        if self._passthrough:
            return observations
        features, one_hot, acting, mask = self.layout.split(observations)
        z = self.trunk(features, one_hot)
        return torch.cat([z, one_hot.to(z.dtype), acting.to(z.dtype), mask.to(z.dtype)], dim=-1)
