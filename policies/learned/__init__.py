"""Learned per-agent masks (Kaleidoscope; Li, Pan and Zhang, NeurIPS 2024): layers, regulariser, statistics.

One set of shared weights; every agent (or group) has learnable soft thresholds that turn the
weights into its own masked copy, a diversity term pushes agents' masks apart, and a periodic
reset recycles weights that every agent has masked out. See docs/learned_masks.md.
"""

from policies.learned.conv import LearnedMaskConv2d
from policies.learned.layers import LearnedMaskLinear, LearnedMaskMLP, RowGroups, soft_threshold
from policies.learned.regularizer import (
    KALEIDOSCOPE_DEFAULTS,
    KaleidoscopeRegularizer,
    MaskScheduleWarning,
    diversity_loss,
    reset_masked_weights,
)
from policies.learned.stats import LearnedMaskStats, mask_statistics
from policies.learned.training import (
    LearnedMaskCallback,
    learned_mask_networks,
    regularizers_of,
    set_mask_schedule,
)
from policies.learned.trunk import LearnedMaskTrunk

__all__ = [
    "KALEIDOSCOPE_DEFAULTS",
    "KaleidoscopeRegularizer",
    "LearnedMaskCallback",
    "LearnedMaskConv2d",
    "LearnedMaskLinear",
    "LearnedMaskMLP",
    "LearnedMaskStats",
    "LearnedMaskTrunk",
    "MaskScheduleWarning",
    "RowGroups",
    "diversity_loss",
    "learned_mask_networks",
    "mask_statistics",
    "regularizers_of",
    "reset_masked_weights",
    "set_mask_schedule",
    "soft_threshold",
]
