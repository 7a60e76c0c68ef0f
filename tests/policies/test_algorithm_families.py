"""Every class of every algorithm family trains on a heterogeneous env, sends only valid actions,
and acts identically after save / load (model and policy alone)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from sb3_contrib import TRPO, RecurrentPPO
from stable_baselines3 import DDPG, TD3
from stable_baselines3.common.noise import NormalActionNoise

import ps_wrappers
from policies import dqn, ppo, recurrent, sac, td3
from policies.dqn import MaskedQRDQN, qrdqn
from policies.sac import MaskedSAC
from ps_wrappers.testing import action_audit

simple_world_comm_v3 = pytest.importorskip("mpe2.simple_world_comm_v3")

FAMILY_NAMES = (
    "FullSharingPolicy",
    "SelectiveSharingPolicy",
    "PrunedMaskPolicy",
    "SparseEvolvedPolicy",
    "SparsePrunedMaskPolicy",
    "SparseSelectiveSharingPolicy",
    "LearnedMaskPolicy",
)
SMALL = {"net_arch": [32, 32]}
OFF_POLICY = {"learning_starts": 60, "batch_size": 32, "buffer_size": 2_000}


def _noise(venv: Any) -> NormalActionNoise:
    dim = venv.action_space.shape[0]
    return NormalActionNoise(np.zeros(dim), 0.2 * np.ones(dim))


# (algorithm, module, continuous actions, algorithm kwargs (a function of the vec env), policy kwargs)
FAMILIES: list[tuple[Any, Any, bool, Callable[[Any], dict[str, Any]], dict[str, Any]]] = [
    (MaskedSAC, sac, True, lambda v: OFF_POLICY, SMALL),
    (TD3, td3, True, lambda v: {**OFF_POLICY, "action_noise": _noise(v)}, SMALL),
    (DDPG, td3, True, lambda v: {**OFF_POLICY, "action_noise": _noise(v)}, SMALL),
    (RecurrentPPO, recurrent, True, lambda v: {"n_steps": 16, "batch_size": 48, "n_epochs": 2}, {"lstm_hidden_size": 16, "net_arch": [32]}),
    (MaskedQRDQN, qrdqn, False, lambda v: {**OFF_POLICY, "train_freq": 4}, {"net_arch": [32, 32], "n_quantiles": 8}),
    (TRPO, ppo, False, lambda v: {"n_steps": 16, "batch_size": 48}, SMALL),
]
CASES = [(algo, module, cont, akw, pkw, name) for algo, module, cont, akw, pkw in FAMILIES for name in FAMILY_NAMES]
# FuPS+id and AdaPS are options of FullSharingPolicy and PrunedMaskPolicy: every family once each.
CASES += [(algo, module, cont, akw, {**pkw, "agent_id": True}, "FullSharingPolicy") for algo, module, cont, akw, pkw in FAMILIES]
CASES += [(algo, module, cont, akw, {**pkw, "method": "adaps"}, "PrunedMaskPolicy") for algo, module, cont, akw, pkw in FAMILIES]
CASES += [(RecurrentPPO, recurrent, False, FAMILIES[3][3], FAMILIES[3][4], "PrunedMaskPolicy")]
CASES += [(TRPO, ppo, True, FAMILIES[5][3], SMALL, "SelectiveSharingPolicy")]


def _case_id(case: tuple[Any, ...]) -> str:
    options = "+id" if case[4].get("agent_id") else ("-adaps" if case[4].get("method") == "adaps" else "")
    return f"{case[0].__name__}-{'box' if case[2] else 'discrete'}-{case[5]}{options}"


def _venv(continuous: bool, audits: list[Any]) -> Any:
    def make() -> Any:
        env = action_audit(simple_world_comm_v3.parallel_env(continuous_actions=continuous, max_cycles=25))
        audits.append(env)
        return env

    return ps_wrappers.make_vec_env(make, n_envs=1, seed=0)


def _rollout(model: Any, venv: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Three consecutive observations and their episode-start flags, acted on by ``model``."""
    obs, start = venv.reset(), np.ones(venv.num_envs, bool)
    state, observations, starts = None, [], []
    for _ in range(3):
        observations.append(obs)
        starts.append(start)
        action, state = model.predict(obs, state=state, episode_start=start, deterministic=True)
        obs, _, start, _ = venv.step(action)
    return observations, starts


