"""Learning tests of the off-policy and recurrent families on the identity and memory tasks.

* ContinuousIdentityEnv (4 agents, identical observations, each agent's best action vector
  depends on its identity): an agent-blind policy scores at best ``best_shared`` (-1.83 per
  agent and episode with 2 dims; -2.20 with the padded dims 1, 2, 3, 2), the optimum is 0. FuPS
  stays at the blind optimum; FuPS+id and SNP-PS (default pruning) solve it with SAC (agents of
  different action sizes, padded) and TD3.
* MemoryEnv (a cue shown at the first step must be answered 4 steps later): a feed-forward policy
  scores 1/2 per agent at best, a recurrent one 1. PPO with FuPS stays at 1/2, RecurrentPPO with
  FuPS solves it.

Seeds fixed; deterministic evaluation on fresh seeds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO, TD3
from stable_baselines3.common.noise import NormalActionNoise

import ps_wrappers
from policies import ppo, recurrent, sac, td3
from policies.sac import MaskedSAC
from ps_wrappers.testing import ContinuousIdentityEnv, MemoryEnv

OFF_POLICY: dict[str, Any] = {"learning_starts": 200, "batch_size": 128, "learning_rate": 3e-3, "gradient_steps": 2}
IDENTITY_CASES = [
    ("FuPS", "FullSharingPolicy", {}, False),
    ("FuPS+id", "FullSharingPolicy", {"agent_id": True}, True),
    ("SNP-PS", "PrunedMaskPolicy", {}, True),
]


def _identity_score(model: Any, env_fn: Any) -> float:
    result = ps_wrappers.evaluate(model, env_fn, n_episodes=4, seed=100)
    return float(np.mean([np.mean(r) for r in result.agent_returns.values()]))


@pytest.mark.parametrize(("name", "cls", "kwargs", "solves"), IDENTITY_CASES, ids=[c[0] for c in IDENTITY_CASES])
def test_sac_continuous_identity_with_padded_action_sizes(name, cls, kwargs, solves):
    env_fn = lambda: ContinuousIdentityEnv(n_agents=4, action_dims=[1, 2, 3, 2])  # noqa: E731
    blind = env_fn().expected_returns()["best_shared"]  # -2.20
    venv = ps_wrappers.make_vec_env(env_fn, n_envs=2, seed=0)
    model = MaskedSAC(getattr(sac, cls), venv, seed=0, policy_kwargs={"net_arch": [64, 64], **kwargs}, **OFF_POLICY)
    score = _identity_score(model.learn(3_000), env_fn)
    if solves:
        assert score > -0.3, f"{name} with SAC should solve the identity task (optimum 0), got {score:.3f}"
    else:
        assert score < blind + 0.3, f"{name} cannot tell agents apart (blind optimum {blind:.2f}), got {score:.3f}"


@pytest.mark.parametrize(("name", "cls", "kwargs", "solves"), IDENTITY_CASES, ids=[c[0] for c in IDENTITY_CASES])
def test_td3_continuous_identity(name, cls, kwargs, solves):
    env_fn = lambda: ContinuousIdentityEnv(n_agents=4, action_dims=2)  # noqa: E731
    blind = env_fn().expected_returns()["best_shared"]  # -1.83
    venv = ps_wrappers.make_vec_env(env_fn, n_envs=2, seed=0)
    noise = NormalActionNoise(np.zeros(2), 0.3 * np.ones(2))
    model = TD3(getattr(td3, cls), venv, seed=0, action_noise=noise, policy_kwargs={"net_arch": [64, 64], **kwargs}, **OFF_POLICY)
    score = _identity_score(model.learn(5_000), env_fn)
    if solves:
        assert score > -0.3, f"{name} with TD3 should solve the identity task (optimum 0), got {score:.3f}"
    else:
        assert score < blind + 0.3, f"{name} cannot tell agents apart (blind optimum {blind:.2f}), got {score:.3f}"


def _memory_score(model: Any, n_episodes: int = 64) -> float:
    venv = ps_wrappers.make_vec_env(lambda: MemoryEnv(n_agents=2, n_cues=2, delay=4), n_envs=8, seed=100)
    obs, start, state = venv.reset(), np.ones(venv.num_envs, bool), None
    returns: list[float] = []
    total = np.zeros(venv.num_envs)
    while len(returns) < n_episodes:
        actions, state = model.predict(obs, state=state, episode_start=start, deterministic=True)
        obs, rewards, start, _ = venv.step(actions)
        total += rewards
        returns += total[start].tolist()
        total[start] = 0.0
    return float(np.mean(returns))


@pytest.mark.parametrize("algo", ["PPO", "RecurrentPPO"])
def test_memory_task_needs_the_recurrent_family(algo):
    venv = ps_wrappers.make_vec_env(lambda: MemoryEnv(n_agents=2, n_cues=2, delay=4), n_envs=4, seed=0)
    kwargs: dict[str, Any] = {"seed": 0, "n_steps": 32, "batch_size": 64, "n_epochs": 4, "learning_rate": 3e-3, "ent_coef": 0.01}
    if algo == "PPO":
        model: Any = PPO(ppo.FullSharingPolicy, venv, policy_kwargs={"net_arch": [32]}, **kwargs)
    else:
        model = RecurrentPPO(recurrent.FullSharingPolicy, venv, policy_kwargs={"lstm_hidden_size": 32, "net_arch": [32]}, **kwargs)
    score = _memory_score(model.learn(6_000))
    if algo == "RecurrentPPO":
        assert score > 0.9, f"RecurrentPPO with FuPS should remember the cue (optimum 1), got {score:.3f}"
        # ps_wrappers.evaluate carries one LSTM state per agent across the episode, too.
        result = ps_wrappers.evaluate(model, lambda: MemoryEnv(n_agents=2, n_cues=2, delay=4), n_episodes=16)
        assert np.mean([np.mean(r) for r in result.agent_returns.values()]) > 0.9
    else:
        assert score < 0.65, f"a feed-forward policy cannot remember the cue (best 0.5), got {score:.3f}"
