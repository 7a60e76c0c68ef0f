"""FLOPs and model size per MAST appendix B.4 (Eqs. 9, 11, 14-17), relative to dense."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import A2C, PPO
from torch import nn

from policies import SparseEvolvedPolicy, SparseEvolvedQPolicy, sac
from policies.dqn import qrdqn
from policies.mast.dqn import MASTDQN
from policies.sparse.flops import (
    flops_report,
    forward_flops,
    layer_costs,
    linear_forward_flops,
    model_size,
)
from policies.sparse.topology import SparseTopology

from ..policies.policy_test_utils import box_slot_space, slot_space


def test_equation_11_and_9_for_one_layer():
    assert linear_forward_flops(10, 4) == 19 * 4
    assert linear_forward_flops(10, 4, density=0.25) == 19.0
    net = nn.Sequential(nn.Linear(10, 4), nn.ReLU(), nn.Linear(4, 2))
    assert forward_flops(net) == 19 * 4 + 7 * 2
    assert model_size(net) == 40 + 8


def test_sparse_module_costs_scale_with_each_layer_density():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 3))
    SparseTopology(net, torch.optim.Adam(net.parameters()), sparsity=0.8)
    costs = layer_costs(net)
    assert forward_flops(net) == pytest.approx(
        sum(c.density * (2 * c.in_features - 1) * c.out_features for c in costs)
    )
    assert model_size(net) == pytest.approx(0.2 * model_size(net, dense=True), abs=1.0)
    assert forward_flops(net, dense=True) == 19 * 64 + 127 * 3


def test_dqn_report_follows_table_6(venv):
    model = MASTDQN(
        SparseEvolvedQPolicy, venv, buffer_size=1000, batch_size=32, policy_kwargs={"sparsity": 0.9}
    )
    report = flops_report(model, target_evaluations=2.0)
    f = forward_flops(model.policy.q_net)
    f_dense = forward_flops(model.policy.q_net, dense=True)
    assert report.inference_flops == pytest.approx(f)
    overhead = 2 * 32 * f_dense / 200  # RigL's dense gradient every 200 steps
    assert report.training_flops == pytest.approx(32 * (2 * f + 3 * f) + overhead)
    assert report.dense_training_flops == pytest.approx(32 * 5 * f_dense)
    assert report.model_size == pytest.approx(2 * model_size(model.policy.q_net))  # online + target
    assert report.size_ratio == pytest.approx(0.1, abs=5e-3)
    assert report.training_ratio < 0.11 and report.inference_ratio < 0.11


def test_actor_critic_inference_counts_the_actor_only(venv):
    model = PPO(
        SparseEvolvedPolicy,
        venv,
        n_steps=16,
        batch_size=32,
        policy_kwargs={"sparsity": 0.8, "evolve": False},
    )
    report = flops_report(model)
    actor = forward_flops(model.policy.mlp_extractor.policy_net)
    assert report.inference_flops == pytest.approx(actor)
    assert report.training_flops == pytest.approx(3 * 32 * forward_flops(model.policy))
    dense = flops_report(PPO("MlpPolicy", venv, n_steps=16, batch_size=32))
    assert dense.training_ratio == 1.0 and dense.sparsity == 0.0
    a2c = A2C("MlpPolicy", venv, n_steps=4)  # one step on the whole rollout: 4 steps x 6 slots
    assert flops_report(a2c).training_flops == pytest.approx(3 * 4 * 6 * forward_flops(a2c.policy))


def test_report_rejects_objects_without_linear_layers():
    with pytest.raises(
        TypeError,
        match="flops_report: expected an SB3 model or policy with linear layers, got ReLU",
    ):
        flops_report(nn.ReLU())


def test_off_policy_actor_critics_and_quantile_networks_count_the_acting_network_for_inference():
    lr = lambda _: 3e-4  # noqa: E731
    policy = sac.SparseEvolvedPolicy(box_slot_space(), spaces.Box(-1, 1, (3,), np.float32), lr, net_arch=[64, 64])
    report = flops_report(policy, batch_size=8)
    assert report.inference_flops == forward_flops(policy.actor)
    assert report.dense_inference_flops == forward_flops(policy.actor, dense=True)
    f_a, f_c = forward_flops(policy.actor, dense=True), forward_flops(policy.critic, dense=True)
    assert report.dense_training_flops == 8 * (3 * f_c + f_a + f_c + 3 * (f_a + f_c))
    assert 0.05 < report.training_ratio < 0.2 and 0.05 < report.sparsity < 0.95
    quantile = qrdqn.SparseEvolvedPolicy(slot_space(), spaces.Discrete(4), lr, n_quantiles=5)
    assert flops_report(quantile).inference_flops == forward_flops(quantile.quantile_net)
