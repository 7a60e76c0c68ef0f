"""Invalid actions are never chosen; placeholder rows contribute no actor gradient."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import DQN

from policies import (
    FullSharingPolicy,
    FullSharingQPolicy,
    MaskedDQN,
    MaskedExplorationWarning,
    PrunedMaskPolicy,
    PrunedMaskQPolicy,
    SelectiveSharingPolicy,
    SelectiveSharingQPolicy,
    random_valid_actions,
)
from tests.policies.policy_test_utils import lr, slot_obs, slot_space

AC_CLASSES = [FullSharingPolicy, SelectiveSharingPolicy, PrunedMaskPolicy]
Q_CLASSES = [FullSharingQPolicy, SelectiveSharingQPolicy, PrunedMaskQPolicy]


def _random_masks(rng: np.random.Generator, rows: int, n: int) -> np.ndarray:
    mask = (rng.random((rows, n)) < 0.4).astype(np.float32)
    mask[np.arange(rows), rng.integers(n, size=rows)] = 1.0
    return mask


@pytest.mark.parametrize("cls", AC_CLASSES)
def test_actor_critic_paths_never_choose_an_invalid_action(cls):
    space = slot_space(n_actions=6)
    policy = cls(space, spaces.Discrete(6), lr)
    rng = np.random.default_rng(0)
    mask = _random_masks(rng, 300, 6)
    obs = slot_obs(space, rng.integers(3, size=300), mask)
    valid = torch.as_tensor(mask) > 0.5
    with torch.no_grad():
        for deterministic in (False, True):
            actions, _, log_prob = policy(obs, deterministic=deterministic)
            assert valid[torch.arange(300), actions].all()
            assert torch.isfinite(log_prob).all()
            assert valid[torch.arange(300), policy._predict(obs, deterministic)].all()
        probs = policy.get_distribution(obs).distribution.probs
        assert torch.all(probs[~valid] == 0)
        _, log_prob, _ = policy.evaluate_actions(obs, actions)
        assert torch.isfinite(log_prob).all()


def test_multidiscrete_masks_apply_per_dimension():
    space = slot_space(n_actions=5, action_nvec=(3, 2))
    policy = FullSharingPolicy(space, spaces.MultiDiscrete([3, 2]), lr)
    rng = np.random.default_rng(1)
    mask = np.concatenate([_random_masks(rng, 200, 3), _random_masks(rng, 200, 2)], axis=1)
    obs = slot_obs(space, rng.integers(3, size=200), mask)
    with torch.no_grad():
        actions, _, _ = policy(obs)
    assert np.all(mask[np.arange(200), actions[:, 0].numpy()] == 1)
    assert np.all(mask[np.arange(200), 3 + actions[:, 1].numpy()] == 1)
    sampled = random_valid_actions(obs.numpy(), space.layout, spaces.MultiDiscrete([3, 2]), np.random.default_rng(0))
    assert np.all(mask[np.arange(200), sampled[:, 0]] == 1) and np.all(mask[np.arange(200), 3 + sampled[:, 1]] == 1)


@pytest.mark.parametrize("cls", AC_CLASSES)
def test_placeholder_rows_give_no_actor_gradient_with_box_actions(cls):
    space = slot_space(n_actions=0)
    policy = cls(space, spaces.Box(-1.0, 1.0, (2,), np.float32), lr)
    acting = np.array([1.0, 0.0, 1.0, 0.0])
    obs = slot_obs(space, np.array([0, 1, 2, 0]), acting=acting)
    actions = torch.randn(4, 2)
    _, log_prob, entropy = policy.evaluate_actions(obs, actions)
    assert torch.all(log_prob[acting == 0] == 0) and torch.all(entropy[acting == 0] == 0)
    assert torch.all(log_prob[acting == 1] != 0)
    with torch.no_grad():
        _, _, rollout_log_prob = policy(obs)
    assert torch.all(rollout_log_prob[acting == 0] == 0)  # PPO ratio exp(0 - 0) = 1 for them
    # Gradient of a loss on the placeholder rows only: nothing reaches the actor.
    placeholder_only = obs[acting == 0]
    policy.zero_grad()
    _, lp, ent = policy.evaluate_actions(placeholder_only, actions[acting == 0])
    (lp.sum() + ent.sum()).backward()
    log_stds = [p for name, p in policy.named_parameters() if "log_std" in name]
    assert log_stds, "the Gaussian log_std must be a parameter of the policy"
    actor_grads = [p.grad for p in policy.policy_network.parameters()] + [p.grad for p in log_stds]
    assert all(g is None or torch.all(g == 0) for g in actor_grads)


def test_masked_placeholder_rows_have_zero_log_prob_and_entropy():
    space = slot_space(n_actions=4)
    policy = PrunedMaskPolicy(space, spaces.Discrete(4), lr)
    mask = np.array([[0, 0, 1, 0], [1, 1, 1, 1]], dtype=np.float32)
    obs = slot_obs(space, np.array([0, 1]), mask, acting=np.array([0.0, 1.0]))
    _, log_prob, entropy = policy.evaluate_actions(obs, torch.tensor([2, 1]))
    assert log_prob[0] == 0 and entropy[0] == 0 and entropy[1] > 0


@pytest.mark.parametrize("cls", Q_CLASSES)
def test_q_policies_mask_the_greedy_action_and_the_target_max(cls):
    space = slot_space(n_actions=6)
    policy = cls(space, spaces.Discrete(6), lr)
    rng = np.random.default_rng(2)
    mask = _random_masks(rng, 300, 6)
    obs = slot_obs(space, rng.integers(3, size=300), mask)
    with torch.no_grad():
        greedy = policy._predict(obs)
        target_max = policy.q_net_target(obs).max(dim=1).values
        raw = policy.q_net_target.q_net(*space.layout.split(obs)[:2])
    valid = torch.as_tensor(mask) > 0.5
    assert valid[torch.arange(300), greedy].all()
    torch.testing.assert_close(target_max, raw.masked_fill(~valid, -torch.inf).max(dim=1).values)


def _masked_venv():
    """A vec env whose two agents have 3 and 5 actions (padded to 5): masks exclude actions."""
    import ps_wrappers
    from ps_wrappers.testing import SpaceMapEnv

    box = spaces.Box(-1.0, 1.0, (3,), np.float32)
    return ps_wrappers.make_vec_env(
        lambda: SpaceMapEnv({"a_0": box, "b_0": box}, {"a_0": spaces.Discrete(3), "b_0": spaces.Discrete(5)}),
        n_envs=3,
        seed=0,
    )


def test_masked_dqn_warm_up_and_epsilon_draw_only_valid_actions_with_a_coin_per_row():
    venv = _masked_venv()
    model = MaskedDQN(FullSharingQPolicy, venv, learning_starts=40, buffer_size=500, train_freq=4, seed=0)
    assert model.policy.masked_exploration
    model.learn(120)  # warm-up and epsilon-greedy steps; the env raises on a padded action
    obs = np.repeat(venv.reset(), 200, axis=0)
    model.exploration_rate = 0.5
    actions, _ = model.predict(obs)
    valid = obs[np.arange(len(obs)), venv.observation_space.layout.mask_slice.start + actions] == 1
    assert valid.all()
    greedy, _ = model.predict(obs, deterministic=True)
    explored = actions != greedy
    # one coin per row: some rows explore and others do not in the same batch
    assert 0.1 < explored.mean() < 0.6


def test_stock_dqn_training_on_masked_env_warns_with_the_fix():
    space = slot_space(n_actions=4)
    policy = FullSharingQPolicy(space, spaces.Discrete(4), lr)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=np.float32)
    obs = slot_obs(space, np.array([0, 1]), mask)
    policy.set_training_mode(True)
    with pytest.warns(MaskedExplorationWarning, match=r"Train with policies.MaskedDQN .* MaskedDQN\(FullSharingQPolicy, venv\)"):
        policy.q_net(obs)
    policy.masked_exploration = True
    fresh = FullSharingQPolicy(space, spaces.Discrete(4), lr)
    fresh.masked_exploration = True
    fresh.set_training_mode(True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fresh.q_net(obs)


def test_stock_dqn_on_unmasked_env_trains_without_warning(identity_venv):
    with warnings.catch_warnings():
        warnings.simplefilter("error", MaskedExplorationWarning)
        DQN(FullSharingQPolicy, identity_venv(n_envs=1), learning_starts=20, train_freq=2, seed=0).learn(60)


@pytest.mark.parametrize("scale", [1e3, 1e9, 1e30])
def test_masking_is_exact_at_any_scale_of_the_values(scale):
    """Valid Q-values far below any fixed constant (large per-step costs) still win over masked ones."""
    from policies import mask_scores

    scores = torch.tensor([[0.0, -scale, 5.0], [-scale, -2 * scale, 0.0]])
    mask = torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    masked = mask_scores(scores, mask)
    assert masked.argmax(-1).tolist() == [1, 0]
    torch.testing.assert_close(masked.max(-1).values, torch.tensor([-scale, -scale]))
    probs = torch.distributions.Categorical(logits=masked).probs
    assert probs[0].tolist() == [0.0, 1.0, 0.0]
    entropy = torch.distributions.Categorical(logits=masked).entropy()
    assert torch.isfinite(entropy).all()


@pytest.mark.parametrize("cls", Q_CLASSES)
def test_q_policy_greedy_and_target_max_are_exact_with_huge_costs(cls):
    space = slot_space(n_actions=4)
    policy = cls(space, spaces.Discrete(4), lr)
    for head in policy.q_network.head_layers():
        with torch.no_grad():
            head.weight.zero_()
            head.bias.copy_(torch.tensor([0.0, -1e9, -2e9, 10.0]))  # valid actions cost 1e9 and more
    mask = np.array([[0, 1, 1, 0], [0, 0, 1, 0]], np.float32)
    obs = slot_obs(space, np.array([0, 2]), mask=mask)
    with torch.no_grad():
        q = policy.q_net(obs)
    assert q.argmax(-1).tolist() == [1, 2]
    assert q.max(-1).values.tolist() == [-1e9, -2e9]
    assert policy.predict(obs.numpy(), deterministic=True)[0].tolist() == [1, 2]
