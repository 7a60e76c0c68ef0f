"""MAgent2 at scale (issue 13): 162 agents with 13x13 image observations through make_vec_env.

Agents leaving the game (dying, episodes ending) are covered for every env by the vec-env tests;
here: the image slots of a few hundred agents, the CNN trunk, valid actions, padded teams.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

import policies
import ps_wrappers
from ps_wrappers.testing import action_audit

battle_v4 = pytest.importorskip("magent2.environments.battle_v4")
adversarial_pursuit_v4 = pytest.importorskip("magent2.environments.adversarial_pursuit_v4")
torch.set_num_threads(1)


def test_battle_trains_a_cnn_sharing_policy_on_162_agents_with_valid_actions_only() -> None:
    audits = []

    def env_fn():  # 45x45 map: 81 agents a team, episodes of 12 steps
        env = action_audit(battle_v4.parallel_env(map_size=45, max_cycles=12))
        audits.append(env)
        return env

    venv = ps_wrappers.make_vec_env(env_fn, n_envs=1, seed=0)
    assert venv.num_envs == 162
    image = venv.observation_space["image"]
    assert image.shape == (5, 13, 13) and image.dtype == np.float32
    model = PPO(policies.FullSharingPolicy, venv, n_steps=16, batch_size=648, n_epochs=1, seed=0,
                policy_kwargs={"agent_id": True})
    assert isinstance(model.policy.features_extractor.trunk.extractor, policies.GridCNN)
    model.learn(2 * 16 * 162)
    assert model.rollout_buffer.observations["image"].dtype == np.float32
    assert model.rollout_buffer.observations["agent"].dtype == np.uint8  # an index, not a 162-wide one-hot
    assert sum(len(a.violations) for a in audits) == 0
    assert len(model.ep_info_buffer) >= 100  # every agent's episode ended (12-step episodes), stats per agent


def test_adversarial_pursuit_pads_heterogeneous_images_and_actions() -> None:
    fn = lambda: adversarial_pursuit_v4.parallel_env(map_size=15, max_cycles=10)  # noqa: E731
    venv = ps_wrappers.make_vec_env(fn, n_envs=1, seed=0)
    assert venv.observation_space["image"].shape == (5, 10, 10)  # prey's 9x9 padded to the predators' 10x10
    assert venv.action_space.n == 13  # predators 9 actions, prey 13: padded, masked
    model = PPO(policies.SelectiveSharingPolicy, venv, n_steps=8, batch_size=64, n_epochs=1, seed=0)
    model.learn(2 * 8 * venv.num_envs)
    result = ps_wrappers.evaluate(model, fn, n_episodes=1)
    assert result.lengths == [10]
