"""Box actions: one Gaussian log_std for one shared network, one per cluster for SePS."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import PPO

import ps_wrappers
from policies import (
    FullSharingPolicy,
    PrunedMaskPolicy,
    SelectiveSharingPolicy,
    SparseSelectiveSharingPolicy,
)
from policies.ppo.policies import ClusterLogStd
from ps_wrappers.testing import sample_slot_observations
from tests.policies.policy_test_utils import lr, slot_obs, slot_space

BOX = spaces.Box(-1.0, 1.0, (2,), np.float32)


@pytest.mark.parametrize("cls", [FullSharingPolicy, PrunedMaskPolicy])
def test_one_network_has_one_log_std(cls: type) -> None:
    policy = cls(slot_space(n_actions=0), BOX, lr, log_std_init=-0.5)
    assert policy.log_std.shape == (2,)
    assert not any(isinstance(m, ClusterLogStd) for m in policy.modules())


@pytest.mark.parametrize("cls", [SelectiveSharingPolicy, SparseSelectiveSharingPolicy])
def test_seps_has_one_log_std_per_cluster_and_each_row_uses_its_own(cls: type) -> None:
    # agents a_0, a_1 (type a, cluster 0) and b_0 (type b, cluster 1)
    policy = cls(slot_space(n_actions=0), BOX, lr, log_std_init=-0.5)
    table = policy.mlp_extractor.log_std
    assert isinstance(table, ClusterLogStd) and table.log_std.shape == (2, 2)
    assert not hasattr(policy, "log_std"), "the shared SB3 log_std must be gone, not left untrained"
    assert torch.all(table.log_std == -0.5)
    with torch.no_grad():
        table.log_std[0] = 0.0
        table.log_std[1] = float(np.log(0.25))
    obs = slot_obs(policy.observation_space, np.array([0, 1, 2, 2]))
    dist = policy.get_distribution(obs).distribution
    np.testing.assert_allclose(dist.stddev.detach().numpy(), [[1, 1], [1, 1], [0.25, 0.25], [0.25, 0.25]], rtol=1e-6)
    # a loss on cluster 1's rows moves cluster 1's log_std only
    policy.zero_grad()
    _, log_prob, entropy = policy.evaluate_actions(obs[2:], torch.zeros(2, 2))
    (log_prob.sum() + entropy.sum()).backward()
    assert torch.all(table.log_std.grad[0] == 0) and torch.all(table.log_std.grad[1] != 0)
    assert any(p is table.log_std for group in policy.optimizer.param_groups for p in group["params"])


def test_seps_cluster_log_stds_train_apart_and_survive_save_load(tmp_path: Path) -> None:
    multiwalker_v9 = pytest.importorskip("pettingzoo.sisl.multiwalker_v9")
    venv = ps_wrappers.make_vec_env(lambda: multiwalker_v9.parallel_env(max_cycles=40), n_envs=2, seed=0)
    model = PPO(
        SelectiveSharingPolicy,
        venv,
        n_steps=64,
        batch_size=96,
        n_epochs=2,
        policy_kwargs=dict(clusters="agent", net_arch=[32]),
        seed=0,
        device="cpu",
    )
    model.learn(3 * 64 * venv.num_envs)
    table = model.policy.mlp_extractor.log_std.log_std.detach().clone()
    assert table.shape == (3, 4)  # three walkers, each its own cluster; 4 joint torques
    assert not torch.allclose(table, torch.zeros_like(table)), "log_std must have trained"
    assert not torch.allclose(table[0], table[1]) and not torch.allclose(table[1], table[2])
    model.save(tmp_path / "seps")
    loaded = PPO.load(tmp_path / "seps", env=venv, device="cpu")
    assert torch.equal(loaded.policy.mlp_extractor.log_std.log_std, table)
    obs = sample_slot_observations(venv.observation_space, 12, np.random.default_rng(0))
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0])
    with torch.no_grad():
        a = model.policy.get_distribution(torch.as_tensor(obs)).distribution.stddev
        b = loaded.policy.get_distribution(torch.as_tensor(obs)).distribution.stddev
    assert torch.equal(a, b)
