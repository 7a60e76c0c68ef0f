"""What every SB3 policy family of the sharing methods has in common.

:class:`SharingPolicyMixin` goes between a method's option mixin and SB3's policy class
(``class FullSharingPolicy(FullSharingOptions, SharingActorCriticPolicy)``, where
``SharingActorCriticPolicy(SharingPolicyMixin, ActorCriticPolicy)``). It reads the slot layout
from the observation space, binds the method to it, and replaces SB3's
``make_features_extractor`` (called by every family for every network: actor, critic, Q-network,
target) with one that builds the method's trunk inside a
:class:`~policies.core.extractor.SlotFeaturesExtractor`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from policies.core.extractor import SlotFeaturesExtractor, TrunkFactory, make_trunk_factory
from policies.methods.base import SharingMethod
from ps_wrappers.layout import AnyLayout, SlotLayout, get_layout

__all__ = ["SharingPolicyMixin", "actor_output_dim", "check_action_space"]


def check_action_space(action_space: spaces.Space, layout: AnyLayout, owner: str) -> None:
    """Check that the action space matches the layout's action-mask segment.

    Raises:
        TypeError: for an unsupported action space.
        ValueError: if the mask length does not match the action space.
    """
    if isinstance(action_space, spaces.Discrete):
        expected: int | None = int(action_space.n)
    elif isinstance(action_space, spaces.MultiDiscrete):
        expected = int(action_space.nvec.sum())
    elif isinstance(action_space, (spaces.Box, spaces.MultiBinary)):
        expected = 0
    else:
        raise TypeError(
            f"{owner} supports Discrete, MultiDiscrete, Box and MultiBinary actions, got {action_space!r}"
        )
    if layout.n_actions != expected:
        raise ValueError(
            f"{owner}: the observation's action mask has {layout.n_actions} entries but the action "
            f"space {action_space!r} needs {expected}; the observation and action spaces must come "
            "from the same ps_wrappers.make_vec_env"
        )


def actor_output_dim(action_space: spaces.Space) -> int:
    """Size of the distribution parameters: logits (Discrete, MultiDiscrete, MultiBinary) or means (Box)."""
    if isinstance(action_space, spaces.Discrete):
        return int(action_space.n)
    if isinstance(action_space, spaces.MultiDiscrete):
        return int(action_space.nvec.sum())
    return int(np.prod(action_space.shape or (1,)))


class SharingPolicyMixin:
    """Layout, method binding and the trunk extractor, for any SB3 ``BasePolicy`` subclass.

    Call :meth:`_setup_sharing` in ``__init__`` before SB3's ``__init__`` (which builds the
    features extractors).

    Attributes:
        sharing: The method object (set by the option mixin).
        layout: The observation's slot layout.
    """

    sharing: SharingMethod
    layout: AnyLayout
    observation_space: spaces.Space

    def _setup_sharing(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        features_extractor_class: type | None,
        features_extractor_kwargs: dict[str, Any] | None,
    ) -> None:
        owner = type(self).__name__
        self.layout = get_layout(observation_space, owner=owner)
        check_action_space(action_space, self.layout, owner)
        self.sharing.bind(self.layout, owner)
        self._trunk_factory: TrunkFactory = make_trunk_factory(
            observation_space, features_extractor_class, features_extractor_kwargs, owner
        )

    def make_features_extractor(self) -> SlotFeaturesExtractor:
        """A fresh :class:`SlotFeaturesExtractor` with the method's trunk (SB3 template method)."""
        return SlotFeaturesExtractor(self.observation_space, self.sharing.trunk(self._trunk_factory))

    @property
    def latent_layout(self) -> SlotLayout:
        """The flat layout of the features extractor's output rows."""
        return self.make_latent_layout()

    def make_latent_layout(self) -> SlotLayout:
        """The latent layout (trunk output width from the first features extractor)."""
        extractor = getattr(self, "features_extractor", None) or getattr(self, "pi_features_extractor", None)
        if not isinstance(extractor, SlotFeaturesExtractor):
            raise RuntimeError(f"{type(self).__name__}: the features extractor is not built yet")
        return extractor.latent_layout

    def _method_kwargs(self) -> dict[str, Any]:
        """The method options as constructor keyword arguments (the option mixin refines this)."""
        return self.sharing.options()

    def _check_acting_rows(self, obs: Any) -> None:
        """Refuse rescaled indicator segments where the policy acts (``forward`` / ``_predict``)."""
        self.layout.check_indicators(obs, type(self).__name__)

    def _acting_mask(self, obs: Any) -> torch.Tensor:
        """``[B]`` bool: which rows act (placeholders are rows of dead or waiting agents)."""
        return self.layout.acting(obs) > 0.5