def _act(model: Any, observations: list[np.ndarray], starts: list[np.ndarray]) -> np.ndarray:
    """Deterministic actions on recorded observations (LSTM states carried for RecurrentPPO)."""
    state, actions = None, []
    for obs, start in zip(observations, starts):
        action, state = model.predict(obs, state=state, episode_start=start, deterministic=True)
        actions.append(action)
    return np.stack(actions)


@pytest.mark.parametrize(
    ("algo", "module", "continuous", "algo_kwargs", "policy_kwargs", "name"),
    CASES,
    ids=[_case_id(c) for c in CASES],
)
def test_every_class_trains_acts_validly_and_round_trips(algo, module, continuous, algo_kwargs, policy_kwargs, name, tmp_path):
    cls = getattr(module, name)
    audits: list[Any] = []
    venv = _venv(continuous, audits)
    model = algo(cls, venv, seed=0, policy_kwargs=dict(policy_kwargs), **algo_kwargs(venv))  # SB3 edits the dict
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(300)
    assert model.num_timesteps >= 300
    assert any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters()))
    assert sum(a.received for a in audits) > 0
    assert [v for a in audits for v in a.violations] == []
    for topology in getattr(model.policy, "sparse_topologies", dict)().values():  # actor and critics
        assert abs(topology.sparsity() - 0.9) < 0.01
        for _, layer in topology.layers:
            assert float(layer.weight.detach()[~layer.weight_mask].abs().sum()) == 0.0

    observations, starts = _rollout(model, venv)
    actions = _act(model, observations, starts)
    model.save(tmp_path / "model")
    torch.manual_seed(123)  # masks drawn at construction from a different RNG state would differ
    loaded = algo.load(tmp_path / "model", env=venv)
    np.testing.assert_array_equal(_act(loaded, observations, starts), actions)
    state, loaded_state = model.policy.state_dict(), loaded.policy.state_dict()
    assert state.keys() == loaded_state.keys()
    for key, value in state.items():
        torch.testing.assert_close(loaded_state[key], value, msg=key)
    model.policy.save(tmp_path / "policy")
    policy = cls.load(tmp_path / "policy")
    np.testing.assert_array_equal(_act(policy, observations, starts), actions)


def test_sparse_topologies_stay_exact_in_targets_and_after_load(tmp_path):
    venv = _venv(True, [])
    model = TD3(td3.SparsePrunedMaskPolicy, venv, seed=0, policy_kwargs={**SMALL, "update_interval": 5}, **OFF_POLICY)
    model.learn(400)
    policy = model.policy
    topologies = policy.sparse_topologies()
    assert set(topologies) == {"sparse_topology", "critic_sparse_topology"}
    assert all(int(t.step) > 0 and abs(t.sparsity() - 0.9) < 0.01 for t in topologies.values())
    assert all(t.last_update.get("moved", 0) > 0 for t in topologies.values())  # RigL moved connections
    obs = torch.as_tensor(venv.reset())
    with torch.no_grad():
        policy.actor_target(obs)
        policy.critic_target(obs, policy.actor_target(obs))  # targets are masked before each forward
    pairs = (
        (policy.actor, policy.actor_target, "sparse_topology"),
        (policy.critic, policy.critic_target, "critic_sparse_topology"),
    )
    for online, target, name in pairs:
        online_layers, target_layers = dict(online.named_modules()), dict(target.named_modules())
        for layer_name, mask in topologies[name].masks().items():
            assert torch.equal(target_layers[layer_name].weight_mask, mask)
            assert float(target_layers[layer_name].weight.detach()[~mask].abs().sum()) == 0.0
            assert float(online_layers[layer_name].weight.detach()[~mask].abs().sum()) == 0.0
    model.save(tmp_path / "m")
    loaded = TD3.load(tmp_path / "m", env=venv)
    for name, topology in loaded.policy.sparse_topologies().items():
        assert int(topology.step) == int(topologies[name].step)
        for layer_name, mask in topology.masks().items():
            assert torch.equal(mask, topologies[name].masks()[layer_name])


def test_quantile_policies_are_exported_under_the_dqn_family():
    assert qrdqn.PrunedMaskPolicy is dqn.QuantilePrunedMaskPolicy
    assert dqn.MaskedQRDQN is MaskedQRDQN
