"""SePS: agents grouped into clusters, one network per cluster (Christianos et al., 2021).

Agent ``i`` is controlled by network ``mu(i)``; only agents of one cluster share parameters. With
a trunk (images), every cluster has its own copy of the trunk by default, as separate networks
would (section 3); ``share_trunk=True`` shares one trunk across clusters and separates only the
heads, trading identifiability for ``K - 1`` fewer trunks to train.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from policies.clustering.clustering import ClusterSpec, resolve_clusters
from policies.core.extractor import TrunkFactory
from policies.core.heads import AgentConditionedMLP, RoutedMLP
from policies.core.trunks import RoutedTrunk, Trunk
from policies.methods.base import SharingMethod, need_agent_ids
from ps_wrappers.layout import AnyLayout

__all__ = ["SelectiveSharing"]


class SelectiveSharing(SharingMethod):
    """SePS: ``K`` separate networks (trunks and heads), routed by the agent's cluster.

    Args:
        clusters: ``"type"`` (default: by agent name, :func:`policies.agent_types`), ``"agent"``
            (one network per agent, NoPS), a :class:`policies.ClusterResult` from
            :func:`policies.cluster_agents` (the paper's VAE + k-means), a cluster id per agent,
            or ``{agent name: cluster id}``.
        share_trunk: One trunk for all clusters (only the heads are per cluster).
        route_all_max_rows: Up to ``K x batch`` rows, run all ``K`` heads and pick; above, route
            rows in blocks (see :class:`~policies.core.heads.RoutedMLP`).
    """

    name = "seps"

    def __init__(self, clusters: ClusterSpec = "type", share_trunk: bool = False, route_all_max_rows: int = 0) -> None:
        self.clusters = clusters
        self.share_trunk = bool(share_trunk)
        self.route_all_max_rows = int(route_all_max_rows)

    def _check(self, layout: AnyLayout) -> None:
        need_agent_ids(layout, self.owner, "routes every row by its agent's cluster")
        self.cluster_of_agent, _ = resolve_clusters(self.clusters, layout, self.owner)

    @property
    def n_clusters(self) -> int:
        """``K``."""
        return max(self.cluster_of_agent) + 1

    def trunk(self, factory: TrunkFactory) -> Trunk:
        """One trunk per cluster (unless shared, or the trunk is the identity)."""
        first = factory(0)
        if first.is_identity or self.share_trunk or self.n_clusters == 1:
            return first
        return RoutedTrunk([first] + [factory(0) for _ in range(self.n_clusters - 1)], self.cluster_of_agent)

    def head(
        self, role: str, in_dim: int, hidden: Sequence[int], out_dim: int, activation_fn: type[nn.Module]
    ) -> AgentConditionedMLP:
        """``K`` MLPs, rows routed by cluster."""
        return RoutedMLP(
            in_dim,
            hidden,
            out_dim,
            self.layout.n_agents,
            self.cluster_of_agent,
            activation_fn,
            route_all_max_rows=self.route_all_max_rows,
        )

    def options(self) -> dict[str, Any]:
        """``clusters`` and ``share_trunk``."""
        return {"clusters": self.clusters, "share_trunk": self.share_trunk}
