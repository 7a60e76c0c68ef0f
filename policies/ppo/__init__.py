"""Sharing policies for SB3's on-policy actor-critics: PPO, A2C (and sb3-contrib's TRPO).

``from policies.ppo import PrunedMaskPolicy`` is the whole API; every class takes SB3's
``ActorCriticPolicy`` arguments plus its method's options.
"""

from policies.ppo.policies import (
    ClusterLogStd,
    FullSharingPolicy,
    LearnedMaskPolicy,
    PrunedMaskPolicy,
    SelectiveSharingPolicy,
    SharingActorCriticPolicy,
    SlotActorCriticExtractor,
    SparseEvolvedPolicy,
    SparsePrunedMaskPolicy,
    SparseSelectiveSharingPolicy,
)

__all__ = [
    "ClusterLogStd",
    "FullSharingPolicy",
    "LearnedMaskPolicy",
    "PrunedMaskPolicy",
    "SelectiveSharingPolicy",
    "SharingActorCriticPolicy",
    "SlotActorCriticExtractor",
    "SparseEvolvedPolicy",
    "SparsePrunedMaskPolicy",
    "SparseSelectiveSharingPolicy",
]
