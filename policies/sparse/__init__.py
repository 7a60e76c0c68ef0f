"""Sparse training: RigL-evolved sparse weights for any sharing policy (MAST section 4.1), FLOPs."""

from policies.sparse.flops import FlopsReport, flops_report
from policies.sparse.mixin import SPARSE_DEFAULTS, SparseEvolutionMixin, sparse_evolved
from policies.sparse.topology import SparseTopology
from policies.sparse.training import SparseMetricsCallback, set_evolution_horizon

__all__ = [
    "SPARSE_DEFAULTS",
    "FlopsReport",
    "SparseEvolutionMixin",
    "SparseMetricsCallback",
    "SparseTopology",
    "flops_report",
    "set_evolution_horizon",
    "sparse_evolved",
]
