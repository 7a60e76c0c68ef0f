"""RecurrentPPO policies: one LSTM state per slot, resets at episode starts, placeholders hold it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces
from sb3_contrib.common.recurrent.type_aliases import RNNStates

from policies import recurrent
from policies.core.heads import NeuronMaskedMLP, RoutedMLP

from .policy_test_utils import lr, slot_obs, slot_space


def _policy(name="FullSharingPolicy", **kwargs):
    torch.manual_seed(0)
    return getattr(recurrent, name)(slot_space(), spaces.Discrete(4), lr, lstm_hidden_size=8, net_arch=[16], **kwargs)


def _zeros(policy, n):
    shape = (policy.lstm_actor.num_layers, n, policy.lstm_output_dim)
    return (torch.zeros(shape), torch.zeros(shape))


def _steps(agent, acting, seed):
    """Observations of ``len(acting)`` steps of one slot (random features)."""
    return [slot_obs(slot_space(), np.array([agent]), acting=np.array([a]), seed=seed + t) for t, a in enumerate(acting)]


def test_the_lstm_runs_on_trunk_features_and_the_heads_see_the_identity_after_it():
    policy = _policy("PrunedMaskPolicy")
    assert policy.lstm_actor.input_size == 3 and policy.lstm_critic.input_size == 3  # the 3 features only
    assert isinstance(policy.policy_network, NeuronMaskedMLP) and policy.policy_network.in_dim == 8
    seps = _policy("SelectiveSharingPolicy", clusters=[0, 1, 1])
    assert isinstance(seps.policy_network, RoutedMLP) and isinstance(seps.value_network, RoutedMLP)


def test_placeholder_rows_do_not_advance_the_state_and_episode_starts_reset_it():
    policy = _policy()
    lstm = policy.lstm_actor
    rows = _steps(0, [1, 0, 0, 1], seed=0)
    state = _zeros(policy, 1)
    for obs in rows:
        _, state = policy._process_sequence(policy.extract_features(obs), state, torch.zeros(1), lstm)
    reference = _zeros(policy, 1)
    for obs in (rows[0], rows[3]):  # the placeholders skipped
        _, reference = policy._process_sequence(policy.extract_features(obs), reference, torch.zeros(1), lstm)
    torch.testing.assert_close(state, reference)
    _, started = policy._process_sequence(policy.extract_features(rows[3]), state, torch.ones(1), lstm)
    _, fresh = policy._process_sequence(policy.extract_features(rows[3]), _zeros(policy, 1), torch.zeros(1), lstm)
    torch.testing.assert_close(started, fresh)
    assert not torch.allclose(state[0], fresh[0])


def test_training_sequences_reproduce_the_rollout_step_by_step():
    """evaluate_actions on whole sequences (with starts and placeholders inside) = the rollout's log-probs."""
    policy = _policy("PrunedMaskPolicy")
    acting = {0: [1, 1, 0, 0, 1, 1], 1: [1, 0, 1, 1, 1, 1]}
    starts = {0: [1, 0, 0, 0, 1, 0], 1: [1, 0, 0, 1, 0, 0]}
    obs = {s: _steps(s, acting[s], seed=10 * s) for s in (0, 1)}
    states = RNNStates(_zeros(policy, 2), _zeros(policy, 2))
    rollout_actions, rollout_log_probs, rollout_values = [], [], []
    with torch.no_grad():
        for t in range(6):
            batch = torch.cat([obs[0][t], obs[1][t]])
            episode_starts = torch.tensor([starts[0][t], starts[1][t]], dtype=torch.float32)
            actions, values, log_prob, states = policy(batch, states, episode_starts)
            rollout_actions.append(actions)
            rollout_log_probs.append(log_prob)
            rollout_values.append(values)
        # sb3-contrib's training layout: one sequence per slot, sequence-major.
        sequence = torch.cat([torch.cat(obs[s]) for s in (0, 1)])
        actions = torch.stack(rollout_actions, 1).reshape(-1)
        seq_starts = torch.tensor(starts[0] + starts[1], dtype=torch.float32)
        initial = RNNStates(_zeros(policy, 2), _zeros(policy, 2))
        values, log_prob, entropy = policy.evaluate_actions(sequence, actions, initial, seq_starts)
    torch.testing.assert_close(log_prob, torch.stack(rollout_log_probs, 1).reshape(-1))
    torch.testing.assert_close(values.reshape(-1), torch.stack(rollout_values, 1).reshape(-1))
    placeholder = torch.tensor(acting[0] + acting[1]) == 0
    assert float(log_prob[placeholder].abs().sum()) == 0.0 and float(entropy[placeholder].abs().sum()) == 0.0


@pytest.mark.parametrize(("shared_lstm", "critic_lstm"), [(True, False), (False, False)])
def test_critic_without_its_own_lstm_reads_latent_rows(shared_lstm, critic_lstm):
    policy = _policy(shared_lstm=shared_lstm, enable_critic_lstm=critic_lstm)
    obs = slot_obs(slot_space(), np.array([0, 1, 2]))
    states = RNNStates(_zeros(policy, 3), _zeros(policy, 3))
    actions, values, _, _ = policy(obs, states, torch.ones(3))
    assert values.shape == (3, 1) and ((actions >= 0) & (actions < 4)).all()
    if not shared_lstm:
        assert isinstance(policy.critic, recurrent.SlotProjection)
