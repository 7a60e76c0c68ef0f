"""Agents that die early, turn-based AEC games, and truncation bootstrapping in SB3."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.classic import tictactoe_v3
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecEnvWrapper

import ps_wrappers as pw
from ps_wrappers.testing import DyingAgentsEnv
from ps_wrappers.testing.audit import action_audit
from tests.vec_env.conftest import random_masked_actions


def test_dead_agents_get_placeholders_and_exact_done_signals() -> None:
    venv = pw.make_vec_env(lambda: DyingAgentsEnv(lifetimes=(2, 4, 6)), n_envs=1, seed=0)
    lay = venv.layout
    venv.reset()
    done_at: dict[int, list[int]] = {0: [], 1: [], 2: []}
    for t in range(1, 13):
        obs, rew, dones, infos = venv.step(np.zeros(3, dtype=np.int64))  # env raises on ghost actions
        for j in range(3):
            if dones[j]:
                done_at[j].append(t)
        if t == 3:  # agent_0 dead: placeholder row, no reward
            feats, _, acting, mask = lay.split(obs)
            assert (feats[0] == 0).all() and acting[0, 0] == 0 and mask[0].sum() == 1
            assert rew[0] == 0 and rew[1] == 1 and acting[1, 0] == 1
        if t == 2:
            assert infos[0]["episode"]["r"] == 2.0 and infos[0]["TimeLimit.truncated"] is False
            assert infos[0]["terminal_observation"][lay.acting_index] == 1.0
    # agent j terminates at its lifetime; the copy resets at 6 and placeholders end there too.
    assert done_at == {0: [2, 6, 8, 12], 1: [4, 6, 10, 12], 2: [6, 12]}


def test_placeholder_episode_end_carries_no_episode_stats() -> None:
    venv = pw.make_vec_env(lambda: DyingAgentsEnv(lifetimes=(1, 3)), seed=0)
    venv.reset()
    venv.step(np.zeros(2, np.int64))
    venv.step(np.zeros(2, np.int64))
    _, _, dones, infos = venv.step(np.zeros(2, np.int64))
    assert dones.tolist() == [True, True]
    assert "episode" not in infos[0] and infos[1]["episode"]["r"] == 3.0
    assert infos[0]["team_episode"]["r"] == 4.0


def test_turn_based_game_alternates_acting_slots_without_illegal_moves() -> None:
    audits = []

    def make():
        env = action_audit(tictactoe_v3.env())
        audits.append(env)
        return env

    venv = pw.make_vec_env(make, n_envs=2, seed=0)
    lay = venv.layout
    obs = venv.reset()
    rng = np.random.default_rng(0)
    finished = 0
    assert lay.is_image and lay.image_shape == (2, 3, 3)  # the 3x3x2 board is an image slot
    for _ in range(200):
        acting = lay.acting(obs).reshape(2, 2)
        assert (acting.sum(1) == 1).all()  # exactly one player to move per board
        waiting = lay.acting(obs) == 0
        assert (lay.action_mask(obs)[waiting].sum(1) == 1).all()
        obs, rew, dones, infos = venv.step(random_masked_actions(venv, rng))
        finished += sum("episode" in i for i in infos)
        for i in np.flatnonzero(dones):
            assert rew[i] in (-1.0, 0.0, 1.0)
    assert finished >= 20
    assert sum(a.received for a in audits) > 150
    assert [v for a in audits for v in a.violations] == []


def test_turn_based_rewards_reach_both_players() -> None:
    venv = pw.make_vec_env(tictactoe_v3.env, seed=0)
    rng = np.random.default_rng(3)
    venv.reset()
    totals = np.zeros(2)
    for _ in range(300):
        _, rew, _, _ = venv.step(random_masked_actions(venv, rng))
        totals += rew
    assert totals[0] == -totals[1] != 0  # zero-sum: every win is the other's loss


class _RecordRewards(VecEnvWrapper):
    def __init__(self, venv):
        super().__init__(venv)
        self.rewards, self.dones = [], []

    def reset(self):
        return self.venv.reset()

    def step_wait(self):
        obs, rew, dones, infos = self.venv.step_wait()
        self.rewards.append(rew.copy())
        self.dones.append(dones.copy())
        return obs, rew, dones, infos


@pytest.mark.parametrize("truncated", [True, False])
def test_sb3_bootstraps_truncations_but_not_terminations(truncated: bool) -> None:
    from mpe2 import simple_spread_v3

    if truncated:
        env_fn = lambda: simple_spread_v3.parallel_env(max_cycles=5)  # noqa: E731
    else:
        env_fn = lambda: DyingAgentsEnv(lifetimes=(5, 5, 5))  # noqa: E731
    venv = _RecordRewards(pw.make_vec_env(env_fn, n_envs=1, seed=0))
    model = PPO("MlpPolicy", venv, n_steps=10, batch_size=30, n_epochs=1, seed=0)
    model.learn(30)
    env_rewards = np.array(venv.rewards[:10])
    dones = np.array(venv.dones[:10])
    buffer_rewards = model.rollout_buffer.rewards
    assert dones.any()
    np.testing.assert_allclose(buffer_rewards[~dones], env_rewards[~dones], rtol=1e-6)
    if truncated:  # reward + gamma * V(terminal_observation)
        assert not np.allclose(buffer_rewards[dones], env_rewards[dones])
    else:
        np.testing.assert_allclose(buffer_rewards[dones], env_rewards[dones])
