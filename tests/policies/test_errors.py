"""Clear errors for wrong spaces and wrong options, naming the policy, the argument and the fix."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3.common.torch_layers import NatureCNN

from policies import (
    FullSharingPolicy,
    FullSharingQPolicy,
    PrunedMaskPolicy,
    PrunedMaskQPolicy,
    SelectiveSharingPolicy,
)
from ps_wrappers.layout import SlotBox, SlotLayout
from tests.policies.policy_test_utils import lr, slot_space


def _no_id_space() -> SlotBox:
    layout = SlotLayout(feature_dim=3, agents=("a_0", "a_1"), n_actions=4, action_nvec=(4,), agent_ids=False)
    return SlotBox(np.full(layout.total_dim, -1.0, np.float32), np.full(layout.total_dim, 1.0, np.float32), layout)


def test_plain_box_observation_space_is_rejected_with_the_fix():
    with pytest.raises(TypeError, match=r"FullSharingPolicy needs an observation space built by ps_wrappers.make_vec_env"):
        FullSharingPolicy(spaces.Box(-1, 1, (8,)), spaces.Discrete(4), lr)
    with pytest.raises(TypeError, match=r"PrunedMaskQPolicy needs an observation space built by"):
        PrunedMaskQPolicy(spaces.Box(-1, 1, (8,)), spaces.Discrete(4), lr)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "lottery"}, r"PrunedMaskPolicy: method must be 'snp-ps' or 'adaps', got 'lottery'"),
        ({"clusters": "type"}, r"PrunedMaskPolicy: clusters='type' is only used by method='adaps'"),
        ({"method": "adaps", "critic_pruning": 0.5}, r"\['critic_pruning'\] are SNP-PS pruning ratios, but method='adaps'"),
        ({"method": "adaps", "threshold": 1.5}, r"PrunedMaskPolicy: threshold must be in \(0, 1\), got 1.5"),
        ({"actor_pruning": [0.1, 0.2, 0.3]}, r"PrunedMaskPolicy: actor_pruning must give one pruning ratio per hidden layer \[64, 64\]"),
        ({"critic_pruning": 1.0}, r"PrunedMaskPolicy: critic_pruning=\[1.0, 1.0\] is invalid"),
        ({"use_sde": True}, r"PrunedMaskPolicy: use_sde=True is not supported"),
        ({"features_extractor_class": NatureCNN}, r"PrunedMaskPolicy: features_extractor_class=NatureCNN cannot be built on the slot features .*for vector observations use FlattenExtractor"),
        ({"net_arch": "big"}, r"PrunedMaskPolicy: net_arch must be a list of hidden widths"),
    ],
)
def test_pruned_mask_options_are_validated(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PrunedMaskPolicy(slot_space(), spaces.Discrete(4), lr, **kwargs)


def test_q_pruning_ratio_names_its_argument():
    with pytest.raises(ValueError, match=r"PrunedMaskQPolicy: pruning must give one pruning ratio per hidden layer \[64, 64\]"):
        PrunedMaskQPolicy(slot_space(), spaces.Discrete(4), lr, pruning=[0.1])


def test_agent_conditioned_methods_need_agent_ids_but_fups_does_not():
    FullSharingPolicy(_no_id_space(), spaces.Discrete(4), lr)
    for cls, kwargs in ((SelectiveSharingPolicy, {}), (PrunedMaskPolicy, {}), (FullSharingPolicy, {"agent_id": True})):
        with pytest.raises(ValueError, match=rf"{cls.__name__} .*agent_ids=False .*make_vec_env\(\.\.\., agent_ids=True\)"):
            cls(_no_id_space(), spaces.Discrete(4), lr, **kwargs)


def test_action_space_must_match_the_mask_segment():
    with pytest.raises(ValueError, match=r"FullSharingPolicy: the observation's action mask has 4 entries but the action space Discrete\(5\) needs 5"):
        FullSharingPolicy(slot_space(n_actions=4), spaces.Discrete(5), lr)
    with pytest.raises(TypeError, match=r"FullSharingQPolicy: DQN needs a Discrete action space"):
        FullSharingQPolicy(slot_space(n_actions=0), spaces.Box(-1, 1, (2,)), lr)
    with pytest.raises(ValueError, match=r"FullSharingQPolicy: the observation.s action mask has 4 entries but the action space Discrete\(3\) needs 3"):
        FullSharingQPolicy(slot_space(n_actions=4), spaces.Discrete(3), lr)
