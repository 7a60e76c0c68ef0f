"""Identity clustering (SePS, AdaPS): the identity VAE, k-means and the choice of ``K``."""

from policies.clustering.clustering import (
    CRITERIA,
    ClusterResult,
    ClusterSpec,
    agent_types,
    cluster_agents,
    resolve_clusters,
)
from policies.clustering.vae import IdentityVAE

__all__ = [
    "CRITERIA",
    "ClusterResult",
    "ClusterSpec",
    "IdentityVAE",
    "agent_types",
    "cluster_agents",
    "resolve_clusters",
]
