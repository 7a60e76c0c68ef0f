"""SlotVecNormalize standardises features only; rescaled indicator segments are refused by policies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from mpe2 import simple_world_comm_v3
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecNormalize

import ps_wrappers as pw
from policies import FullSharingPolicy, FullSharingQPolicy, MaskedDQN
from ps_wrappers.testing import sample_slot_observations
from ps_wrappers.testing.audit import action_audit
from ps_wrappers.testing.envs import DyingAgentsEnv
from tests.vec_env.conftest import random_masked_actions


def _world_comm() -> object:
    return simple_world_comm_v3.parallel_env(max_cycles=25)


def _roll(venv: pw.SlotVecNormalize, steps: int, seed: int = 0) -> list[np.ndarray]:
    """Step with random valid actions; return the original (unnormalised) observations seen."""
    rng = np.random.default_rng(seed)
    venv.reset()
    seen = [venv.get_original_obs().copy()]
    for _ in range(steps):
        venv.step(random_masked_actions(venv, rng))
        seen.append(venv.get_original_obs().copy())
    return seen


def test_only_features_are_normalised() -> None:
    venv = pw.SlotVecNormalize(pw.make_vec_env(_world_comm, n_envs=2, seed=0), clip_obs=5.0)
    lay = venv.layout
    _roll(venv, 30)
    original = venv.get_original_obs()
    obs = venv.normalize_obs(original)
    d = lay.feature_dim
    # the one-hot, acting flag and mask are passed through bit for bit
    np.testing.assert_array_equal(obs[:, d:], original[:, d:])
    assert set(np.unique(obs[:, lay.mask_slice])) <= {0.0, 1.0}
    expected = np.clip((original[:, :d] - venv.obs_rms.mean) / np.sqrt(venv.obs_rms.var + venv.epsilon), -5.0, 5.0)
    np.testing.assert_allclose(obs[:, :d], expected, rtol=1e-5, atol=1e-5)
    # the features really were rescaled, and the statistics have the feature size only
    assert venv.obs_rms.mean.shape == (d,)
    assert not np.allclose(obs[:, :d], original[:, :d])
    np.testing.assert_allclose(venv.unnormalize_obs(obs)[:, d:], original[:, d:])


def test_statistics_come_from_acting_rows_only() -> None:
    venv = pw.SlotVecNormalize(pw.make_vec_env(lambda: DyingAgentsEnv(lifetimes=(2, 6, 9)), n_envs=2, seed=0))
    lay = venv.layout
    seen = np.concatenate(_roll(venv, 12))
    acting = seen[:, lay.acting_index] > 0.5
    assert (~acting).sum() > 0, "the rollout must contain placeholder rows of dead agents"
    features = seen[acting, : lay.feature_dim].astype(np.float64)
    np.testing.assert_allclose(venv.obs_rms.mean, features.mean(0), atol=1e-4)
    np.testing.assert_allclose(venv.obs_rms.var, features.var(0), atol=1e-4)
    with_dead = seen[:, : lay.feature_dim].mean(0)
    assert not np.allclose(venv.obs_rms.mean, with_dead, atol=1e-3), "dead rows' zeros would shift the mean"


def test_save_and_load_keep_the_statistics(tmp_path: Path) -> None:
    venv = pw.SlotVecNormalize(pw.make_vec_env(_world_comm, n_envs=1, seed=0))
    _roll(venv, 10)
    venv.save(str(tmp_path / "norm.pkl"))
    loaded = pw.SlotVecNormalize.load(str(tmp_path / "norm.pkl"), pw.make_vec_env(_world_comm, n_envs=1, seed=1))
    assert isinstance(loaded, pw.SlotVecNormalize)
    assert loaded.layout == venv.layout
    np.testing.assert_array_equal(loaded.obs_rms.mean, venv.obs_rms.mean)
    batch = venv.get_original_obs()
    np.testing.assert_array_equal(loaded.normalize_obs(batch), venv.normalize_obs(batch))


def test_refuses_a_vec_env_that_is_not_a_ps_vec_env() -> None:
    from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env

    with pytest.raises(TypeError, match="make_vec_env"):
        pw.SlotVecNormalize(sb3_make_vec_env("CartPole-v1", n_envs=1))


def test_ppo_trains_with_masks_intact_and_evaluates_through_the_normaliser() -> None:
    audits: list[Any] = []

    def make() -> Any:
        env = action_audit(_world_comm())
        audits.append(env)
        return env

    # invalid_action="raise" (the default): a masked-out action would stop training
    venv = pw.SlotVecNormalize(pw.make_vec_env(make, n_envs=2, seed=0))
    model = PPO(FullSharingPolicy, venv, n_steps=32, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(3 * 32 * venv.num_envs)
    assert sum(a.received for a in audits) > 0
    assert [v for a in audits for v in a.violations] == []
    venv.training = False
    result = pw.evaluate(model, _world_comm, n_episodes=2, normalizer=venv)
    assert len(result.team_returns) == 2 and np.isfinite(result.team_returns).all()
    with pytest.raises(TypeError, match="SlotVecNormalize"):
        pw.SharedPolicy(model, _world_comm(), normalizer=VecNormalize(pw.make_vec_env(_world_comm)))


@pytest.mark.parametrize("algo", ["PPO", "DQN"])
def test_plain_vec_normalize_is_refused_with_the_fix(algo: str) -> None:
    venv = VecNormalize(pw.make_vec_env(_world_comm, n_envs=1, seed=0))
    if algo == "PPO":
        model = PPO(FullSharingPolicy, venv, n_steps=16, batch_size=16, seed=0, device="cpu")
    else:
        model = MaskedDQN(FullSharingQPolicy, venv, learning_starts=0, seed=0, device="cpu")
    with pytest.raises(ValueError, match=r"must be 0 or 1.*ps_wrappers\.SlotVecNormalize"):
        model.learn(64)


def test_check_indicators_names_the_segment() -> None:
    venv = pw.make_vec_env(_world_comm, n_envs=1, seed=0)
    lay = venv.layout
    obs = venv.reset()
    lay.check_indicators(obs)  # what the vec env writes passes
    lay.check_indicators(torch.as_tensor(obs))
    for column, segment in [(lay.feature_dim, "agent one-hot"), (lay.acting_index, "acting flag"), (lay.mask_slice.start, "action mask")]:
        bad = obs.copy()
        bad[1, column] = 0.25
        for batch in (bad, torch.as_tensor(bad)):
            with pytest.raises(ValueError, match=f"{segment} .*column {column}.* holds 0.25"):
                lay.check_indicators(batch)


def test_sampled_slot_observations_are_well_formed() -> None:
    venv = pw.make_vec_env(_world_comm, n_envs=1, seed=0)
    lay = venv.layout
    obs = sample_slot_observations(venv.observation_space, 64, np.random.default_rng(0))
    lay.check_indicators(obs)
    assert obs.shape == (64, lay.total_dim) and venv.observation_space.contains(obs[0])
    np.testing.assert_array_equal(obs[:, lay.id_slice].sum(1), 1.0)
    assert (obs[:, lay.mask_slice].sum(1) >= 1).all() and (obs[:, lay.acting_index] == 1).all()
    assert len(np.unique(obs[:, : lay.feature_dim], axis=0)) == 64
    # the raw space sample is exactly what the policies refuse
    with pytest.raises(ValueError, match="must be 0 or 1"):
        lay.check_indicators(np.stack([venv.observation_space.sample() for _ in range(4)]))
