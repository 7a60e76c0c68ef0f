"""Sharing policies for SB3's TD3 and DDPG.

``from policies.td3 import PrunedMaskPolicy`` is the whole API; every class takes SB3's
``TD3Policy`` arguments plus its method's options and trains with SB3's ``TD3`` or ``DDPG``.
"""

from policies.td3.policies import (
    FullSharingPolicy,
    LearnedMaskPolicy,
    PrunedMaskPolicy,
    SelectiveSharingPolicy,
    SharingTD3Actor,
    SharingTD3Policy,
    SparseEvolvedPolicy,
    SparsePrunedMaskPolicy,
    SparseSelectiveSharingPolicy,
)

__all__ = [
    "FullSharingPolicy",
    "LearnedMaskPolicy",
    "PrunedMaskPolicy",
    "SelectiveSharingPolicy",
    "SharingTD3Actor",
    "SharingTD3Policy",
    "SparseEvolvedPolicy",
    "SparsePrunedMaskPolicy",
    "SparseSelectiveSharingPolicy",
]
