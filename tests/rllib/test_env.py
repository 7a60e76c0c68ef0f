"""``to_rllib``: padding, masks in the observation, order, dying agents, turns, seeding, errors."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from tests.rllib.conftest import SKIP_REASON

pytest.importorskip("ray.rllib", reason=SKIP_REASON)

from gymnasium import spaces  # noqa: E402
from mpe2 import simple_spread_v3, simple_world_comm_v3  # noqa: E402
from pettingzoo.classic import connect_four_v3, tictactoe_v3  # noqa: E402
from pettingzoo.sisl import multiwalker_v9  # noqa: E402
from pettingzoo.utils.env import ParallelEnv  # noqa: E402

import ps_wrappers as pw  # noqa: E402
from ps_wrappers.rllib import MASK_KEY, OBS_KEY, PettingZooMultiAgentEnv, check_rllib_env, to_rllib  # noqa: E402
from ps_wrappers.testing import AgentIdentityEnv, DyingAgentsEnv, SpaceMapEnv, action_audit  # noqa: E402


def _box(n: int) -> spaces.Box:
    return spaces.Box(-1.0, 1.0, (n,), np.float32)


ENVS = {
    "simple_world_comm (heterogeneous)": simple_world_comm_v3.parallel_env,
    "dying agents": lambda: DyingAgentsEnv(lifetimes=(2, 5, 9), max_steps=7),
    "agent identity": AgentIdentityEnv,
    "tictactoe (AEC, turns)": tictactoe_v3.env,
    "connect_four (AEC, turns)": connect_four_v3.env,
    "multiwalker (Box actions)": multiwalker_v9.parallel_env,
    "simple_spread continuous": lambda: simple_spread_v3.parallel_env(continuous_actions=True),
    "env masks and Discrete start": lambda: SpaceMapEnv(
        {
            "a": spaces.Dict({"obs": _box(3), "action_mask": spaces.MultiBinary(4)}),
            "b": spaces.Dict({"obs": _box(5), "action_mask": spaces.MultiBinary(2)}),
        },
        {"a": spaces.Discrete(4, start=1), "b": spaces.Discrete(2, start=1)},
    ),
    "Box padded (extra dimensions dropped)": lambda: SpaceMapEnv(
        {"a": _box(3), "b": _box(2)},
        {"a": spaces.Box(-1.0, 1.0, (2,), np.float32), "b": spaces.Box(0.0, 2.0, (4,), np.float32)},
    ),
    "MultiDiscrete padded": lambda: SpaceMapEnv(
        {"a": _box(2), "b": _box(2)},
        {"a": spaces.MultiDiscrete([3, 2]), "b": spaces.MultiDiscrete([2, 4, 2])},
    ),
}


@pytest.mark.parametrize("name", list(ENVS))
def test_envs_pass_the_rllib_check_with_valid_actions(name: str) -> None:
    env = to_rllib(ENVS[name])
    check_rllib_env(env, n_steps=60, seed=3)


def test_heterogeneous_agents_get_padded_features_and_the_wrappers_masks() -> None:
    env = to_rllib(simple_world_comm_v3.parallel_env)
    padded = pw.pad_actions(pw.pad_observations(simple_world_comm_v3.parallel_env()))
    obs, _ = env.reset(seed=4)
    ref, _ = padded.reset(seed=4)
    assert list(obs) == env.possible_agents == padded.possible_agents
    for agent in env.possible_agents:
        np.testing.assert_array_equal(obs[agent][OBS_KEY], ref[agent].astype(np.float32))
        np.testing.assert_array_equal(obs[agent][MASK_KEY], padded.action_mask(agent).astype(np.float32))
    assert obs["agent_0"][MASK_KEY].sum() == 5 and obs["leadadversary_0"][MASK_KEY].sum() == 20


def test_env_masks_are_combined_with_padding_and_checked() -> None:
    env = to_rllib(ENVS["env masks and Discrete start"])
    obs, _ = env.reset(seed=0)
    inner = env.pettingzoo_env
    for agent in env.possible_agents:
        np.testing.assert_array_equal(obs[agent][MASK_KEY], inner.action_mask(agent).astype(np.float32))
    mask_b = obs["b"][MASK_KEY]
    assert mask_b[2:].sum() == 0  # padding: b has two actions of four
    forbidden = int(np.flatnonzero(mask_b == 0)[0])
    with pytest.raises(ValueError, match=rf"to_rllib: agent 'b' chose action {forbidden}, which its action mask forbids"):
        env.step({"a": int(np.flatnonzero(obs["a"][MASK_KEY])[0]), "b": forbidden})


def test_actions_shift_by_discrete_start() -> None:
    env = to_rllib(ENVS["env masks and Discrete start"])
    obs, _ = env.reset(seed=1)
    raw = env.pettingzoo_env.unwrapped
    actions = {a: int(np.flatnonzero(obs[a][MASK_KEY])[0]) for a in env.possible_agents}
    env.step(actions)
    assert raw.received[-1] == {a: actions[a] + 1 for a in env.possible_agents}  # start=1


def test_padded_action_is_refused_with_a_clear_error_and_never_reaches_the_env() -> None:
    audits: list[Any] = []

    def make() -> Any:
        audits.append(action_audit(simple_world_comm_v3.parallel_env()))
        return audits[-1]

    env = to_rllib(make)
    obs, _ = env.reset(seed=0)
    actions = {a: 0 for a in obs}
    actions["agent_0"] = 7  # agent_0 has 5 actions, padded to 20
    with pytest.raises(ValueError, match=r"agent 'agent_0' chose action 7, which its action mask forbids .*disable_env_checking=True"):
        env.step(actions)
    assert audits[0].received == 0


def test_random_valid_mode_replaces_and_counts_invalid_actions() -> None:
    audits: list[Any] = []

    def make() -> Any:
        audits.append(action_audit(simple_world_comm_v3.parallel_env(max_cycles=5)))
        return audits[-1]

    env = to_rllib(make, invalid_action="random_valid")
    env.reset(seed=0)
    for _ in range(5):
        env.step({a: 19 for a in env.possible_agents})
    assert env.invalid_action_counts == {a: 5 for a in env.possible_agents if a != "leadadversary_0"}
    assert audits[0].received == 5 * 6 and audits[0].violations == []


def test_step_needs_exactly_the_observed_agents() -> None:
    env = to_rllib(AgentIdentityEnv)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"needs one action for each agent that was just observed"):
        env.step({"agent_0": 0})


def test_dying_agents_terminate_and_time_limits_truncate() -> None:
    env = to_rllib(lambda: DyingAgentsEnv(lifetimes=(2, 4), max_steps=3))
    obs, _ = env.reset(seed=0)
    _, rew, term, trunc, _ = env.step({a: 0 for a in obs})
    assert term == {"agent_0": False, "agent_1": False, "__all__": False} and rew == {"agent_0": 1.0, "agent_1": 1.0}
    obs, rew, term, trunc, _ = env.step({a: 0 for a in obs})
    assert list(obs) == ["agent_0", "agent_1"]  # agent_0's final observation
    assert term == {"agent_0": True, "agent_1": False, "__all__": False}
    assert trunc == {"agent_0": False, "agent_1": False, "__all__": False}
    assert env.agents == ["agent_1"]
    obs, rew, term, trunc, _ = env.step({"agent_1": 0})
    assert list(obs) == ["agent_1"] and rew == {"agent_1": 1.0}
    assert trunc == {"agent_1": True, "__all__": True} and term == {"agent_1": False, "__all__": False}


def test_an_episode_ending_in_mixed_ways_is_flagged_terminated_per_agent() -> None:
    env = to_rllib(lambda: DyingAgentsEnv(lifetimes=(3, 9), max_steps=3))
    obs, _ = env.reset(seed=0)
    for _ in range(3):
        obs, _, term, trunc, _ = env.step({a: 0 for a in obs})
    assert term == {"agent_0": True, "agent_1": False, "__all__": True}
    assert trunc == {"agent_0": False, "agent_1": True, "__all__": False}


def test_turn_based_game_observes_only_the_agent_to_move() -> None:
    audits: list[Any] = []

    def make() -> Any:
        audits.append(action_audit(tictactoe_v3.env()))
        return audits[-1]

    env = to_rllib(make)
    obs, _ = env.reset(seed=0)
    assert list(obs) == ["player_1"]
    obs, rew, term, _, _ = env.step({"player_1": 4})
    assert list(obs) == ["player_2"] and obs["player_2"][MASK_KEY][4] == 0 and obs["player_2"][MASK_KEY].sum() == 8
    assert set(rew) == {"player_1", "player_2"} and term["__all__"] is False
    # player_1 wins on the diagonal 0-4-8; both get their final observation and reward.
    for mover, square in (("player_2", 1), ("player_1", 0), ("player_2", 2)):
        obs, rew, term, _, _ = env.step({mover: square})
    obs, rew, term, trunc, _ = env.step({"player_1": 8})
    assert list(obs) == ["player_1", "player_2"]
    assert rew == {"player_1": 1.0, "player_2": -1.0}
    assert term == {"player_1": True, "player_2": True, "__all__": True} and trunc["__all__"] is False
    assert audits[0].violations == []


def test_same_seed_same_episode_different_seed_different_one() -> None:
    env = to_rllib(AgentIdentityEnv)
    a, _ = env.reset(seed=5)
    b, _ = env.reset(seed=5)
    c, _ = env.reset(seed=6)
    np.testing.assert_array_equal(a["agent_0"][OBS_KEY], b["agent_0"][OBS_KEY])
    assert not np.array_equal(a["agent_0"][OBS_KEY], c["agent_0"][OBS_KEY])


class _Respawning(ParallelEnv):
    """agent_0 terminates at step 1 and comes back at step 2."""

    metadata = {"name": "respawning_v0", "is_parallelizable": True}

    def __init__(self) -> None:
        self.possible_agents = ["agent_0", "agent_1"]
        self.agents: list[str] = []
        self._t = 0

    def observation_space(self, agent: Any) -> spaces.Space:
        return _box(2)

    def action_space(self, agent: Any) -> spaces.Space:
        return spaces.Discrete(2)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        self.agents, self._t = list(self.possible_agents), 0
        return {a: np.zeros(2, np.float32) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        self._t += 1
        acting = list(actions)
        self.agents = ["agent_1"] if self._t == 1 else list(self.possible_agents)
        obs = {a: np.zeros(2, np.float32) for a in set(acting) | set(self.agents)}
        term = {a: (self._t == 1 and a == "agent_0") for a in obs}
        return obs, {a: 0.0 for a in obs}, term, {a: False for a in obs}, {a: {} for a in obs}


def test_an_agent_coming_back_after_it_ended_is_a_clear_error() -> None:
    env = to_rllib(_Respawning)
    obs, _ = env.reset(seed=0)
    obs, _, term, _, _ = env.step({a: 0 for a in obs})
    assert term["agent_0"] is True
    with pytest.raises(ValueError, match=r"agents \['agent_0'\] came back after they had terminated"):
        env.step({"agent_1": 0})


def test_bad_arguments_raise_clear_errors() -> None:
    with pytest.raises(TypeError, match=r"to_rllib expects a zero-argument callable .* got aec_to_parallel_wrapper"):
        to_rllib(simple_spread_v3.parallel_env())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"aec_mode must be 'auto', 'parallel' or 'turns', got 'x'"):
        to_rllib(simple_spread_v3.parallel_env, aec_mode="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"invalid_action must be 'raise' or 'random_valid'"):
        to_rllib(simple_spread_v3.parallel_env, invalid_action="ignore")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"env_fn returned module, not a PettingZoo"):
        to_rllib(lambda: simple_spread_v3)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match=r"env_config must be made by ps_wrappers.rllib.env_config.*unknown: \['n'\]"):
        PettingZooMultiAgentEnv({"env_fn": simple_spread_v3.parallel_env, "n": 3})


class _Corrupted(PettingZooMultiAgentEnv):
    def _observe(self, agent: Any, obs: Any, info: Any = None, acting: bool = True) -> dict[str, np.ndarray]:
        out = super()._observe(agent, obs, info, acting)
        return {**out, MASK_KEY: out[MASK_KEY] * 2.0}


def test_the_check_catches_observations_outside_their_space() -> None:
    from ps_wrappers.rllib import env_config

    env = _Corrupted(env_config(AgentIdentityEnv))
    with pytest.raises(AssertionError, match=r"check_rllib_env|not inside"):
        check_rllib_env(env, n_steps=3)


def test_importing_the_core_packages_does_not_import_ray() -> None:
    code = "import sys, ps_wrappers, policies; assert 'ray' not in sys.modules, 'ray imported'; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_to_rllib_is_reachable_lazily_from_ps_wrappers() -> None:
    assert pw.to_rllib is to_rllib


def test_missing_ray_is_a_clear_error_naming_the_extra(tmp_path: Any) -> None:
    shim = tmp_path / "ray"
    shim.mkdir()
    (shim / "__init__.py").write_text('raise ModuleNotFoundError("No module named ray", name="ray")\n')
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", "import ps_wrappers.rllib"], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode != 0
    assert "ModuleNotFoundError: ps_wrappers.rllib needs Ray RLlib" in out.stderr
    assert "pip install 'ps-toolkit[rllib]'" in out.stderr
