"""Sparse-evolved policies with PPO, A2C and DQN: exact sparsity, evolution, save/load, composition."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.logger import configure

from policies import (
    SparseEvolvedPolicy,
    SparseEvolvedQPolicy,
    SparsePrunedMaskPolicy,
    SparsePrunedMaskQPolicy,
    SparseSelectiveSharingPolicy,
    SparseSelectiveSharingQPolicy,
    sparse_evolved,
)
from policies.dqn.masked_dqn import MaskedDQN
from policies.mast.dqn import MASTDQN
from policies.sparse.training import (
    SparseMetricsCallback,
    expected_optimizer_steps,
    set_evolution_horizon,
)
from ps_wrappers.testing import sample_slot_observations

SPARSE = {"sparsity": 0.9, "update_interval": 5, "agent_id": True}
SEPS = {"sparsity": 0.9, "update_interval": 5, "clusters": "agent"}

CASES = {
    "ppo": (PPO, SparseEvolvedPolicy, {"n_steps": 32, "batch_size": 64, "n_epochs": 2}),
    "a2c": (A2C, SparseEvolvedPolicy, {"n_steps": 4}),
    "dqn": (
        MaskedDQN,
        SparseEvolvedQPolicy,
        {"learning_starts": 60, "buffer_size": 2000, "train_freq": 1, "target_update_interval": 50},
    ),
    "mastdqn": (
        MASTDQN,
        SparseEvolvedQPolicy,
        {"learning_starts": 60, "buffer_size": 2000, "train_freq": 1, "target_update_interval": 50},
    ),
}


def _assert_exactly_sparse(policy, counts):
    topo = policy.sparse_topology
    for (_, layer), count in zip(topo.layers, counts):
        assert int(layer.weight_mask.sum()) == count
        assert float((layer.weight.detach() * ~layer.weight_mask).abs().sum()) == 0.0


def _counts(policy):
    return [int(layer.weight_mask.sum()) for _, layer in policy.sparse_topology.layers]


@pytest.mark.parametrize("case", list(CASES))
def test_sparsity_is_exact_through_training_and_after_load(case, venv, tmp_path):
    algo, policy_cls, kwargs = CASES[case]
    model = algo(policy_cls, venv, policy_kwargs=dict(SPARSE), seed=0, **kwargs)
    topo = model.policy.sparse_topology
    assert topo.sparsity() == pytest.approx(0.9, abs=5e-3)
    counts = _counts(model.policy)
    start = {k: v.clone() for k, v in topo.masks().items()}
    set_evolution_horizon(model, 600)
    for _ in range(3):
        model.learn(200, reset_num_timesteps=False)
        _assert_exactly_sparse(model.policy, counts)
    assert int(topo.step) > 2 * topo.update_interval
    assert any(not torch.equal(start[k], v) for k, v in topo.masks().items())
    if hasattr(model.policy, "q_net_target"):
        target = dict(model.policy.q_net_target.named_modules())
        for name, layer in topo.layers:
            assert torch.equal(target[name].weight_mask, layer.weight_mask)
            assert float((target[name].weight.detach() * ~layer.weight_mask).abs().sum()) == 0.0

    model.save(tmp_path / "model")
    loaded = algo.load(tmp_path / "model", env=venv)
    loaded_topo = loaded.policy.sparse_topology
    assert int(loaded_topo.step) == int(topo.step) and loaded_topo.t_end == topo.t_end
    for (_, a), (_, b) in zip(topo.layers, loaded_topo.layers):
        assert torch.equal(a.weight_mask, b.weight_mask) and torch.equal(a.weight, b.weight)
    obs = sample_slot_observations(venv.observation_space, 16, np.random.default_rng(0))
    np.testing.assert_array_equal(
        model.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0]
    )
    loaded.learn(100, reset_num_timesteps=False)
    _assert_exactly_sparse(loaded.policy, counts)
    assert int(loaded_topo.step) > int(topo.step)


@pytest.mark.parametrize("case", ["ppo", "dqn"])
def test_static_sparse_never_changes_its_masks(case, venv):
    algo, policy_cls, kwargs = CASES[case]
    model = algo(policy_cls, venv, policy_kwargs=dict(SPARSE, evolve=False), seed=0, **kwargs)
    start = {k: v.clone() for k, v in model.policy.sparse_topology.masks().items()}
    model.learn(300)
    assert all(torch.equal(start[k], v) for k, v in model.policy.sparse_topology.masks().items())
    _assert_exactly_sparse(model.policy, [int(v.sum()) for v in start.values()])


def test_policy_only_save_load_keeps_the_sparse_options(venv, tmp_path):
    model = PPO(
        SparseEvolvedPolicy,
        venv,
        n_steps=32,
        batch_size=64,
        seed=0,
        policy_kwargs=dict(SPARSE, zeta=0.3, sparse_init="fan_in"),
    )
    model.learn(64)
    model.policy.save(tmp_path / "policy")
    policy = SparseEvolvedPolicy.load(tmp_path / "policy")
    assert policy.sparse_options["zeta"] == 0.3 and policy.sparse_topology.zeta == 0.3
    assert policy.sparse_topology.sparse_init == "fan_in"
    assert int(policy.sparse_topology.step) == int(model.policy.sparse_topology.step)
    for (_, a), (_, b) in zip(model.policy.sparse_topology.layers, policy.sparse_topology.layers):
        assert torch.equal(a.weight_mask, b.weight_mask)


def test_composes_with_snp_ps_neuron_masks(venv):
    model = PPO(
        SparsePrunedMaskPolicy, venv, n_steps=32, batch_size=64, seed=0, policy_kwargs=dict(SPARSE)
    )
    actor = model.policy.policy_network
    assert actor.masks() and model.policy.sparse_topology.sparsity() == pytest.approx(0.9, abs=5e-3)
    counts = _counts(model.policy)
    model.learn(128)
    _assert_exactly_sparse(model.policy, counts)
    q_model = MASTDQN(
        SparsePrunedMaskQPolicy,
        venv,
        learning_starts=30,
        buffer_size=500,
        seed=0,
        policy_kwargs=dict(SPARSE),
    )
    q_model.learn(90)
    assert q_model.policy.q_network.masks()


def test_composes_with_selective_sharing(venv):
    model = A2C(SparseSelectiveSharingPolicy, venv, n_steps=4, seed=0, policy_kwargs=SEPS)
    assert len(model.policy.policy_network.nets) == 3
    counts = _counts(model.policy)
    model.learn(96)
    _assert_exactly_sparse(model.policy, counts)
    q_model = DQN(
        SparseSelectiveSharingQPolicy,
        venv,
        buffer_size=2000,
        learning_starts=30,
        seed=0,
        policy_kwargs=SEPS,
    )
    assert q_model.policy.sparse_topology.sparsity() == pytest.approx(0.9, abs=5e-3)


def test_sparse_evolved_factory():
    cls = sparse_evolved(PPO.policy_aliases["MlpPolicy"])
    assert cls.__name__ == "SparseActorCriticPolicy"
    with pytest.raises(
        TypeError, match="sparse_evolved: SparseEvolvedPolicy is already sparse-evolved"
    ):
        sparse_evolved(SparseEvolvedPolicy)
    with pytest.raises(TypeError, match="sparse_evolved: expected a policy class"):
        sparse_evolved("MlpPolicy")


def test_invalid_sparse_kwargs_name_the_policy(venv):
    with pytest.raises(ValueError, match=r"SparseEvolvedPolicy: sparsity must be a fraction"):
        PPO(SparseEvolvedPolicy, venv, policy_kwargs={"sparsity": 1.2})
    with pytest.raises(
        ValueError, match=r"SparseEvolvedQPolicy: update_interval must be a positive"
    ):
        DQN(SparseEvolvedQPolicy, venv, policy_kwargs={"update_interval": -1})


def test_horizon_matches_the_optimizer_steps_of_training(venv):
    model = PPO(
        SparseEvolvedPolicy,
        venv,
        n_steps=32,
        batch_size=64,
        n_epochs=3,
        seed=0,
        policy_kwargs=dict(SPARSE),
    )
    assert (
        expected_optimizer_steps(model, 384) == 2 * 3 * 3
    )  # 2 rollouts of 192 rows, 3 batches, 3 epochs
    assert set_evolution_horizon(model, 384, end_fraction=0.5) == 9
    model.learn(384)
    assert int(model.policy.sparse_topology.step) == 18
    with pytest.raises(
        ValueError, match=r"set_evolution_horizon: end_fraction must be in \(0, 1\]"
    ):
        set_evolution_horizon(model, 384, end_fraction=0.0)
    dqn = MASTDQN(
        SparseEvolvedQPolicy,
        venv,
        buffer_size=2000,
        learning_starts=60,
        train_freq=2,
        gradient_steps=3,
        seed=0,
    )
    assert expected_optimizer_steps(dqn, 600) == (600 - 60) // 12 * 3
    dqn.learn(600)
    assert dqn.policy.sparse_topology.t_end == int(0.75 * 135)
    assert abs(int(dqn.policy.sparse_topology.step) - 135) <= 3


def test_metrics_are_logged_by_mastdqn_and_by_the_callback(venv):
    dqn = MASTDQN(
        SparseEvolvedQPolicy,
        venv,
        buffer_size=2000,
        learning_starts=30,
        sparse_log_interval=1,
        seed=0,
        policy_kwargs=dict(SPARSE, update_interval=200),
    )
    dqn.set_logger(configure(None, []))
    dqn.learn(60)
    dqn.train(gradient_steps=1, batch_size=8)
    logged = dqn.logger.name_to_value
    assert logged["sparse/sparsity"] == pytest.approx(0.9, abs=5e-3)
    assert 0.09 < logged["sparse/flops_train_ratio"] < 0.15
    assert "sparse/update_fraction" in logged and "mast/td_lambda_active" in logged

    ppo = PPO(
        SparseEvolvedPolicy, venv, n_steps=8, batch_size=48, seed=0, policy_kwargs=dict(SPARSE)
    )
    ppo.set_logger(configure(None, []))
    callback = SparseMetricsCallback()
    callback.init_callback(ppo)
    callback.on_rollout_end()
    assert ppo.logger.name_to_value["sparse/size_ratio"] == pytest.approx(0.1, abs=5e-3)
    assert ppo.logger.name_to_value["sparse/topology_step"] == 0
