"""Kaleidoscope on image slots: masked convolutions in place of the CNN trunk's, and their training."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch import nn

from policies import GridCNN, LearnedMaskPolicy, LearnedMaskQPolicy, LearnedMaskTrunk
from policies.learned.conv import LearnedMaskConv2d
from tests.policies.policy_test_utils import image_obs, image_space

lr = lambda _: 3e-4  # noqa: E731


def _as_tensors(policy, obs):
    return policy.obs_to_tensor(obs)[0]


@pytest.mark.parametrize("cls", [LearnedMaskPolicy, LearnedMaskQPolicy])
def test_mask_trunk_replaces_the_convolutions_in_place_and_keeps_the_state_dict_keys(cls):
    torch.manual_seed(0)
    plain = cls(image_space(), spaces.Discrete(4), lr)
    masked = cls(image_space(), spaces.Discrete(4), lr, mask_trunk=True)
    trunk = masked.q_net.features_extractor.trunk if cls is LearnedMaskQPolicy else masked.features_extractor.trunk
    assert isinstance(trunk, LearnedMaskTrunk) and isinstance(trunk.inner.extractor, GridCNN)
    convs = [m for m in trunk.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(type(m) is LearnedMaskConv2d for m in convs)
    assert all(m.thresholds.shape == (3, *m.weight.shape) for m in convs)
    # the plain trunk's keys are all there (one level down, under the wrapper's "inner."); each
    # masked convolution only adds its thresholds, the wrapper its agent -> mask map
    plain_keys = {k.replace(".trunk.", ".trunk.inner.", 1) for k in plain.state_dict()}
    added = set(masked.state_dict()) - plain_keys
    assert plain_keys <= set(masked.state_dict())
    thresholds = {k for k in added if not k.endswith(".trunk.group_of_agent")}
    assert thresholds and all(
        k.endswith(".thresholds") and isinstance(masked.get_submodule(k.rpartition(".")[0]), LearnedMaskConv2d)
        for k in thresholds
    )
    # and the plain trunk's weights load into the masked one
    inner = trunk.inner
    source = (plain.q_net if cls is LearnedMaskQPolicy else plain).features_extractor.trunk
    missing, unexpected = inner.load_state_dict(source.state_dict(), strict=False)
    assert not unexpected and missing and all(k.endswith("thresholds") for k in missing)


def test_masked_convolutions_give_every_agent_its_own_kernels():
    torch.manual_seed(0)
    policy = LearnedMaskPolicy(image_space(), spaces.Discrete(4), lr, mask_trunk=True)
    obs = _as_tensors(policy, image_obs(image_space(), np.array([0, 1, 2, 0, 1, 2])))
    with torch.no_grad():
        before = policy.extract_features(obs, policy.features_extractor)
        for conv in policy.features_extractor.trunk.mask_layers():
            conv.thresholds[2].uniform_(-3.0, 0.0)  # agent b_0 (index 2) now masks many weights
        after = policy.extract_features(obs, policy.features_extractor)
    rows = np.array([0, 1, 2, 0, 1, 2]) == 2
    assert torch.equal(after[~rows], before[~rows])
    assert not torch.allclose(after[rows], before[rows])


def test_an_update_trains_the_convolution_thresholds_and_regularises_the_trunk():
    # Hand-built image slots (the vec env emits flat rows for now); one PPO-style policy-gradient step.
    torch.manual_seed(0)
    space = image_space()
    policy = LearnedMaskPolicy(space, spaces.Discrete(4), lr, mask_trunk=True, reset_interval=None)
    trunk = policy.features_extractor.trunk
    reg = policy.learned_masks
    assert reg.networks == [trunk, policy.policy_network, policy.value_network]
    before = [conv.thresholds.detach().clone() for conv in trunk.mask_layers()]
    obs = _as_tensors(policy, image_obs(space, np.array([0, 1, 2] * 4)))
    values, log_prob, _ = policy.evaluate_actions(obs, torch.tensor([1, 2, 3] * 4))
    (-(log_prob * torch.linspace(-1, 1, 12)).mean() + values.pow(2).mean()).backward()
    assert all(bool(conv.thresholds.grad.abs().sum() > 0) for conv in trunk.mask_layers())
    policy.optimizer.step()
    assert all(not torch.equal(b, conv.thresholds) for b, conv in zip(before, trunk.mask_layers()))
    assert int(reg.step) == 1 and reg.last["div_loss"] < 0


def test_mask_trunk_needs_convolutions():
    from tests.policies.policy_test_utils import slot_space

    with pytest.raises(ValueError, match=r"LearnedMaskPolicy: mask_trunk=True masks the trunk's convolution kernels, "
                                         r"but the trunk \(ExtractorTrunk\) has no convolution"):
        LearnedMaskPolicy(slot_space(), spaces.Discrete(4), lr, mask_trunk=True)


class _GroupedCNN(nn.Module):
    """A trunk with a grouped convolution, which cannot be masked per weight here."""

    def __init__(self, observation_space: spaces.Box, features_dim: int = 8) -> None:
        super().__init__()
        self.features_dim = features_dim
        self.conv = nn.Conv2d(observation_space.shape[0], 6, 3, groups=3)
        self.out = nn.Sequential(nn.Flatten(), nn.LazyLinear(features_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.conv(x))


def test_a_convolution_that_cannot_be_masked_is_refused_by_name():
    with pytest.raises(ValueError, match=r"mask_trunk=True: the trunk's convolution 'extractor.conv' has groups=3"):
        LearnedMaskPolicy(image_space(), spaces.Discrete(4), lr, mask_trunk=True, features_extractor_class=_GroupedCNN)
