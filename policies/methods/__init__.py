"""The sharing methods, each written once: how the agent enters ``f(trunk(x), agent)``."""

from policies.methods.base import SharingMethod
from policies.methods.full import FullSharing
from policies.methods.learned import LearnedMask
from policies.methods.masks import ADAPS_THRESHOLD, adaps_masks, default_pruning, snp_ps_masks
from policies.methods.pruned import PrunedMask
from policies.methods.selective import SelectiveSharing

__all__ = [
    "ADAPS_THRESHOLD",
    "FullSharing",
    "LearnedMask",
    "PrunedMask",
    "SelectiveSharing",
    "SharingMethod",
    "adaps_masks",
    "default_pruning",
    "snp_ps_masks",
]
