"""Sharing policies for SB3's DQN and sb3-contrib's QR-DQN, with masked exploration.

``from policies.dqn import FullSharingPolicy`` gives the DQN policy of a method under the same
name as in every family (``FullSharingPolicy``, ``SelectiveSharingPolicy``, ``PrunedMaskPolicy``,
``SparseEvolvedPolicy``, ``LearnedMaskPolicy``); the ``...QPolicy`` names are the same classes. Train them with
:class:`MaskedDQN` (or ``MASTDQN``). QR-DQN (masked quantiles): ``Quantile...Policy`` here, or the
same names as every family in :mod:`policies.dqn.qrdqn` (``from policies.dqn.qrdqn import
PrunedMaskPolicy``), trained with :class:`MaskedQRDQN`.
"""

from policies.dqn import qrdqn
from policies.dqn.exploration import MaskedExplorationMixin
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
from policies.dqn.qrdqn import (
    AgentQuantileNetwork,
    MaskedQRDQN,
    QuantileFullSharingPolicy,
    QuantileLearnedMaskPolicy,
    QuantilePrunedMaskPolicy,
    QuantileSelectiveSharingPolicy,
    QuantileSparseEvolvedPolicy,
    QuantileSparsePrunedMaskPolicy,
    QuantileSparseSelectiveSharingPolicy,
    SharingQuantilePolicy,
)

FullSharingPolicy = FullSharingQPolicy
SelectiveSharingPolicy = SelectiveSharingQPolicy
PrunedMaskPolicy = PrunedMaskQPolicy
LearnedMaskPolicy = LearnedMaskQPolicy
SparseEvolvedPolicy = SparseEvolvedQPolicy
SparsePrunedMaskPolicy = SparsePrunedMaskQPolicy
SparseSelectiveSharingPolicy = SparseSelectiveSharingQPolicy

__all__ = [
    "AgentQNetwork",
    "AgentQuantileNetwork",
    "FullSharingPolicy",
    "FullSharingQPolicy",
    "LearnedMaskPolicy",
    "LearnedMaskQPolicy",
    "MaskedDQN",
    "MaskedExplorationMixin",
    "MaskedExplorationWarning",
    "MaskedQRDQN",
    "PrunedMaskPolicy",
    "PrunedMaskQPolicy",
    "QuantileFullSharingPolicy",
    "QuantileLearnedMaskPolicy",
    "QuantilePrunedMaskPolicy",
    "QuantileSelectiveSharingPolicy",
    "QuantileSparseEvolvedPolicy",
    "QuantileSparsePrunedMaskPolicy",
    "QuantileSparseSelectiveSharingPolicy",
    "SelectiveSharingPolicy",
    "SelectiveSharingQPolicy",
    "SharingQPolicy",
    "SharingQuantilePolicy",
    "SparseEvolvedPolicy",
    "SparsePrunedMaskPolicy",
    "SparseSelectiveSharingPolicy",
    "SparseEvolvedQPolicy",
    "SparsePrunedMaskQPolicy",
    "SparseSelectiveSharingQPolicy",
    "qrdqn",
]
