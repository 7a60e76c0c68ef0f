"""Issue 12's obscure errors: each is now a specific error naming the agent, the value and the fix."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3 import PPO

import ps_wrappers as pw
from ps_wrappers.testing import Fault, HostileEnv, SpaceMapEnv

BOX = spaces.Box(-1.0, 1.0, (3,), np.float32)
ACT = spaces.Discrete(3, start=1)


@pytest.mark.parametrize(
    ("kind", "error", "match"),
    [
        ("reward_none", pw.EnvContractError, r"returned the reward None for agent 'agent_1': return a real number, not None"),
        ("reward_nan", pw.EnvContractError, r"returned the reward nan for agent 'agent_1': return a finite number"),
        ("reward_array", pw.EnvContractError, r"returned the reward array\(\[1\.\]\) for agent 'agent_1': return a scalar, e\.g\. float\(r\[0\]\)"),
        ("obs_nan", pw.ObservationError, r"agent 'agent_1' is outside its observation space Box\(-1\.0, 1\.0, \(3,\), float32\): it holds nan at index \(0,\)"),
        ("obs_scalar", pw.ObservationError, r"agent 'agent_1' .*: it is the scalar .*, but the space has shape \(3,\) \(it would be broadcast over every entry\)"),
        ("obs_shape", pw.ObservationError, r"agent 'agent_1' .*: its shape is \(6,\), but the space has shape \(3,\)"),
        ("obs_none", pw.ObservationError, r"agent 'agent_1' .*: it is None"),
        ("infos_none", pw.EnvContractError, r"'hostile_v0' \(copy 0\) returned infos None from step; return a dict agent -> info dict"),
        ("stranger", pw.EnvContractError, r"has in env.agents \(after a step\) the agent 'stranger', which is not in its possible_agents \['agent_0', 'agent_1', 'agent_2'\]"),
        ("silent_leave", pw.EnvContractError, r"removed agent 'agent_1' from env.agents without reporting it terminated or truncated"),
        ("empty_mask", pw.EnvContractError, r"agent 'agent_1': its info\['action_mask'\] \[0, 0, 0\] allows no action of its action space Discrete\(3, start=1\)"),
        ("mask_length", pw.EnvContractError, r"agent 'agent_1': its info\['action_mask'\] has 4 entries, but its action space Discrete\(3, start=1\) has 3 actions"),
    ],
)
def test_broken_env_step_raises_a_specific_error(kind: str, error: type, match: str) -> None:
    venv = pw.make_vec_env(HostileEnv(BOX, ACT, 3, [Fault(1, 1, kind)], max_steps=10), seed=0)
    venv.reset()
    with pytest.raises(error, match=match):
        venv.step(np.zeros(3, np.int64))


def test_none_infos_at_reset() -> None:
    with pytest.raises(pw.EnvContractError, match=r"returned infos None from reset; return a dict agent -> info dict \(\{\} when"):
        pw.make_vec_env(HostileEnv(BOX, ACT, 2, [Fault(0, 0, "infos_none")])).reset()


def test_reset_returning_observations_only() -> None:
    class OldApi(HostileEnv):
        def reset(self, seed: int | None = None, options: dict | None = None) -> Any:
            return super().reset(seed=seed)[0]

    with pytest.raises(pw.EnvContractError, match=r"'hostile_v0' (\(copy 0\) )?returned dict from reset; a ParallelEnv returns \(observations, infos\)"):
        pw.make_vec_env(OldApi(BOX, ACT)).reset()


def test_missing_reward_for_a_live_agent() -> None:
    class Stingy(HostileEnv):
        def step(self, actions: dict) -> tuple:
            obs, rew, term, trunc, infos = super().step(actions)
            rew.pop("agent_2")
            return obs, rew, term, trunc, infos

    venv = pw.make_vec_env(Stingy(BOX, ACT), seed=0)
    venv.reset()
    with pytest.raises(pw.EnvContractError, match=r"returned no reward for the live agent 'agent_2'"):
        venv.step(np.zeros(3, np.int64))


def test_scalar_observation_of_a_padded_agent_names_the_agent() -> None:
    """Padding used to broadcast a scalar over the agent's whole region."""

    class Scalar(SpaceMapEnv):
        def _observe(self, agent: Any) -> Any:
            obs = super()._observe(agent)
            return np.float32(0.5) if agent == "small" and self._t == 1 else obs

    env = Scalar({"small": spaces.Box(0, 1, (2,)), "big": spaces.Box(0, 1, (4,))}, {a: spaces.Discrete(2) for a in ("small", "big")})
    venv = pw.make_vec_env(env, seed=0)
    venv.reset()
    with pytest.raises(pw.ObservationError, match=r"pad_observations: the observation of agent 'small' .*: it is the scalar .*0\.5\)?, but the space has shape \(2,\)"):
        venv.step(np.zeros(2, np.int64))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(seed="abc"), TypeError, r"make_vec_env: seed must be a non-negative integer or None, got 'abc' \(str\)"),
        (dict(seed=-1), ValueError, r"make_vec_env: seed must be a non-negative integer .* got -1"),
        (dict(seed=1.5), TypeError, r"seed must be a non-negative integer or None, got 1\.5"),
        (dict(n_envs=2.0), ValueError, r"n_envs must be a positive integer, got 2\.0"),
        (dict(n_envs=True), ValueError, r"n_envs must be a positive integer, got True"),
        (dict(images="gray"), ValueError, r"images must be one of"),
    ],
)
def test_bad_arguments_are_refused_before_any_env_is_built(kwargs: dict, error: type, match: str) -> None:
    built: list[Any] = []
    with pytest.raises(error, match=match):
        pw.make_vec_env(lambda: built.append(1) or HostileEnv(BOX, ACT), **kwargs)
    assert built == []


