"""Every sharing policy on image slots: CNN trunks, agent conditioning in the trunk, save/load."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import NatureCNN

import policies
from policies import GridCNN
from policies.core.trunks import ChannelMaskedTrunk, IndicatorPlanesTrunk, RoutedTrunk

from .policy_test_utils import image_obs, image_space

lr = lambda _: 3e-4  # noqa: E731

PPO_CASES = [
    ("FuPS", policies.FullSharingPolicy, {}),
    ("FuPS+id", policies.FullSharingPolicy, {"agent_id": True}),
    ("FuPS+id planes", policies.FullSharingPolicy, {"agent_id": True, "id_input": "planes"}),
    ("SePS", policies.SelectiveSharingPolicy, {"clusters": "agent"}),
    ("SePS shared trunk", policies.SelectiveSharingPolicy, {"clusters": "agent", "share_trunk": True}),
    ("SNP-PS", policies.PrunedMaskPolicy, {}),
    ("SNP-PS channels", policies.PrunedMaskPolicy, {"mask_channels": True, "channel_pruning": 0.5}),
    ("AdaPS channels", policies.PrunedMaskPolicy, {"method": "adaps", "mask_channels": True}),
    ("sparse", policies.SparseEvolvedPolicy, {"sparsity": 0.8}),
    ("Kaleidoscope", policies.LearnedMaskPolicy, {}),
    ("Kaleidoscope masked trunk", policies.LearnedMaskPolicy, {"mask_trunk": True, "clusters": "type"}),
]
DQN_CASES = [
    ("FuPS", policies.FullSharingQPolicy, {}),
    ("SePS", policies.SelectiveSharingQPolicy, {"clusters": "agent"}),
    ("SNP-PS channels", policies.PrunedMaskQPolicy, {"mask_channels": True}),
    ("sparse", policies.SparseEvolvedQPolicy, {"sparsity": 0.8}),
    ("Kaleidoscope masked trunk", policies.LearnedMaskQPolicy, {"mask_trunk": True}),
]


def _predict(policy: torch.nn.Module, obs: dict[str, np.ndarray]) -> np.ndarray:
    return policy.predict(obs, deterministic=True)[0]  # type: ignore[operator]


@pytest.mark.parametrize(("name", "cls", "kwargs"), PPO_CASES + DQN_CASES, ids=[c[0] + "-" + c[1].__name__ for c in PPO_CASES + DQN_CASES])
def test_policy_acts_on_images_and_round_trips(name, cls, kwargs, tmp_path):
    torch.manual_seed(0)
    space = image_space()
    policy = cls(space, spaces.Discrete(4), lr, **kwargs)
    obs = image_obs(space, np.array([0, 1, 2, 0, 1, 2]))
    obs["action_mask"][:, 0] = 0  # action 0 is never valid
    actions = _predict(policy, obs)
    assert actions.shape == (6,) and (actions != 0).all() and (actions < 4).all()
    policy.save(tmp_path / "p.pt")
    loaded = cls.load(tmp_path / "p.pt")
    np.testing.assert_array_equal(_predict(loaded, obs), actions)
    for key, value in policy.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)


def test_default_trunk_is_grid_cnn_for_small_images_and_nature_cnn_for_screens():
    small = policies.FullSharingPolicy(image_space((3, 7, 7)), spaces.Discrete(4), lr)
    large = policies.FullSharingPolicy(image_space((3, 40, 48)), spaces.Discrete(4), lr)
    assert isinstance(small.features_extractor.trunk.extractor, GridCNN)
    assert isinstance(large.features_extractor.trunk.extractor, NatureCNN)


def test_nature_cnn_on_a_small_grid_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"FullSharingPolicy: features_extractor_class=NatureCNN cannot be built .*GridCNN"):
        policies.FullSharingPolicy(image_space((3, 7, 7)), spaces.Discrete(4), lr, features_extractor_class=NatureCNN)


def test_features_extractor_kwargs_reach_the_trunk():
    policy = policies.FullSharingPolicy(
        image_space(), spaces.Discrete(4), lr, features_extractor_class=GridCNN,
        features_extractor_kwargs={"features_dim": 32, "channels": (8,)},
    )
    trunk = policy.features_extractor.trunk
    assert trunk.features_dim == 32
    assert [m.out_channels for m in trunk.modules() if isinstance(m, torch.nn.Conv2d)] == [8]


def test_float_images_are_not_rescaled_and_work_with_nature_cnn():
    space = image_space((5, 40, 40), dtype=np.float32)
    policy = policies.FullSharingPolicy(space, spaces.Discrete(4), lr, features_extractor_class=NatureCNN)
    obs = image_obs(space, np.array([0, 1]))
    assert _predict(policy, obs).shape == (2,)


def test_id_planes_only_for_images_and_seps_routes_trunks():
    from .policy_test_utils import slot_space

    with pytest.raises(ValueError, match=r"id_input='planes' appends indicator planes to image observations"):
        policies.FullSharingPolicy(slot_space(), spaces.Discrete(4), lr, agent_id=True, id_input="planes")
    planes = policies.FullSharingPolicy(image_space(), spaces.Discrete(4), lr, agent_id=True, id_input="planes")
    assert isinstance(planes.features_extractor.trunk, IndicatorPlanesTrunk)
    first_conv = next(m for m in planes.features_extractor.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.in_channels == 3 + 3  # image channels + one plane per agent
    seps = policies.SelectiveSharingPolicy(image_space(), spaces.Discrete(4), lr, clusters=[0, 0, 1])
    assert isinstance(seps.features_extractor.trunk, RoutedTrunk) and len(seps.features_extractor.trunk.trunks) == 2


def test_identity_changes_the_output_of_id_aware_trunks_only():
    space = image_space()
    obs = image_obs(space, np.array([0, 1, 2]))  # one image, three agents
    tensor = {k: torch.as_tensor(v) for k, v in obs.items()}
    for kwargs, differs in [({}, False), ({"agent_id": True, "id_input": "planes"}, True)]:
        policy = policies.FullSharingPolicy(space, spaces.Discrete(4), lr, **kwargs)
        latent = policy.extract_features(tensor, policy.features_extractor)
        trunk_out = latent[:, : policy.features_extractor.trunk.features_dim]
        assert (not torch.allclose(trunk_out[0], trunk_out[1])) is differs


def test_channel_masks_zero_the_agents_channels_and_their_filter_gradients():
    space = image_space()
    policy = policies.PrunedMaskPolicy(space, spaces.Discrete(4), lr, mask_channels=True, channel_pruning=0.5, mask_seed=1)
    trunk = policy.features_extractor.trunk
    assert isinstance(trunk, ChannelMaskedTrunk)
    conv = next(m for m in trunk.modules() if isinstance(m, torch.nn.Conv2d))
    mask0 = trunk.masks()[0][0]  # agent 0's mask of the first convolution
    assert mask0.sum() == conv.out_channels // 2
    seen: list[torch.Tensor] = []
    handle = conv.register_forward_hook(lambda m, a, out: seen.append(out))
    obs = {k: torch.as_tensor(v) for k, v in image_obs(space, np.array([0])).items()}
    latent = policy.extract_features(obs, policy.features_extractor)
    handle.remove()
    # The hook registered after the mask hook sees the masked output: masked channels are zero.
    assert seen[0][0, mask0 < 0.5].abs().sum() == 0 and seen[0][0, mask0 > 0.5].abs().sum() > 0
    latent.sum().backward()
    grad = conv.weight.grad
    assert grad is not None
    assert grad[mask0 < 0.5].abs().sum() == 0 and grad[mask0 > 0.5].abs().sum() > 0


def test_channel_masks_need_a_convolution():
    from .policy_test_utils import slot_space

    with pytest.raises(ValueError, match=r"mask_channels=True masks convolution channels, but the trunk"):
        policies.PrunedMaskPolicy(slot_space(), spaces.Discrete(4), lr, mask_channels=True)
    with pytest.raises(ValueError, match=r"channel_pruning=0.5 is used only with mask_channels=True"):
        policies.PrunedMaskPolicy(image_space(), spaces.Discrete(4), lr, channel_pruning=0.5)


def test_seps_trunk_rows_only_train_their_cluster():
    space = image_space()
    policy = policies.SelectiveSharingPolicy(space, spaces.Discrete(4), lr, clusters=[0, 0, 1])
    trunk = policy.features_extractor.trunk
    obs = {k: torch.as_tensor(v) for k, v in image_obs(space, np.array([2, 2])).items()}  # cluster 1 only
    policy.extract_features(obs, policy.features_extractor).sum().backward()
    grads = [sum(p.grad.abs().sum() for p in t.parameters() if p.grad is not None) for t in trunk.trunks]
    assert grads[0] == 0 and grads[1] > 0


def test_sparse_cnn_uses_erk_densities_and_counts_conv_flops():
    policy = policies.SparseEvolvedPolicy(image_space((3, 12, 12)), spaces.Discrete(4), lr, sparsity=0.9)
    topology = policy.sparse_topology
    names = [name for name, _ in topology.layers]
    assert any("cnn" in n for n in names), names
    assert abs(topology.sparsity() - 0.9) < 0.01
    densities = topology.densities()
    conv1 = next(n for n in names if n.endswith("cnn.0"))
    linear = next(n for n in names if n.endswith("linear.0"))
    assert densities[conv1] > densities[linear]  # ERK: small kernels stay denser than wide layers
    report = policies.flops_report(policy)
    conv = next(m for n, m in topology.layers if n == conv1)
    # A 3x3 convolution without padding on 12x12 has 10x10 output positions.
    assert report.dense_inference_flops > 100 * (2 * conv.weight[0].numel() - 1) * conv.out_channels
    assert 0.05 < report.inference_ratio < 0.3


def test_parameter_table_on_images_counts_trunks():
    rows = {r.method: r.parameters for r in policies.parameter_table(_Venv(image_space()))}
    assert rows["SePS"] == 2 * rows["FuPS"]  # two clusters ("a", "b"): two trunks and two heads
    assert rows["FuPS+id"] > rows["FuPS"] and rows["SNP-PS"] == rows["FuPS"]


class _Venv:
    def __init__(self, space: spaces.Space) -> None:
        self.observation_space = space
        self.action_space = spaces.Discrete(4)
