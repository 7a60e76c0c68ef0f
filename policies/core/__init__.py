"""The agent-conditioned network family ``f(trunk(x), agent)``: trunks, heads, masking, the SB3 bridge."""

from policies.core.action_masks import MASKED_LOGIT, mask_scores, random_valid_actions
from policies.core.cnn import GridCNN
from policies.core.extractor import SlotFeaturesExtractor
from policies.core.heads import AgentConditionedMLP, NeuronMaskedMLP, RoutedMLP, SharedMLP
from policies.core.trunks import (
    ChannelMaskedTrunk,
    ExtractorTrunk,
    IndicatorPlanesTrunk,
    RoutedTrunk,
    Trunk,
)

__all__ = [
    "MASKED_LOGIT",
    "AgentConditionedMLP",
    "ChannelMaskedTrunk",
    "ExtractorTrunk",
    "GridCNN",
    "IndicatorPlanesTrunk",
    "NeuronMaskedMLP",
    "RoutedMLP",
    "RoutedTrunk",
    "SharedMLP",
    "SlotFeaturesExtractor",
    "Trunk",
    "mask_scores",
    "random_valid_actions",
]
