"""QR-DQN policies: masked quantiles, same masks in the target, exploration warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from gymnasium import spaces
from sb3_contrib import QRDQN

import ps_wrappers
from policies import MaskedExplorationWarning
from policies.dqn import MaskedQRDQN, qrdqn

from .policy_test_utils import lr, slot_obs, slot_space


@pytest.mark.parametrize("name", ["FullSharingPolicy", "SelectiveSharingPolicy", "PrunedMaskPolicy"])
def test_invalid_actions_have_masked_quantiles_and_are_never_greedy(name):
    torch.manual_seed(0)
    policy = getattr(qrdqn, name)(slot_space(), spaces.Discrete(4), lr, n_quantiles=5, net_arch=[16])
    mask = np.array([[0, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 1]] * 4)
    obs = slot_obs(policy.observation_space, np.arange(12) % 3, mask=mask)
    with torch.no_grad():
        quantiles = policy.quantile_net(obs)
    assert quantiles.shape == (12, 5, 4)
    invalid = torch.as_tensor(mask == 0)[:, None, :].expand_as(quantiles)
    assert bool((quantiles[invalid] == torch.finfo(torch.float32).min).all())
    assert bool(torch.isfinite(quantiles[~invalid]).all())
    greedy = policy.predict(obs.numpy(), deterministic=True)[0]
    assert mask[np.arange(12), greedy].all()
    target = policy.quantile_net_target
    for key, value in policy.quantile_net.state_dict().items():
        if "mask" in key or "cluster" in key:
            torch.testing.assert_close(target.state_dict()[key], value)


def test_stock_qrdqn_warns_to_use_masked_qrdqn_and_masked_qrdqn_does_not(world_comm_venv):
    simple_world_comm_v3 = pytest.importorskip("mpe2.simple_world_comm_v3")
    venv = ps_wrappers.make_vec_env(simple_world_comm_v3.parallel_env, n_envs=1, seed=0, invalid_action="random_valid")
    kwargs = {"learning_starts": 24, "train_freq": 2, "seed": 0, "policy_kwargs": {"n_quantiles": 4, "net_arch": [16]}}
    with pytest.warns(MaskedExplorationWarning, match=r"policies\.dqn\.MaskedQRDQN instead, e\.g\. MaskedQRDQN\("):
        QRDQN(qrdqn.FullSharingPolicy, venv, **kwargs).learn(60)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MaskedExplorationWarning)
        model = MaskedQRDQN(qrdqn.FullSharingPolicy, world_comm_venv(), **kwargs).learn(60)
    assert model.policy.masked_exploration


def test_quantile_policies_refuse_continuous_actions():
    with pytest.raises(TypeError, match=r"QuantileFullSharingPolicy: QR-DQN needs a Discrete action space"):
        qrdqn.FullSharingPolicy(slot_space(n_actions=0), spaces.Box(-1, 1, (2,)), lr)
