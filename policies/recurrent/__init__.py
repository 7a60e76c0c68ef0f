"""Sharing policies for sb3-contrib's RecurrentPPO (one LSTM state per slot).

``from policies.recurrent import PrunedMaskPolicy`` is the whole API; every class takes
sb3-contrib's ``RecurrentActorCriticPolicy`` arguments plus its method's options.
"""

from policies.recurrent.policies import (
    FullSharingPolicy,
    LearnedMaskPolicy,
    PrunedMaskPolicy,
    SelectiveSharingPolicy,
    SharingRecurrentPolicy,
    SlotProjection,
    SparseEvolvedPolicy,
    SparsePrunedMaskPolicy,
    SparseSelectiveSharingPolicy,
)

__all__ = [
    "FullSharingPolicy",
    "LearnedMaskPolicy",
    "PrunedMaskPolicy",
    "SelectiveSharingPolicy",
    "SharingRecurrentPolicy",
    "SlotProjection",
    "SparseEvolvedPolicy",
    "SparsePrunedMaskPolicy",
    "SparseSelectiveSharingPolicy",
]
