"""The agent-conditioned network family ``f(trunk(x), agent)``: trunks, heads, masking, the SB3 bridge."""

from policies.core.action_masks import MASKED_LOGIT, mask_scores, random_valid_actions
from policies.core.cnn import GridCNN
from policies.core.continuous import (
    AgentContinuousCritic,
    RealActions,
    RealDimsDiagGaussian,
    only_acting_actions,
)
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
    "AgentContinuousCritic",
    "ChannelMaskedTrunk",
    "ExtractorTrunk",
    "GridCNN",
    "IndicatorPlanesTrunk",
    "NeuronMaskedMLP",
    "RealActions",
    "RealDimsDiagGaussian",
    "RoutedMLP",
    "RoutedTrunk",
    "SharedMLP",
    "SlotFeaturesExtractor",
    "Trunk",
    "mask_scores",
    "only_acting_actions",
    "random_valid_actions",
]
