"""Preprocessed image envs through make_vec_env: ours and SuperSuit's.

Every slot's features must be exactly the wrapped env's observation of that agent (the flat
layout stores the flattened frames, the image layout the channels-first image), and PPO must run
on the result.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import supersuit as ss
from pettingzoo.butterfly import pistonball_v6
from stable_baselines3 import PPO

from policies import FullSharingPolicy
from ps_wrappers import color_reduction, frame_stack, make_vec_env, resize


def ours() -> Any:
    return frame_stack(resize(color_reduction(pistonball_v6.parallel_env(max_cycles=20)), 84, 84), 4)


def supersuits() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = ss.color_reduction_v0(pistonball_v6.parallel_env(max_cycles=20), mode="full")
        return ss.frame_stack_v1(ss.resize_v1(env, 84, 84), 4)


def _slot_images(venv: Any, obs: np.ndarray) -> np.ndarray:
    """The features of every slot as images in the env's own layout (H, W, C)."""
    layout = venv.layout
    features = layout.split(obs)[0]
    if layout.is_image:  # channels-first in the vec env
        return np.moveaxis(np.asarray(features), 1, -1)
    return np.asarray(features).reshape(len(obs), *layout.feature_shape)


@pytest.mark.parametrize("env_fn", [ours, supersuits], ids=["ps_wrappers", "supersuit"])
def test_slots_carry_the_preprocessed_frames(env_fn: Callable[[], Any]) -> None:
    venv = make_vec_env(env_fn, n_envs=2, seed=3)
    reference = env_fn()
    agents = reference.possible_agents
    obs = venv.reset()
    ref_obs, _ = reference.reset(seed=3)  # copy 0 is first reset with seed + 0
    rng = np.random.default_rng(0)
    for step in range(4):
        images = _slot_images(venv, obs)
        assert images.shape == (2 * len(agents), 84, 84, 4)
        for j, agent in enumerate(agents):
            np.testing.assert_array_equal(images[j], ref_obs[agent], err_msg=f"step {step}, {agent}")
        assert images[:, :, :, -1].any() and (images[:, :, :, 0] == 0).all() == (step < 3)
        actions = rng.uniform(-1, 1, (venv.num_envs, 1)).astype(np.float32)
        obs, *_ = venv.step(actions)
        ref_obs, *_ = reference.step({a: actions[j] for j, a in enumerate(agents)})
    venv.close()


def test_ppo_trains_on_the_one_line() -> None:
    venv = make_vec_env(ours, n_envs=1, seed=0)
    assert venv.observation_space["image"].shape == (4, 84, 84)  # 4 stacked gray frames, channels first
    model = PPO(FullSharingPolicy, venv, n_steps=4, batch_size=40, n_epochs=1, policy_kwargs={"net_arch": [8]}, seed=0)
    model.learn(2 * venv.num_envs * 4)
    assert model.num_timesteps == 2 * venv.num_envs * 4
    assert model.rollout_buffer.observations["image"].dtype == np.uint8