def test_vec_env_seed_method_checks_its_argument() -> None:
    venv = pw.make_vec_env(HostileEnv(BOX, ACT))
    with pytest.raises(ValueError, match=r"PettingZooVecEnv\.seed: seed must be a non-negative integer"):
        venv.seed(-3)


def test_numpy_integers_are_accepted() -> None:
    venv = pw.make_vec_env(lambda: HostileEnv(BOX, ACT), n_envs=np.int64(2), seed=np.int64(3))
    assert venv.num_envs == 6 and venv.seed(np.int32(1))[3] == 2


def test_heterogeneous_multibinary_actions_train() -> None:
    """The padded space used to be MultiBinary((3,)), which SB3 refuses."""
    env = SpaceMapEnv({"a": BOX, "b": BOX}, {"a": spaces.MultiBinary(2), "b": spaces.MultiBinary(3)})
    venv = pw.make_vec_env(env, seed=0)
    assert venv.action_space == spaces.MultiBinary(3)
    PPO("MlpPolicy", venv, n_steps=8, batch_size=16, seed=0).learn(16)
    assert all(np.asarray(r["a"]).shape == (2,) for r in env.received)


def test_all_zero_mask_is_refused_even_with_random_valid() -> None:
    venv = pw.make_vec_env(HostileEnv(BOX, ACT, 2, [Fault(1, 0, "empty_mask")]), seed=0, invalid_action="random_valid")
    venv.reset()
    with pytest.raises(pw.EnvContractError, match=r"agent 'agent_0': its info\['action_mask'\] \[0, 0, 0\] allows no action"):
        venv.step(np.zeros(2, np.int64))


def test_empty_possible_agents() -> None:
    with pytest.raises(ValueError, match=r"make_vec_env: the environment .* has no possible_agents"):
        pw.make_vec_env(HostileEnv(BOX, ACT, agent_names=[]))


def test_action_mask_with_continuous_actions_is_refused() -> None:
    obs = spaces.Dict({"obs": BOX, "action_mask": spaces.MultiBinary(2)})
    env = SpaceMapEnv({"a": obs}, {"a": spaces.Box(-1, 1, (2,))})
    with pytest.raises(ValueError, match=r"observations carry an action_mask but the action space Box.* cannot be masked"):
        pw.make_vec_env(env)


def test_step_and_reset_after_close() -> None:
    venv = pw.make_vec_env(HostileEnv(BOX, ACT), seed=0)
    venv.reset()
    venv.close()
    venv.close()  # idempotent
    with pytest.raises(RuntimeError, match=r"PettingZooVecEnv\.step\(\) after close\(\)"):
        venv.step(np.zeros(3, np.int64))
    with pytest.raises(RuntimeError, match=r"reset\(\) after close\(\)"):
        venv.reset()


def test_wrappers_check_what_reset_returns() -> None:
    class OldApi(HostileEnv):
        def reset(self, seed: int | None = None, options: dict | None = None) -> Any:
            return super().reset(seed=seed)[0]

    with pytest.raises(pw.EnvContractError, match=r"pad_actions: the environment 'hostile_v0' returned dict from reset"):
        pw.pad_actions(OldApi(BOX, ACT)).reset()
