"""SB3 PPO, A2C, DQN and MaskablePPO train through make_vec_env on the issue's five envs.

Every env is wrapped in an action audit (innermost), so the tests also prove that no padded or
illegal action, and no action for a dead or waiting agent, ever reaches it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from gymnasium import spaces
from mpe2 import simple_spread_v3, simple_world_comm_v3
from pettingzoo.butterfly import knights_archers_zombies_v11
from pettingzoo.classic import tictactoe_v3
from pettingzoo.sisl import multiwalker_v9
from sb3_contrib import MaskablePPO
from stable_baselines3 import A2C, DQN, PPO

import ps_wrappers as pw
from ps_wrappers.testing.audit import action_audit

ENVS: dict[str, Callable[[], Any]] = {
    "simple_spread": lambda: simple_spread_v3.parallel_env(max_cycles=25),
    "simple_world_comm": lambda: simple_world_comm_v3.parallel_env(max_cycles=25),
    "multiwalker": lambda: multiwalker_v9.parallel_env(max_cycles=50),
    "kaz": lambda: knights_archers_zombies_v11.parallel_env(max_cycles=60, spawn_delay=5, line_death=True),
    "tictactoe": lambda: tictactoe_v3.env(),
}
CONTINUOUS = {"multiwalker"}


def _algo(name: str, venv: Any) -> Any:
    common = dict(seed=0, device="cpu")
    # Image slots (tictactoe's 3x3x2 board is a rank-3 Box) are a Dict: SB3's MultiInputPolicy.
    policy = "MultiInputPolicy" if isinstance(venv.observation_space, spaces.Dict) else "MlpPolicy"
    if name == "PPO":
        return PPO(policy, venv, n_steps=64, batch_size=128, n_epochs=2, **common)
    if name == "A2C":
        return A2C(policy, venv, n_steps=8, **common)
    return DQN(policy, venv, learning_starts=200, buffer_size=5_000, train_freq=4, **common)


CASES = [(algo, env) for env in ENVS for algo in ("PPO", "A2C", "DQN") if not (algo == "DQN" and env in CONTINUOUS)]


@pytest.mark.parametrize(("algo", "env_name"), CASES)
def test_algorithm_trains_without_illegal_actions(algo: str, env_name: str) -> None:
    audits: list[Any] = []

    def make() -> Any:
        env = action_audit(ENVS[env_name]())
        audits.append(env)
        return env

    venv = pw.make_vec_env(make, n_envs=2, seed=0, invalid_action="random_valid")
    model = _algo(algo, venv)
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(2_000)
    assert model.num_timesteps >= 2_000
    assert any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters()))
    assert len(model.ep_info_buffer) > 0
    assert sum(a.received for a in audits) > 0
    assert [v for a in audits for v in a.violations] == []


def test_maskable_ppo_never_needs_replacement_on_turn_based_game() -> None:
    audits: list[Any] = []

    def make() -> Any:
        env = action_audit(tictactoe_v3.env())
        audits.append(env)
        return env

    venv = pw.make_vec_env(make, n_envs=2, seed=0)  # invalid_action="raise": masks are obeyed
    model = MaskablePPO("MultiInputPolicy", venv, n_steps=64, batch_size=64, seed=0).learn(2_000)
    assert model.num_timesteps >= 2_000 and venv.invalid_action_counts == {}
    assert [v for a in audits for v in a.violations] == []
    result = pw.evaluate(model, tictactoe_v3.env, n_episodes=4)
    assert all(r in (-1.0, 0.0, 1.0) for r in result.agent_returns["player_1"])


def test_same_seed_same_training() -> None:
    def train() -> list[torch.Tensor]:
        venv = pw.make_vec_env(ENVS["simple_spread"], n_envs=2, seed=0)
        model = PPO("MlpPolicy", venv, n_steps=32, batch_size=64, n_epochs=1, seed=0).learn(384)
        return [p.detach().clone() for p in model.policy.parameters()]

    for a, b in zip(train(), train()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_shared_policy_acts_identically_in_parallel_and_aec_envs() -> None:
    venv = pw.make_vec_env(ENVS["simple_spread"], n_envs=1, seed=0)
    model = PPO("MlpPolicy", venv, n_steps=32, seed=0).learn(96)
    par = pw.evaluate(model, lambda: simple_spread_v3.parallel_env(max_cycles=25), n_episodes=2, seed=4)
    aec = pw.evaluate(model, lambda: simple_spread_v3.env(max_cycles=25), n_episodes=2, seed=4)
    np.testing.assert_allclose(par.team_returns, aec.team_returns, rtol=1e-6)
    actor = pw.SharedPolicy(model, simple_spread_v3.parallel_env())
    env = simple_spread_v3.parallel_env()
    obs, infos = env.reset(seed=0)
    actions = actor.act(obs, infos)
    assert set(actions) == set(env.agents) and all(env.action_space(a).contains(int(x)) for a, x in actions.items())


def test_shared_policy_rejects_a_different_env() -> None:
    venv = pw.make_vec_env(ENVS["simple_spread"], seed=0)
    model = PPO("MlpPolicy", venv, n_steps=8, seed=0)
    with pytest.raises(ValueError, match="differ from the agents the model was trained with"):
        pw.SharedPolicy(model, simple_world_comm_v3.parallel_env())
