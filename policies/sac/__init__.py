"""Sharing policies for SB3's SAC, and :class:`MaskedSAC` (per-agent entropy targets).

``from policies.sac import PrunedMaskPolicy`` is the whole API; every class takes SB3's
``SACPolicy`` arguments plus its method's options. Train with :class:`MaskedSAC` (SB3's SAC with
each agent's own entropy target) or SB3's ``SAC``.
"""

from policies.sac.masked_sac import MaskedSAC
from policies.sac.policies import (
    FullSharingPolicy,
    LearnedMaskPolicy,
    PrunedMaskPolicy,
    SelectiveSharingPolicy,
    SharingSACActor,
    SharingSACPolicy,
    SparseEvolvedPolicy,
    SparsePrunedMaskPolicy,
    SparseSelectiveSharingPolicy,
)

__all__ = [
    "FullSharingPolicy",
    "LearnedMaskPolicy",
    "MaskedSAC",
    "PrunedMaskPolicy",
    "SelectiveSharingPolicy",
    "SharingSACActor",
    "SharingSACPolicy",
    "SparseEvolvedPolicy",
    "SparsePrunedMaskPolicy",
    "SparseSelectiveSharingPolicy",
]
