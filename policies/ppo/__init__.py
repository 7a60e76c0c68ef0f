"""Sharing policies for SB3's on-policy actor-critics: PPO, A2C and sb3-contrib's TRPO.

``from policies.ppo import PrunedMaskPolicy`` is the whole API; every class takes SB3's
``ActorCriticPolicy`` arguments plus its method's options. sb3-contrib's ``TRPO`` trains the
classes unchanged (tested for every class, Discrete and Box actions, sparse ones included): its
natural-gradient step covers the parameters whose names do not contain ``value``, i.e. the actor
head, the trunk and SePS's per-cluster ``log_std``, and its critic steps go through the policy's
optimizer. For sb3-contrib's RecurrentPPO see :mod:`policies.recurrent`.
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
