"""SAC and TD3 policies: padded action dimensions, placeholder rows, masks and routing in critics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import SquashedDiagGaussianDistribution

import ps_wrappers
from policies import sac, td3
from policies.core.heads import NeuronMaskedMLP, RoutedMLP
from policies.sac import MaskedSAC
from ps_wrappers.testing import ContinuousIdentityEnv

from .policy_test_utils import box_slot_space, lr, slot_obs

BOX3 = spaces.Box(-1.0, 1.0, (3,), np.float32)
FAMILIES = [sac, td3]


def _policy(module, name="FullSharingPolicy", **kwargs):
    torch.manual_seed(0)
    return getattr(module, name)(box_slot_space(), BOX3, lr, net_arch=[16, 16], **kwargs)


def _actor_actions(policy, obs):
    if isinstance(policy, sac.SharingSACPolicy):
        return policy.actor.action_log_prob(obs)
    return policy.actor(obs), None


def test_sac_log_prob_sums_only_each_agents_real_dimensions_and_placeholders_count_zero():
    policy = _policy(sac)
    obs = slot_obs(policy.observation_space, np.array([0, 1, 2, 2]), acting=np.array([1, 1, 1, 0]))
    torch.manual_seed(7)
    actions, log_prob = policy.actor.action_log_prob(obs)
    torch.manual_seed(7)
    mean, log_std, _ = policy.actor.get_action_dist_params(obs)
    dist = SquashedDiagGaussianDistribution(3).proba_distribution(mean, log_std)
    gaussian = dist.distribution.rsample()
    per_dim = dist.distribution.log_prob(gaussian) - torch.log(1 - torch.tanh(gaussian) ** 2 + 1e-6)
    expected = torch.stack([per_dim[0, :1].sum(), per_dim[1, :2].sum(), per_dim[2, :3].sum(), torch.tensor(0.0)])
    torch.testing.assert_close(log_prob, expected)
    torch.testing.assert_close(actions, torch.tanh(gaussian))
    torch.testing.assert_close(policy.actor.row_target_entropy, torch.tensor([-1.0, -2.0, -3.0, 0.0]))


@pytest.mark.parametrize("module", FAMILIES, ids=["sac", "td3"])
def test_padded_action_dimensions_change_no_q_value(module):
    policy = _policy(module)
    obs = slot_obs(policy.observation_space, np.array([0, 1, 2]))
    actions = torch.zeros(3, 3)
    base = policy.critic(obs, actions)
    padded = actions.clone()
    padded[0, 1:] = 0.9  # agent a has 1 real dimension, b has 2
    padded[1, 2] = -0.7
    for q, q_padded in zip(base, policy.critic(obs, padded)):
        torch.testing.assert_close(q, q_padded)
    real = actions.clone()
    real[:, 0] = 0.5
    assert all(bool((q != q_real).all()) for q, q_real in zip(base, policy.critic(obs, real)))
    assert len(base) == 2 and policy.critic.n_critics == 2


@pytest.mark.parametrize("module", FAMILIES, ids=["sac", "td3"])
def test_actor_learns_nothing_from_placeholders_or_padded_dimensions(module):
    policy = _policy(module)
    head = policy.policy_network.head_layers()[0]

    def actor_grad(agent, acting):
        policy.zero_grad()
        obs = slot_obs(policy.observation_space, np.full(8, agent), acting=np.full(8, acting))
        actions, log_prob = _actor_actions(policy, obs)
        loss = -policy.critic(obs, actions)[0].mean() + (0.1 * log_prob.mean() if log_prob is not None else 0.0)
        loss.backward()
        return {n: (p.grad if p.grad is not None else torch.zeros_like(p)) for n, p in policy.actor.named_parameters()}

    assert all(float(g.abs().sum()) == 0.0 for g in actor_grad(2, 0).values())  # placeholder rows
    grads = actor_grad(0, 1)  # agent a: only dimension 0 is real
    assert sum(float(g.abs().sum()) for g in grads.values()) > 0
    head_grad = head.weight.grad
    outputs = [1, 2] if module is td3 else [1, 2, 4, 5]  # SAC: [means | log-stds]
    assert float(head_grad[outputs].abs().sum()) == 0.0
    assert float(head_grad[0].abs().sum()) > 0.0


@pytest.mark.parametrize("module", FAMILIES, ids=["sac", "td3"])
def test_snp_ps_masked_neurons_of_each_critic_get_no_gradient_from_their_agent(module):
    policy = _policy(module, "PrunedMaskPolicy", critic_pruning=[0.5, 0.5], actor_pruning=0.5)
    critics = policy.critic_networks
    assert all(isinstance(c, NeuronMaskedMLP) for c in critics)
    assert not torch.equal(critics[0].agent_masks()[0], critics[1].agent_masks()[0])  # one draw per critic
    for online, target in zip(critics, policy.critic_target.q_networks):
        for m, t in zip(online.agent_masks(), target.agent_masks()):
            assert torch.equal(m, t)  # targets carry the same masks
    for agent in range(3):
        policy.zero_grad()
        obs = slot_obs(policy.observation_space, np.full(6, agent), seed=agent)
        sum(q.sum() for q in policy.critic(obs, torch.rand(6, 3) * 2 - 1)).backward()
        for critic in critics:
            for layer, mask in zip(critic.hidden, critic.agent_masks()):
                pruned = mask[agent] < 0.5
                assert pruned.any()
                assert float(layer.weight.grad[pruned].abs().sum()) == 0.0
                assert float(layer.bias.grad[pruned].abs().sum()) == 0.0
                assert float(layer.weight.grad[~pruned].abs().sum()) > 0.0


@pytest.mark.parametrize("module", FAMILIES, ids=["sac", "td3"])
def test_seps_routes_critic_rows_to_their_cluster_and_targets_route_alike(module):
    policy = _policy(module, "SelectiveSharingPolicy", clusters=[0, 1, 1])
    critics = policy.critic_networks
    assert all(isinstance(c, RoutedMLP) and c.n_clusters == 2 for c in critics)
    assert isinstance(policy.actor.policy_net if module is sac else policy.actor.mu, RoutedMLP)
    for online, target in zip(critics, policy.critic_target.q_networks):
        assert torch.equal(online.cluster_of_agent, target.cluster_of_agent)
    policy.zero_grad()
    obs = slot_obs(policy.observation_space, np.array([1, 2, 1, 2]))
    sum(q.sum() for q in policy.critic(obs, torch.zeros(4, 3))).backward()
    for critic in critics:
        assert all(p.grad is None or float(p.grad.abs().sum()) == 0.0 for p in critic.nets[0].parameters())
        assert all(p.grad is not None and float(p.grad.abs().sum()) > 0.0 for p in critic.nets[1].parameters())


def test_masked_sac_targets_each_agents_own_entropy_and_saves_the_mode(tmp_path):
    env_fn = lambda: ContinuousIdentityEnv(n_agents=3, action_dims=[1, 2, 3])  # noqa: E731
    venv = ps_wrappers.make_vec_env(env_fn, n_envs=1, seed=0)
    model = MaskedSAC(sac.FullSharingPolicy, venv, seed=0, learning_starts=10, batch_size=16, policy_kwargs={"net_arch": [16]})
    assert model.target_entropy == -3.0  # SB3's -dim(A) until a batch is evaluated
    model.learn(60)
    rows = model.policy.actor.row_target_entropy
    assert sorted(set(rows.tolist())) <= [-3.0, -2.0, -1.0] and len(set(rows.tolist())) > 1
    assert model.target_entropy == pytest.approx(float(rows.mean()))
    model.save(tmp_path / "m")
    assert MaskedSAC.load(tmp_path / "m", env=venv).per_agent_target_entropy
    fixed = MaskedSAC(sac.FullSharingPolicy, venv, target_entropy=-0.5, learning_starts=10, batch_size=16)
    fixed.learn(40)
    assert fixed.target_entropy == -0.5 and not fixed.per_agent_target_entropy


def test_off_policy_policies_refuse_discrete_actions_sde_and_padding_without_ids():
    with pytest.raises(TypeError, match=r"FullSharingPolicy: SAC needs a Box action space.*policies.dqn"):
        sac.FullSharingPolicy(box_slot_space(), spaces.Discrete(3), lr)
    with pytest.raises(TypeError, match=r"PrunedMaskPolicy: TD3 needs a Box action space"):
        td3.PrunedMaskPolicy(box_slot_space(), spaces.Discrete(3), lr)
    with pytest.raises(ValueError, match=r"use_sde=True is not supported"):
        sac.FullSharingPolicy(box_slot_space(), BOX3, lr, use_sde=True)
    no_ids = box_slot_space(agent_ids=False)
    with pytest.raises(ValueError, match=r"different sizes \[\(1,\), \(2,\), \(3,\)\].*agent_ids=True"):
        td3.FullSharingPolicy(no_ids, BOX3, lr)
    with pytest.raises(ValueError, match=r"does not fit in the padded action shape \(2,\)"):
        sac.FullSharingPolicy(box_slot_space(), spaces.Box(-1, 1, (2,)), lr)


def test_share_features_extractor_is_saved_with_the_policy(tmp_path):
    policy = _policy(sac, share_features_extractor=True)
    assert policy.critic.features_extractor is policy.actor.features_extractor
    policy.save(tmp_path / "p")
    assert sac.FullSharingPolicy.load(tmp_path / "p").share_features_extractor


def test_evolution_horizon_covers_actor_and_critics_with_td3_policy_delay():
    from stable_baselines3 import TD3

    from policies.sparse import set_evolution_horizon

    env_fn = lambda: ContinuousIdentityEnv(n_agents=2, action_dims=[1, 2])  # noqa: E731
    venv = ps_wrappers.make_vec_env(env_fn, n_envs=1, seed=0)
    model = TD3(td3.SparseEvolvedPolicy, venv, learning_starts=100, policy_delay=2, policy_kwargs={"net_arch": [16]})
    horizon = set_evolution_horizon(model, total_timesteps=1_100, end_fraction=1.0)
    topologies = model.policy.sparse_topologies()
    assert topologies["critic_sparse_topology"].t_end == 500  # (1100 - 100) agent-steps / 2 slots, one step each
    assert topologies["sparse_topology"].t_end == horizon == 250  # the actor steps every policy_delay
