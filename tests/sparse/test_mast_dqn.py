"""MASTDQN: option checks, buffer choice, hybrid TD(lambda) burn-in, masked targets, learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3.common.buffers import ReplayBuffer
from torch import nn

import ps_wrappers
from policies import SparseEvolvedQPolicy
from policies.mast.buffers import DualReplayBuffer, SequenceReplayBuffer
from policies.mast.dqn import MASTDQN
from policies.mast.targets import soft_mellowmax
from ps_wrappers.layout import get_layout


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"lambda_": 1.5}, r"MASTDQN: lambda_ must be in \[0, 1\], got 1.5"),
        ({"lambda_horizon": 0}, "MASTDQN: lambda_horizon must be an int >= 1, got 0"),
        ({"burn_in": 2.0}, r"MASTDQN: burn_in=2.0 as a float is a fraction"),
        ({"burn_in": -5}, "MASTDQN: burn_in must be >= 0 steps"),
        ({"burn_in": "half"}, "MASTDQN: burn_in must be a float fraction"),
        ({"sm_omega": 0.0}, "MASTDQN: sm_omega must be > 0, got 0.0"),
        ({"n_steps": 3}, "MASTDQN: n_steps=3 is not supported"),
        (
            {"replay_buffer_class": ReplayBuffer},
            "MASTDQN: replay_buffer_class=ReplayBuffer cannot return",
        ),
    ],
)
def test_invalid_options_are_explained(venv, kwargs, match):
    with pytest.raises(ValueError, match=match):
        MASTDQN("MlpPolicy", venv, buffer_size=1000, **kwargs)


def test_buffers_follow_the_switches(venv):
    model = MASTDQN("MlpPolicy", venv, buffer_size=10_000, batch_size=32)
    assert isinstance(model.replay_buffer, DualReplayBuffer)
    assert model.replay_buffer.split(32) == (20, 12)
    assert (
        model.replay_buffer.online.buffer_size * 6 == 384
    )  # max(10_000 * 128 / 5000, 64 per slot)
    single = MASTDQN("MlpPolicy", venv, buffer_size=1000, dual_buffer=False)
    assert type(single.replay_buffer) is SequenceReplayBuffer
    ratio = MASTDQN("MlpPolicy", venv, buffer_size=1000, buffer_ratio=(1, 1))
    assert ratio.replay_buffer.split(32) == (16, 16)


def test_hybrid_td_lambda_switches_after_burn_in(venv):
    model = MASTDQN("MlpPolicy", venv, buffer_size=1000, learning_starts=60, burn_in=0.5, seed=0)
    model.learn(300)
    assert model.burn_in_steps == 150 and model.lambda_active()
    assert model.target_evaluations > 1.0  # lambda windows look beyond the next state
    model.num_timesteps = 100
    assert not model.lambda_active()
    steps = MASTDQN("MlpPolicy", venv, buffer_size=1000, burn_in=1000, seed=0)
    steps.learn(120)
    assert steps.burn_in_steps == 1000 and not steps.lambda_active()
    off = MASTDQN(
        "MlpPolicy",
        venv,
        buffer_size=1000,
        td_lambda=False,
        learning_starts=60,
        burn_in=0.0,
        seed=0,
    )
    off.learn(180)
    assert not off.lambda_active() and off.target_evaluations == 1.0


class _FixedQ(nn.Module):
    def __init__(self, values):
        super().__init__()
        self.values = torch.tensor(values)

    def forward(self, obs):
        return self.values.expand(obs.shape[0], -1)


def test_targets_leave_invalid_actions_out(venv):
    layout = get_layout(venv.observation_space)
    obs = torch.zeros(2, layout.total_dim)
    obs[:, layout.mask_slice] = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    for soft in (False, True):
        model = MASTDQN("MlpPolicy", venv, buffer_size=1000, soft_mellowmax=soft, sm_omega=10.0)
        model.q_net_target = _FixedQ([1.0, 2.0, 50.0])
        values = model.bootstrap_values(obs)
        if soft:
            expected = soft_mellowmax(torch.tensor([[1.0, 2.0], [1.0, 2.0]]), omega=10.0)
            assert values[0].item() == pytest.approx(expected[0].item())
            assert values[1].item() == pytest.approx(
                soft_mellowmax(torch.tensor([1.0, 2.0, 50.0]), omega=10.0).item()
            )
        else:
            assert values.tolist() == [2.0, 50.0]


def test_mast_dqn_with_sparse_policy_learns_agent_identity(make_venv):
    venv = make_venv(n_envs=2, seed=1)
    model = MASTDQN(
        SparseEvolvedQPolicy,
        venv,
        learning_starts=200,
        buffer_size=5000,
        train_freq=1,
        target_update_interval=100,
        exploration_fraction=0.3,
        learning_rate=1e-3,
        seed=1,
        policy_kwargs={"agent_id": True, "sparsity": 0.8, "update_interval": 20},
    )
    model.learn(3000)
    obs = venv.reset()
    rewards = []
    for _ in range(20):
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, _, _ = venv.step(action)
        rewards.append(reward.mean())
    assert np.mean(rewards) > 0.85  # chance is 1/3
    assert model.policy.sparse_topology.sparsity() == pytest.approx(0.8, abs=5e-3)


def test_works_on_plain_gym_envs_with_stock_exploration():
    model = MASTDQN(
        "MlpPolicy", "CartPole-v1", buffer_size=1000, learning_starts=50, burn_in=0.5, seed=0
    )
    model.learn(150)
    assert not model.masked and model.lambda_active()


def test_mast_dqn_learns_agent_identity_on_image_slots():
    """Image slots (a Dict observation): MAST's Dict buffers, TD(lambda) windows of uint8 images."""
    from policies.dqn import FullSharingQPolicy
    from policies.mast.buffers import DualDictReplayBuffer
    from ps_wrappers.testing import ImageIdentityEnv

    env_fn = lambda: ImageIdentityEnv(image_size=8)  # noqa: E731
    venv = ps_wrappers.make_vec_env(env_fn, n_envs=2, seed=0)
    model = MASTDQN(
        FullSharingQPolicy, venv, learning_starts=200, buffer_size=4000, train_freq=1, batch_size=64,
        target_update_interval=100, exploration_fraction=0.3, learning_rate=1e-3, burn_in=0.25, seed=0,
        gamma=0.9,  # steps are independent here; a short horizon keeps the image Q-targets easy to fit
        policy_kwargs={"agent_id": True, "features_extractor_kwargs": {"features_dim": 32, "channels": (8,)}},
    )
    assert isinstance(model.replay_buffer, DualDictReplayBuffer)
    assert model.replay_buffer.observations["image"].dtype == np.uint8
    model.learn(4000)
    assert model.lambda_active()  # the last updates used lambda-returns over stored image windows
    per_agent = ps_wrappers.evaluate(model, env_fn, n_episodes=5).mean_team_return / 4
    assert per_agent >= 9.0  # optimal 10, agent-blind best 2.5, random 2.5
    venv.close()
