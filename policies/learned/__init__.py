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
    diversity_loss,
)
from policies.learned.stats import LearnedMaskStats, mask_statistics

__all__ = [
    "KALEIDOSCOPE_DEFAULTS",
    "KaleidoscopeRegularizer",
    "LearnedMaskConv2d",
    "LearnedMaskLinear",
    "LearnedMaskMLP",
    "LearnedMaskStats",
    "RowGroups",
    "diversity_loss",
    "mask_statistics",
    "soft_threshold",
]
