"""Parameter counts against the SNP-PS paper's Table 2 (LBF: 76k, 78k, 229k, 76k)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from gymnasium import spaces
from stable_baselines3 import DQN, PPO

from policies import FullSharingQPolicy, count_parameters, format_parameter_table, parameter_table
from tests.policies.policy_test_utils import lr, slot_space


def _lbf_like():
    """LBF with 6 agents and 6 foods: 36 features, 6 actions; agents of 3 levels (SePS K = 3)."""
    agents = ("level1_0", "level1_1", "level2_0", "level2_1", "level3_0", "level3_1")
    return SimpleNamespace(observation_space=slot_space(36, agents, 6), action_space=spaces.Discrete(6))


def test_parameter_counts_match_the_snp_ps_paper_table_2():
    rows = {r.method: r.parameters for r in parameter_table(_lbf_like(), net_arch=[128, 128, 128])}
    # actor 36-128-128-128-6 and critic 36-128-128-128-1, as in the paper's LBF experiments
    assert rows["FuPS"] == 76_423 and round(rows["FuPS"], -3) == 76_000
    assert rows["FuPS+id"] == 76_423 + 2 * 6 * 128 and round(rows["FuPS+id"], -3) == 78_000
    assert rows["SePS"] == 3 * 76_423 and round(rows["SePS"], -3) == 229_000
    assert rows["SNP-PS"] == rows["AdaPS"] == rows["FuPS"]
    # Kaleidoscope: FuPS+id's weights plus one threshold per agent and weight
    weights = 2 * (42 * 128 + 2 * 128 * 128) + 128 * 6 + 128 * 1
    assert rows["Kaleidoscope"] == rows["FuPS+id"] + 6 * weights
    table = format_parameter_table(parameter_table(_lbf_like(), net_arch=[128, 128, 128]))
    assert "| SePS | SelectiveSharingPolicy | 229,269 |" in table


def test_q_counts_exclude_the_target_network_and_match_models():
    env = _lbf_like()
    rows = {r.method: r.parameters for r in parameter_table(env, algorithm="dqn")}
    q = 36 * 64 + 64 + 64 * 64 + 64 + 64 * 6 + 6
    kaleidoscope = q + 6 * 64 + 6 * (42 * 64 + 64 * 64 + 64 * 6)  # FuPS+id and a threshold per agent and weight
    assert rows == {"FuPS": q, "FuPS+id": q + 6 * 64, "SePS": 3 * q, "SNP-PS": q, "AdaPS": q, "Kaleidoscope": kaleidoscope}
    policy = FullSharingQPolicy(env.observation_space, env.action_space, lr)
    assert count_parameters(policy) == q < sum(p.numel() for p in policy.parameters())


def test_count_parameters_of_a_model_equals_its_policy(world_comm_venv):
    venv = world_comm_venv(n_envs=1)
    model = PPO("MlpPolicy", venv, n_steps=8, batch_size=48)
    assert count_parameters(model) == count_parameters(model.policy) == sum(p.numel() for p in model.policy.parameters())
    dqn = DQN(FullSharingQPolicy, venv, learning_starts=10)
    assert count_parameters(dqn) == count_parameters(dqn.policy)


def test_parameter_table_rejects_unknown_algorithms():
    with pytest.raises(ValueError, match="parameter_table: algorithm must be 'ppo', 'a2c' or 'dqn', got 'sac'"):
        parameter_table(_lbf_like(), algorithm="sac")
