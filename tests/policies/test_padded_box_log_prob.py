"""On-policy families with Box actions of different sizes: padded dimensions never enter learning.

Agents 0 and 1 act in 1 and 3 dimensions, padded to one 3-dimensional Box. A row's
log-probability and entropy must sum its agent's real dimensions only (PPO's ratio, A2C's and
TRPO's policy gradient, the entropy bonus), whatever the padded dimensions of its action hold.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
import torch
from sb3_contrib import RecurrentPPO
from stable_baselines3 import A2C, PPO

import ps_wrappers
from policies import ppo, recurrent
from policies.core.continuous import RealDimsDiagGaussian
from ps_wrappers.testing import ContinuousIdentityEnv

DIMS = (1, 3)
CLASSES = [ppo.FullSharingPolicy, ppo.SelectiveSharingPolicy, ppo.PrunedMaskPolicy, ppo.LearnedMaskPolicy,
           ppo.SparseEvolvedPolicy, recurrent.FullSharingPolicy, recurrent.SelectiveSharingPolicy]


def _env() -> ContinuousIdentityEnv:
    return ContinuousIdentityEnv(n_agents=2, action_dims=DIMS)


def _evaluate(model: Any, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    policy = model.policy
    if isinstance(model, RecurrentPPO):
        n = obs.shape[0]
        shape = (policy.lstm_actor.num_layers, n, policy.lstm_actor.hidden_size)
        zeros = torch.zeros(shape)
        from sb3_contrib.common.recurrent.type_aliases import RNNStates

        states = RNNStates((zeros, zeros), (zeros, zeros))
        _, log_prob, entropy = policy.evaluate_actions(obs, actions, states, torch.ones(n))
    else:
        _, log_prob, entropy = policy.evaluate_actions(obs, actions)
    return log_prob, entropy


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__.split('.')[1]}.{c.__name__}")
def test_log_prob_and_entropy_sum_the_real_dimensions_only(cls: type) -> None:
    venv = ps_wrappers.make_vec_env(_env, n_envs=1, seed=0)
    algo = RecurrentPPO if cls.__module__.startswith("policies.recurrent") else PPO
    kwargs = {"clusters": "agent"} if "Selective" in cls.__name__ else {}
    model = algo(cls, venv, n_steps=8, batch_size=16, policy_kwargs={**kwargs, "log_std_init": -0.3}, seed=0, device="cpu")
    assert isinstance(model.policy.action_dist, RealDimsDiagGaussian)
    obs = torch.as_tensor(venv.reset())  # row 0: agent 0 (1 real dimension), row 1: agent 1 (3)
    actions = torch.zeros(2, 3)
    log_prob, entropy = _evaluate(model, obs, actions)
    moved = actions.clone()
    moved[0, 1:] = 5.0  # agent 0's padded dimensions: the env never sees them
    log_prob_moved, entropy_moved = _evaluate(model, obs, moved)
    torch.testing.assert_close(log_prob_moved, log_prob)
    torch.testing.assert_close(entropy_moved, entropy)
    per_dim = 0.5 + 0.5 * math.log(2 * math.pi) - 0.3  # the entropy of one Gaussian dimension
    torch.testing.assert_close(entropy, torch.tensor([1 * per_dim, 3 * per_dim]))
    moved[1, 2] = 5.0  # a real dimension of agent 1 does count
    assert not torch.isclose(_evaluate(model, obs, moved)[0][1], log_prob[1])


def test_padded_dimensions_get_no_gradient_from_an_agent_without_them() -> None:
    venv = ps_wrappers.make_vec_env(_env, n_envs=1, seed=0)
    model = A2C(ppo.FullSharingPolicy, venv, n_steps=4, seed=0, device="cpu")
    obs = torch.as_tensor(venv.reset())
    _, log_prob, entropy = model.policy.evaluate_actions(obs[:1], torch.ones(1, 3))  # agent 0 only
    (log_prob.sum() + entropy.sum()).backward()
    grad = model.policy.log_std.grad
    assert grad is not None and grad[0] != 0 and torch.all(grad[1:] == 0)


def test_equal_box_sizes_keep_sb3_s_distribution() -> None:
    venv = ps_wrappers.make_vec_env(lambda: ContinuousIdentityEnv(n_agents=2, action_dims=2), n_envs=1, seed=0)
    model = PPO(ppo.FullSharingPolicy, venv, n_steps=8, batch_size=16, seed=0, device="cpu")
    assert type(model.policy.action_dist).__name__ == "DiagGaussianDistribution"
    model.learn(16)
    assert np.isfinite(model.policy.log_std.detach().numpy()).all()


def test_trpo_kl_ignores_padded_dimensions_and_sends_no_gradient_through_them() -> None:
    """TRPO's constraint (SB3's kl_divergence of old and new distributions) sees real dimensions only."""
    from sb3_contrib import TRPO
    from stable_baselines3.common.distributions import kl_divergence

    venv = ps_wrappers.make_vec_env(_env, n_envs=1, seed=0)
    model = TRPO(ppo.FullSharingPolicy, venv, n_steps=8, batch_size=8, seed=0, device="cpu")
    policy = model.policy
    head = policy.mlp_extractor.policy_net.head  # outputs the 3 means
    obs = torch.as_tensor(venv.reset())[:1]  # agent 0: 1 real dimension of 3
    with torch.no_grad():  # as TRPO keeps it (a copy: the policy reuses one distribution object)
        old = copy.copy(policy.get_distribution(obs))
    with torch.no_grad():
        policy.log_std[1:] += 1.0  # moves only dimensions that are padded for agent 0
        head.bias[1:] += 2.0
    new = policy.get_distribution(obs)
    kl = kl_divergence(new, old)
    assert kl.shape == (1, 3) and torch.all(kl == 0)
    with torch.no_grad():
        policy.log_std[0] += 0.5  # its real dimension does count
    assert kl_divergence(policy.get_distribution(obs), old)[0, 0] > 0
    policy.zero_grad()
    kl_divergence(policy.get_distribution(obs), old).sum().backward()
    assert torch.all(policy.log_std.grad[1:] == 0) and torch.all(head.weight.grad[1:] == 0)
    assert policy.log_std.grad[0] != 0
