"""SNP-PS and AdaPS: one shared network, a fixed structured mask per agent or per cluster.

* SNP-PS (Kim & Sung, 2023, section 4.3, Algorithm 1): each agent loses a fixed random subset of
  the neurons of every hidden layer, ``f(x; theta ⊙ M_i)``.
* AdaPS (Li et al., 2024, section 4.3, Eq. 5): the mask of identity cluster ``k`` is
  ``d(sigmoid(f_m(z_k)))`` from a fixed random mapping network ``f_m``.

The masks act on the head's hidden neurons (:class:`~policies.core.heads.NeuronMaskedMLP`). With a
CNN trunk, ``mask_channels=True`` also masks the output channels of every convolution per agent
or cluster (:class:`~policies.core.trunks.ChannelMaskedTrunk`): channels are the structured units
of a CNN as neurons are of an MLP. Masks are drawn from ``mask_seed`` (default: from torch's RNG,
i.e. from SB3's ``seed``), a different draw per network role.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from policies.clustering.clustering import ClusterSpec, resolve_clusters
from policies.core.extractor import TrunkFactory
from policies.core.heads import AgentConditionedMLP, NeuronMaskedMLP
from policies.core.trunks import ChannelMaskedTrunk, Trunk, conv_layers
from policies.methods.base import SharingMethod, need_agent_ids, role_kind, role_seed_offset
from policies.methods.masks import ADAPS_THRESHOLD, adaps_masks, resolve_pruning, snp_ps_masks
from ps_wrappers.layout import AnyLayout

__all__ = ["PrunedMask", "Ratios", "DEFAULT_CHANNEL_PRUNING"]

Ratios = float | Sequence[float] | None
DEFAULT_CHANNEL_PRUNING = 0.1
"""SNP-PS ratio of masked channels per convolution when ``mask_channels`` is on (Table 1's 0.1)."""


class PrunedMask(SharingMethod):
    """SNP-PS (``method="snp-ps"``) or AdaPS (``method="adaps"``) neuron (and channel) masks.

    Args:
        method: ``"snp-ps"`` (a random mask per agent) or ``"adaps"`` (a mask per cluster).
        pruning: SNP-PS ratios of pruned neurons per role (``{"pi": 0.1, "vf": [0.0, 0.9]}``); a
            float for all hidden layers or one per layer; missing roles get
            :func:`policies.default_pruning`.
        argument_names: The policy argument name of each role's ratio, for error messages.
        clusters: AdaPS clusters (default ``"type"``), as for SePS.
        threshold: AdaPS drop threshold ``lambda`` (0.2).
        agent_id: Also concatenate the agent one-hot to the head's input.
        mask_seed: Seed of the masks (default: drawn from torch's global RNG).
        mask_channels: Also mask the convolution channels of the trunk.
        channel_pruning: SNP-PS ratio of masked channels per convolution (a float or one per
            convolution; default 0.1); AdaPS derives channel masks like neuron masks.
    """

    name = "snp-ps"
    METHODS = ("snp-ps", "adaps")

    def __init__(
        self,
        method: str = "snp-ps",
        pruning: Mapping[str, Ratios] | None = None,
        argument_names: Mapping[str, str] | None = None,
        clusters: ClusterSpec = None,
        threshold: float = ADAPS_THRESHOLD,
        agent_id: bool = False,
        mask_seed: int | None = None,
        mask_channels: bool = False,
        channel_pruning: Ratios = None,
    ) -> None:
        self.method = method
        self.pruning = dict(pruning or {})
        self.argument_names = dict(argument_names or {})
        self.clusters = clusters
        self.threshold = float(threshold)
        self.agent_id = bool(agent_id)
        # Drawn from torch's global RNG, which SB3 seeds with the model's `seed`.
        self.mask_seed = int(torch.randint(2**31 - 1, ()).item()) if mask_seed is None else int(mask_seed)
        self.mask_channels = bool(mask_channels)
        self.channel_pruning = channel_pruning

    def _argument(self, role: str) -> str:
        return self.argument_names.get(role_kind(role), self.argument_names.get(role, "pruning"))

    def _check(self, layout: AnyLayout) -> None:
        owner = self.owner
        if self.method not in self.METHODS:
            raise ValueError(f"{owner}: method must be 'snp-ps' or 'adaps', got {self.method!r}")
        need_agent_ids(layout, owner, "masks every row with its agent's neuron mask")
        given = sorted(self._argument(r) for r, v in self.pruning.items() if v is not None)
        if self.channel_pruning is not None:
            given.append("channel_pruning")
        if self.method == "snp-ps" and self.clusters is not None:
            raise ValueError(
                f"{owner}: clusters={self.clusters!r} is only used by method='adaps' (SNP-PS draws a "
                "random mask per agent); pass method='adaps' or drop clusters"
            )
        if self.method == "adaps" and given:
            raise ValueError(
                f"{owner}: {given} are SNP-PS pruning ratios, but method='adaps' derives its "
                "masks from the cluster centres with a threshold; drop them or set threshold=..."
            )
        if self.channel_pruning is not None and not self.mask_channels:
            raise ValueError(
                f"{owner}: channel_pruning={self.channel_pruning!r} is used only with mask_channels=True"
            )
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"{owner}: threshold must be in (0, 1), got {self.threshold}")
        if self.method == "adaps":
            self.group_of_agent, self._centres = resolve_clusters(self.clusters, layout, owner)
        else:
            self.group_of_agent = tuple(range(layout.n_agents))
            self._centres = np.eye(layout.n_agents, dtype=np.float32)

    def _masks(self, role: str, widths: Sequence[int], ratios: Ratios, argument: str) -> list[torch.Tensor]:
        seed = self.mask_seed + role_seed_offset(role)
        if self.method == "adaps":
            return adaps_masks(self._centres, widths, seed, self.threshold)
        resolved = resolve_pruning(ratios, widths, role_kind(role), self.owner, argument)
        return snp_ps_masks(self.layout.n_agents, widths, resolved, seed)

    def trunk(self, factory: TrunkFactory) -> Trunk:
        """The plain trunk, with per-agent (or per-cluster) channel masks if ``mask_channels``."""
        base = factory(0)
        if not self.mask_channels:
            return base
        widths = [int(conv.out_channels) for _, conv in conv_layers(base)]  # type: ignore[arg-type]
        if not widths:
            raise ValueError(
                f"{self.owner}: mask_channels=True masks convolution channels, but the trunk "
                f"({type(base).__name__}) has no convolution; drop mask_channels or use a CNN trunk"
            )
        ratios = DEFAULT_CHANNEL_PRUNING if self.channel_pruning is None else self.channel_pruning
        return ChannelMaskedTrunk(base, self._masks("trunk", widths, ratios, "channel_pruning"), self.group_of_agent)

    def head(
        self, role: str, in_dim: int, hidden: Sequence[int], out_dim: int, activation_fn: type[nn.Module]
    ) -> AgentConditionedMLP:
        """One MLP whose hidden neurons are masked per agent (SNP-PS) or per cluster (AdaPS)."""
        ratios = self.pruning.get(role, self.pruning.get(role_kind(role)))
        masks = self._masks(role, hidden, ratios, self._argument(role))
        return NeuronMaskedMLP(
            in_dim, hidden, out_dim, self.layout.n_agents, masks, self.group_of_agent, activation_fn, self.agent_id
        )

    def options(self) -> dict[str, Any]:
        """The method's options (ratios keyed by role)."""
        return {
            "method": self.method,
            "pruning": dict(self.pruning),
            "clusters": self.clusters,
            "threshold": self.threshold,
            "agent_id": self.agent_id,
            "mask_seed": self.mask_seed,
            "mask_channels": self.mask_channels,
            "channel_pruning": self.channel_pruning,
        }
