"""The SAC, TD3, QR-DQN and RecurrentPPO policies on image slots: CNN trunks, conditioning, save / load."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from policies import recurrent, sac, td3
from policies.core.trunks import ChannelMaskedTrunk, IndicatorPlanesTrunk, RoutedTrunk
from policies.dqn import qrdqn

from .policy_test_utils import image_obs, image_space, lr

BOX = spaces.Box(-1.0, 1.0, (2,), np.float32)
CASES = [
    ("SAC SNP-PS channels", sac.PrunedMaskPolicy, {"mask_channels": True}, BOX, ChannelMaskedTrunk),
    ("SAC FuPS+id planes, shared trunk", sac.FullSharingPolicy, {"agent_id": True, "id_input": "planes", "share_features_extractor": True}, BOX, IndicatorPlanesTrunk),
    ("TD3 SePS", td3.SelectiveSharingPolicy, {"clusters": "agent"}, BOX, RoutedTrunk),
    ("QR-DQN sparse", qrdqn.SparseEvolvedPolicy, {"n_quantiles": 4}, spaces.Discrete(4), None),
    ("RecurrentPPO SNP-PS channels", recurrent.PrunedMaskPolicy, {"mask_channels": True, "lstm_hidden_size": 8}, spaces.Discrete(4), ChannelMaskedTrunk),
]


@pytest.mark.parametrize(("name", "cls", "kwargs", "action_space", "trunk"), CASES, ids=[c[0] for c in CASES])
def test_families_act_on_images_with_agent_conditioned_trunks_and_round_trip(name, cls, kwargs, action_space, trunk, tmp_path):
    torch.manual_seed(0)
    space = image_space(n_actions=4 if isinstance(action_space, spaces.Discrete) else 0)
    policy = cls(space, action_space, lr, **kwargs)
    if trunk is not None:
        assert any(isinstance(m, trunk) for m in policy.modules())
    obs = image_obs(space, np.array([0, 1, 2, 0]))
    actions = policy.predict(obs, deterministic=True)[0]
    assert len(actions) == 4 and action_space.contains(np.asarray(actions[0], dtype=action_space.dtype))
    policy.save(tmp_path / "p.pt")
    loaded = cls.load(tmp_path / "p.pt")
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], actions)
