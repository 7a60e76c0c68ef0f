"""Sharing policies for SB3's DQN, and :class:`MaskedDQN` (masked warm-up and epsilon exploration).

``from policies.dqn import FullSharingPolicy`` gives the DQN policy of a method under the same
name as in every family (``FullSharingPolicy``, ``SelectiveSharingPolicy``, ``PrunedMaskPolicy``,
``SparseEvolvedPolicy``, ``LearnedMaskPolicy``); the ``...QPolicy`` names are the same classes.
"""

from policies.dqn.masked_dqn import MaskedDQN
from policies.dqn.policies import (
    AgentQNetwork,
    FullSharingQPolicy,
    LearnedMaskQPolicy,
    MaskedExplorationWarning,
    PrunedMaskQPolicy,
    SelectiveSharingQPolicy,
    SharingQPolicy,
    SparseEvolvedQPolicy,
    SparsePrunedMaskQPolicy,
    SparseSelectiveSharingQPolicy,
)

FullSharingPolicy = FullSharingQPolicy
SelectiveSharingPolicy = SelectiveSharingQPolicy
PrunedMaskPolicy = PrunedMaskQPolicy
LearnedMaskPolicy = LearnedMaskQPolicy
SparseEvolvedPolicy = SparseEvolvedQPolicy

__all__ = [
    "AgentQNetwork",
    "FullSharingPolicy",
    "FullSharingQPolicy",
    "LearnedMaskPolicy",
    "LearnedMaskQPolicy",
    "MaskedDQN",
    "MaskedExplorationWarning",
    "PrunedMaskPolicy",
    "PrunedMaskQPolicy",
    "SelectiveSharingPolicy",
    "SelectiveSharingQPolicy",
    "SharingQPolicy",
    "SparseEvolvedPolicy",
    "SparseEvolvedQPolicy",
    "SparsePrunedMaskQPolicy",
    "SparseSelectiveSharingQPolicy",
]
