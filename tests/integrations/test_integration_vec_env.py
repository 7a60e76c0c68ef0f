"""Every integration goes straight into ps_wrappers.make_vec_env; BPS with 1,000 agents trains."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

from integrations import bps, crware, lbforaging, rware, smac
from integrations.smac_stub import FakeStarCraft2Env
from ps_wrappers import get_layout, make_vec_env

ENVS = {
    "lbforaging": partial(lbforaging.parallel_env, players=3, max_episode_steps=10),
    "rware": partial(rware.parallel_env, max_steps=10),
    "crware": partial(crware.parallel_env, max_steps=10),
    "bps-h": partial(bps.parallel_env, group_sizes=(2, 1), heterogeneous=True, max_cycles=10),
    "smac": partial(smac.parallel_env, "3m", env_factory=FakeStarCraft2Env, episode_limit=10),
}


@pytest.mark.filterwarnings("ignore:integrations.smac. StarCraft II was launched:UserWarning")
@pytest.mark.parametrize("name", list(ENVS))
def test_make_vec_env_steps_through_episode_ends(name):
    venv = make_vec_env(ENVS[name], n_envs=2, seed=0)
    n_agents = len(ENVS[name]().possible_agents)
    assert venv.num_envs == 2 * n_agents
    obs = venv.reset()
    assert obs.shape == (venv.num_envs, get_layout(venv.observation_space).total_dim)
    rng = np.random.default_rng(0)
    dones = 0
    for _ in range(25):
        masks = venv.action_masks()
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in masks])
        obs, rew, done, infos = venv.step(actions)
        assert all(venv.observation_space.contains(row) for row in obs)
        assert np.isfinite(rew).all()
        dones += int(done.sum())
    assert dones >= venv.num_envs  # every slot went through at least one episode end


def test_crware_padded_actions_are_masked_per_type():
    venv = make_vec_env(crware.parallel_env, n_envs=1, seed=0)
    venv.reset()
    masks = venv.action_masks()
    assert masks.shape == (4, 6)
    assert not masks[:2, 5].any()  # "relative" robots have no action 5
    assert masks[2:, 5].all()  # "absolute" robots do (toggle load)


def test_bps_1000_agents_one_ppo_update():
    torch.manual_seed(0)
    venv = make_vec_env(partial(bps.parallel_env, group_sizes=(334, 333, 333)), n_envs=1, seed=0)
    assert venv.num_envs == 1000
    model = PPO("MlpPolicy", venv, n_steps=4, batch_size=1000, n_epochs=1, seed=0, device="cpu")
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(total_timesteps=4000)
    assert model.num_timesteps == 4000
    assert model.logger.name_to_value["train/n_updates"] == 1
    assert np.isfinite(model.logger.name_to_value["train/loss"])
    changed = [not torch.equal(b, p) for b, p in zip(before, model.policy.parameters())]
    assert all(changed)
