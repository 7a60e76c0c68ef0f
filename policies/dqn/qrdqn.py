"""Sharing policies for sb3-contrib's QR-DQN (masked quantiles) and :class:`MaskedQRDQN`.

The quantile network is the method's head of role ``"q"`` with ``n_quantiles x n`` outputs, the
target built the same way (same masks and cluster map). Every quantile of an invalid action is
set to the dtype's lowest finite value (:func:`~policies.core.action_masks.mask_scores`), so
the greedy action (the argmax of the mean over quantiles, acting and evaluation) and QR-DQN's
target action on the next observation are always valid. (The mean over quantiles of an invalid
action overflows to ``-inf``, which ``argmax`` and ``max`` order correctly; the gathered target
and current quantiles are those of valid actions, hence finite.)

:class:`MaskedQRDQN` is sb3-contrib's QR-DQN with masked warm-up and per-row masked epsilon
exploration, the same code as :class:`policies.MaskedDQN`
(:class:`~policies.dqn.exploration.MaskedExplorationMixin`).

Example:
    >>> from policies.dqn import MaskedQRDQN, QuantilePrunedMaskPolicy
    >>> model = MaskedQRDQN(QuantilePrunedMaskPolicy, venv, seed=0).learn(50_000)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from sb3_contrib import QRDQN
from sb3_contrib.qrdqn.policies import QRDQNPolicy, QuantileNetwork
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from torch import nn

from policies.core.action_masks import mask_scores
from policies.core.extractor import SlotFeaturesExtractor
from policies.core.heads import AgentConditionedMLP
from policies.dqn.exploration import MaskedExplorationMixin
from policies.dqn.policies import ExplorationCheck, ValueSharingMixin
from policies.methods.options import (
    FullSharingOptions,
    LearnedMaskOptions,
    SelectiveSharingOptions,
    ValuePruningOptions,
)
from policies.sparse.mixin import SparseEvolutionMixin, SparsePart
from ps_wrappers.layout import SlotLayout

__all__ = [
    "AgentQuantileNetwork",
    "FullSharingPolicy",
    "LearnedMaskPolicy",
    "MaskedQRDQN",
    "PrunedMaskPolicy",
    "QuantileFullSharingPolicy",
    "QuantileLearnedMaskPolicy",
    "QuantilePrunedMaskPolicy",
    "QuantileSelectiveSharingPolicy",
    "QuantileSparseEvolvedPolicy",
    "QuantileSparsePrunedMaskPolicy",
    "QuantileSparseSelectiveSharingPolicy",
    "SelectiveSharingPolicy",
    "SharingQuantilePolicy",
    "SparseEvolvedPolicy",
    "SparsePrunedMaskPolicy",
    "SparseSelectiveSharingPolicy",
]


class MaskedQRDQN(MaskedExplorationMixin, QRDQN):
    """sb3-contrib's QR-DQN with masked warm-up and per-row masked epsilon-greedy exploration.

    Takes exactly ``QRDQN``'s arguments; with an env that carries no slot layout it is QR-DQN.
    """


class AgentQuantileNetwork(ExplorationCheck, QuantileNetwork):
    """sb3-contrib's ``QuantileNetwork`` over slot observations: masked quantiles ``[B, Q, n]``.

    Args:
        network: The agent-conditioned network ``(features, one-hot) -> Q x n`` quantiles.
        layout: The latent layout of the features extractor's rows.
        owner: Policy class name (for messages).
        (others as sb3-contrib's ``QuantileNetwork``)
    """

    algorithm_hint = "dqn.MaskedQRDQN"

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        network: AgentConditionedMLP,
        layout: SlotLayout,
        owner: str = "SharingQuantilePolicy",
        n_quantiles: int = 200,
        net_arch: list[int] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
    ) -> None:
        BasePolicy.__init__(
            self, observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
        )
        self.net_arch = list(net_arch or [])
        self.activation_fn = activation_fn
        self.features_dim = features_dim
        self.n_quantiles = int(n_quantiles)
        self.quantile_net = network  # type: ignore[assignment]
        self.layout = layout
        self.owner = owner
        self.masked_exploration = False
        self._warned = False

    def forward(self, obs: PyTorchObs) -> torch.Tensor:
        """Quantiles ``[B, n_quantiles, n]``; every quantile of an invalid action is masked."""
        features, one_hot, acting, mask = self.layout.split(self.extract_features(obs, self.features_extractor))
        self._check_batch(acting, mask)
        quantiles = self.quantile_net(features, one_hot).view(-1, self.n_quantiles, int(self.action_space.n))
        return mask_scores(quantiles, mask.unsqueeze(1))

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(network=self.quantile_net, layout=self.layout, owner=self.owner)
        return data


class SharingQuantilePolicy(ValueSharingMixin, QRDQNPolicy):
    """``QRDQNPolicy`` whose quantile network (and target) is an agent-conditioned network.

    Takes sb3-contrib's ``QRDQNPolicy`` arguments (defaults: ``n_quantiles=200``,
    ``net_arch=[64, 64]``, ReLU). Actions must be Discrete (padded).

    Raises:
        TypeError: if the observation space is not a vec env's ``SlotBox`` / ``SlotDict`` or the
            actions are not Discrete.
    """

    quantile_net: AgentQuantileNetwork
    quantile_net_target: AgentQuantileNetwork

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        features_extractor_class: type | None = None,
        features_extractor_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._setup_value_sharing(
            observation_space, action_space, features_extractor_class, features_extractor_kwargs, "QR-DQN"
        )
        super().__init__(
            observation_space,
            action_space,  # type: ignore[arg-type]
            lr_schedule,
            features_extractor_class=features_extractor_class,  # type: ignore[arg-type]
            features_extractor_kwargs=features_extractor_kwargs,
            **kwargs,
        )

    def make_quantile_net(self) -> AgentQuantileNetwork:
        """A fresh quantile network (role ``"q"``: the target gets the same masks)."""
        net_args = self._update_features_extractor(self.net_args, features_extractor=None)
        extractor: SlotFeaturesExtractor = net_args["features_extractor"]
        latent = extractor.latent_layout
        n_out = int(self.action_space.n) * self.n_quantiles  # type: ignore[attr-defined]
        network = self.sharing.head("q", latent.feature_dim, list(self.net_arch), n_out, self.activation_fn)
        net = AgentQuantileNetwork(network=network, layout=latent, owner=type(self).__name__, **net_args)
        return net.to(self.device)

    def _build(self, lr_schedule: Schedule) -> None:
        super()._build(lr_schedule)
        self.sharing.after_build(self, self.optimizer)

    def _value_networks(self) -> tuple[ExplorationCheck, ...]:
        return (self.quantile_net, self.quantile_net_target)

    def sparse_networks(self) -> list[SparsePart]:
        """The quantile network, mirrored by its target."""
        return [SparsePart("sparse_topology", self.quantile_net, self.optimizer, (self.quantile_net_target,))]

    @property
    def q_network(self) -> AgentConditionedMLP:
        """The online agent-conditioned network."""
        return self.quantile_net.quantile_net  # type: ignore[return-value]


class QuantileFullSharingPolicy(FullSharingOptions, SharingQuantilePolicy):
    """FuPS and FuPS+id for QR-DQN (``agent_id``; default ``False``)."""


class QuantileSelectiveSharingPolicy(SelectiveSharingOptions, SharingQuantilePolicy):
    """SePS for QR-DQN: one quantile network per cluster (``clusters``, default ``"type"``)."""


class QuantilePrunedMaskPolicy(ValuePruningOptions, SharingQuantilePolicy):
    """SNP-PS and AdaPS for QR-DQN: one quantile network, a neuron mask per agent or cluster.

    Args:
        pruning: SNP-PS ratio of pruned neurons per hidden layer (default ``0-0.1-...-0.1``).
        method, clusters, threshold, agent_id, mask_seed: As for :class:`policies.dqn.PrunedMaskPolicy`.
    """


class QuantileSparseEvolvedPolicy(SparseEvolutionMixin, QuantileFullSharingPolicy):
    """MAST-style sparse full sharing for QR-DQN; the target network mirrors the masks."""


class QuantileSparsePrunedMaskPolicy(SparseEvolutionMixin, QuantilePrunedMaskPolicy):
    """SNP-PS / AdaPS neuron masks on top of a sparse, RigL-evolved quantile network."""


class QuantileSparseSelectiveSharingPolicy(SparseEvolutionMixin, QuantileSelectiveSharingPolicy):
    """SePS (one quantile network per cluster) with sparse, RigL-evolved weights."""


class QuantileLearnedMaskPolicy(LearnedMaskOptions, SharingQuantilePolicy):
    """Kaleidoscope learned weight masks per agent on the quantile network (options as :class:`policies.LearnedMaskPolicy`)."""


# SB3's convention: the same names in every family (``from policies.dqn.qrdqn import PrunedMaskPolicy``).
FullSharingPolicy = QuantileFullSharingPolicy
SelectiveSharingPolicy = QuantileSelectiveSharingPolicy
PrunedMaskPolicy = QuantilePrunedMaskPolicy
SparseEvolvedPolicy = QuantileSparseEvolvedPolicy
SparsePrunedMaskPolicy = QuantileSparsePrunedMaskPolicy
SparseSelectiveSharingPolicy = QuantileSparseSelectiveSharingPolicy
LearnedMaskPolicy = QuantileLearnedMaskPolicy
