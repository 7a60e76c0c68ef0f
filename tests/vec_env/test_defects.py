"""Issue 12's silent wrong results, one test each (every one failed on the code before the fix)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo.utils.env import AECEnv
from sb3_contrib import MaskablePPO
from stable_baselines3 import PPO

import ps_wrappers as pw
from ps_wrappers.testing import Fault, HostileEnv, SpaceMapEnv

BOX = spaces.Box(-1.0, 1.0, (3,), np.float32)


def _random_valid(venv: Any, rng: np.random.Generator) -> np.ndarray:
    """A valid action per slot (one choice per dimension of the concatenated mask)."""
    nvec = venv.layout.action_nvec
    starts = np.cumsum((0, *nvec[:-1]))
    rows = [[rng.choice(np.flatnonzero(m[s : s + k])) for s, k in zip(starts, nvec)] for m in venv.action_masks()]
    out = np.array(rows)
    return out[:, 0] if len(nvec) == 1 else out


# --- 1. masks that first appear after reset --------------------------------------------------------


@pytest.mark.parametrize("actions", [spaces.Discrete(4, start=1), spaces.MultiDiscrete([3, 2], start=[1, 0])], ids=["discrete", "multidiscrete"])
def test_masks_first_given_in_step_infos_are_honoured(actions: spaces.Space) -> None:
    # agent_0 has a mask from reset on, agent_1 only from step 2, agent_2 from step 3 until step 5
    faults = [Fault(0, 0, "mask_on"), Fault(2, 1, "mask_on"), Fault(3, 2, "mask_on"), Fault(5, 2, "mask_off")]
    env = HostileEnv(BOX, actions, 3, faults, max_steps=40)
    venv = pw.make_vec_env(env, seed=0)
    venv.reset()
    rng = np.random.default_rng(0)
    restricted = 0
    for _ in range(30):
        masks = venv.action_masks()
        restricted += int((~masks).any(1).sum())
        for j, a in enumerate(env.possible_agents):
            expected = np.ones(masks.shape[1], bool) if env.masks[a] is None else env.masks[a].astype(bool)
            np.testing.assert_array_equal(masks[j], expected)
        venv.step(_random_valid(venv, rng))
    assert restricted > 30  # the masks did restrict the actions
    assert env.violations == []


def test_maskable_ppo_obeys_masks_that_appear_after_reset() -> None:
    """The issue's run: a third of the actions the env received were masked out, under every learner."""
    envs: list[HostileEnv] = []

    def make() -> HostileEnv:
        envs.append(HostileEnv(BOX, spaces.Discrete(5), 3, [Fault(1, j, "mask_on") for j in range(3)], max_steps=1000))
        return envs[-1]

    venv = pw.make_vec_env(make, n_envs=2, seed=0)
    MaskablePPO("MlpPolicy", venv, n_steps=64, batch_size=96, n_epochs=1, seed=0).learn(384)
    assert sum(len(e.violations) for e in envs) == 0
    assert all(e.masks[a] is not None for e in envs for a in e.agents)


# --- 2. training and deployment write the same rows ------------------------------------------------


class _InfoMaskEnv(SpaceMapEnv):
    """Heterogeneous agents whose masks come in ``info["action_mask"]``, of each agent's own length."""

    def _infos(self, agents: list) -> dict:
        out = {}
        for a in agents:
            mask = (self._rng.random(int(self.action_spaces[a].n)) < 0.5).astype(np.int8)
            mask[self._rng.integers(mask.size)] = 1
            out[a] = {"action_mask": mask}
        return out

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        obs, _ = super().reset(seed=seed)
        self.last = self._infos(self.agents)
        return obs, self.last

    def step(self, actions: dict) -> tuple:
        for a, x in actions.items():
            if not self.last[a]["action_mask"][int(x) - int(self.action_spaces[a].start)]:
                raise ValueError(f"{a}: action {x} is masked out by its info mask")
        obs, rew, term, trunc, _ = super().step(actions)
        self.last = self._infos(list(obs))
        return obs, rew, term, trunc, self.last


def _info_mask_env() -> _InfoMaskEnv:
    acts = {"scout_0": spaces.Discrete(2, start=2), "tank_0": spaces.Discrete(4), "medic_0": spaces.Discrete(3, start=1)}
    obs = {"scout_0": spaces.Box(-1, 1, (3,)), "tank_0": spaces.Box(-2, 2, (5,)), "medic_0": spaces.Box(0, 1, (4,))}
    return _InfoMaskEnv(obs, acts, max_steps=50)


def test_vec_env_and_shared_policy_write_identical_rows() -> None:
    model = PPO("MlpPolicy", pw.make_vec_env(_info_mask_env()), n_steps=8, seed=0)
    trained_on = _info_mask_env()
    venv = pw.make_vec_env(trained_on, seed=7)
    actor = pw.SharedPolicy(model, _info_mask_env())
    deployed = _info_mask_env()
    obs_b, infos_b = deployed.reset(seed=7)
    obs_a = venv.reset()
    rng = np.random.default_rng(0)
    for _ in range(12):
        rows = actor.observe(obs_b, infos_b)
        slots = [trained_on.possible_agents.index(a) for a in obs_b]
        np.testing.assert_array_equal(rows, obs_a[slots])
        assert (venv.layout.action_mask(rows) == 0).any()  # the info masks are in the rows
        obs_a, *_ = venv.step(_random_valid(venv, rng))
        obs_b, _, _, _, infos_b = deployed.step(trained_on.received[-1])  # the same env actions


def test_shared_policy_does_not_reapply_the_users_own_wrappers() -> None:
    """Deployment on a preprocessed env (resize, colour reduction, heterogeneous padding) writes the vec env's rows."""
    from policies import FullSharingPolicy

    def make() -> object:
        env = SpaceMapEnv(
            {"a_0": spaces.Box(0, 255, (10, 10, 3), np.uint8), "b_0": spaces.Box(0, 255, (12, 12, 3), np.uint8)},
            {"a_0": spaces.Discrete(3), "b_0": spaces.Discrete(2)},
        )
        return pw.resize(pw.color_reduction(env), 6, 6)

    venv = pw.make_vec_env(make, seed=3)
    model = PPO(FullSharingPolicy, venv, n_steps=8, batch_size=16, seed=0)
    deployed = make()
    obs, infos = deployed.reset(seed=3)
    actor = pw.SharedPolicy(model, make())
    rows = actor.observe(obs, infos)
    venv.seed(3)  # PPO(seed=0) reseeded the copies
    slots = venv.reset()
    for key in rows:
        np.testing.assert_array_equal(rows[key], slots[key])
    assert set(actor.act(obs, infos)) == {"a_0", "b_0"}


def test_evaluate_never_sends_an_action_its_info_mask_forbids() -> None:
    venv = pw.make_vec_env(_info_mask_env(), seed=0)
    model = MaskablePPO("MlpPolicy", venv, n_steps=16, batch_size=48, seed=0).learn(48)
    result = pw.evaluate(model, _info_mask_env, n_episodes=2)  # the env asserts every action
    assert result.lengths == [50, 50]


# --- 3. Discrete start != 0 ------------------------------------------------------------------------


@pytest.mark.parametrize("heterogeneous", [False, True])
def test_discrete_start_is_mapped_for_every_agent(heterogeneous: bool) -> None:
    acts = {"a": spaces.Discrete(3, start=5), "b": spaces.Discrete(4 if heterogeneous else 3, start=5)}
    env = SpaceMapEnv({"a": BOX, "b": BOX}, acts)
    venv = pw.make_vec_env(env, seed=0)
    assert venv.action_space == spaces.Discrete(int(acts["b"].n))  # SB3 sees 0..n-1
    venv.reset()
    venv.step(np.array([0, 2]))
    venv.step(np.array([2, int(acts["b"].n) - 1]))
    assert env.received == [{"a": 5, "b": 7}, {"a": 7, "b": 4 + int(acts["b"].n)}]
    model = MaskablePPO("MlpPolicy", venv, n_steps=8, seed=0)
    actions = pw.SharedPolicy(model, SpaceMapEnv({"a": BOX, "b": BOX}, acts)).act({"a": BOX.sample(), "b": BOX.sample()})
    assert all(acts[a].contains(int(x)) for a, x in actions.items())
    pw.evaluate(model, lambda: SpaceMapEnv({"a": BOX, "b": BOX}, acts, max_steps=3), n_episodes=1)  # raised before


def test_multidiscrete_start_is_mapped() -> None:
    act = spaces.MultiDiscrete([2, 3], start=[-1, 4])
    env = SpaceMapEnv({"a": BOX}, {"a": act})
    venv = pw.make_vec_env(env, seed=0)
    assert venv.action_space == spaces.MultiDiscrete([2, 3])
    venv.reset()
    venv.step(np.array([[1, 2]]))
    np.testing.assert_array_equal(env.received[-1]["a"], [0, 6])


# --- 4. observations outside their space -----------------------------------------------------------


@pytest.mark.parametrize(
    ("space", "match"),
    [
        (spaces.Discrete(4, start=2), r"Discrete\(4, start=2\): the value 6 is outside 2\.\.5"),
        (spaces.MultiDiscrete([3, 2], start=[1, -1]), r"entry \(0,\) is 4, outside 1\.\.3"),
        (spaces.MultiBinary(3), r"entry \(0,\) is 2, not 0 or 1"),
        (spaces.Box(-1.0, 1.0, (3,), np.float32), r"holds 2 at index \(0,\), outside the bounds \[-1, 1\]"),
    ],
)
def test_observation_outside_its_space_raises_naming_the_agent(space: spaces.Space, match: str) -> None:
    venv = pw.make_vec_env(HostileEnv(space, spaces.Discrete(2), 3, [Fault(2, 1, "obs_out")]), seed=0)
    venv.reset()
    venv.step(np.zeros(3, np.int64))
    with pytest.raises(pw.ObservationError, match=r"make_vec_env: the observation of agent 'agent_1' is outside its observation space .*" + match):
        venv.step(np.zeros(3, np.int64))


def test_heterogeneous_agent_outside_its_own_bounds_is_refused() -> None:
    """A value inside the padded (union) bounds but outside the agent's own space is still refused."""
    small, big = spaces.Box(0.0, 1.0, (2,), np.float32), spaces.Box(0.0, 5.0, (3,), np.float32)

    class Leaky(SpaceMapEnv):
        def _observe(self, agent: Any) -> Any:
            obs = super()._observe(agent)
            return np.full(2, 3.0, np.float32) if agent == "small" and self._t == 1 else obs

    venv = pw.make_vec_env(Leaky({"small": small, "big": big}, {"small": spaces.Discrete(2), "big": spaces.Discrete(2)}), seed=0)
    venv.reset()
    with pytest.raises(pw.ObservationError, match=r"agent 'small' .* Box\(0\.0, 1\.0, \(2,\), float32\) \(padded to .*entry 0 \(flattened\) is 3, outside the agent's own bounds \[0, 1\]"):
        venv.step(np.zeros(2, np.int64))


# --- 5. duplicate agent names ----------------------------------------------------------------------


def test_duplicate_agent_names_are_refused() -> None:
    env = HostileEnv(BOX, spaces.Discrete(2), agent_names=["x", "y", "x"])
    with pytest.raises(ValueError, match=r"lists agents \['x'\] more than once in possible_agents \['x', 'y', 'x'\]"):
        pw.make_vec_env(env)


# --- 6. envs that never end ------------------------------------------------------------------------


def test_parallel_env_keeping_terminated_agents_raises() -> None:
    venv = pw.make_vec_env(HostileEnv(BOX, spaces.Discrete(2), 2, [Fault(2, 0, "keep_done")]), seed=0)
    venv.reset()
    venv.step(np.zeros(2, np.int64))
    with pytest.raises(pw.EnvContractError, match=r"'hostile_v0' .* reported agent 'agent_0' terminated but kept it in env.agents"):
        venv.step(np.zeros(2, np.int64))


class _NeverEndingTurns(AECEnv):
    """A turn-based AEC game whose players terminate after two moves but are never removed."""

    metadata = {"name": "never_ending_v0", "is_parallelizable": False}

    def __init__(self) -> None:
        super().__init__()
        self.possible_agents = ["p0", "p1"]
        self.observation_spaces = {a: BOX for a in self.possible_agents}
        self.action_spaces = {a: spaces.Discrete(2) for a in self.possible_agents}

    def observation_space(self, agent: Any) -> spaces.Space:
        return BOX

    def action_space(self, agent: Any) -> spaces.Space:
        return spaces.Discrete(2)

    def observe(self, agent: Any) -> np.ndarray:
        return np.zeros(3, np.float32)

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        self.agents = list(self.possible_agents)
        self.rewards = {a: 0.0 for a in self.agents}
        self._cumulative_rewards = dict(self.rewards)
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.infos = {a: {} for a in self.agents}
        self.agent_selection = "p0"
        self.moves = 0

    def step(self, action: Any) -> None:
        if action is not None:  # a dead step leaves the agent in place: the bug
            self.moves += 1
            if self.moves >= 2:
                self.terminations = {a: True for a in self.agents}
        self.agent_selection = "p1" if self.agent_selection == "p0" else "p0"


def test_turn_based_env_keeping_dead_agents_raises_instead_of_looping() -> None:
    venv = pw.make_vec_env(_NeverEndingTurns(), seed=0)
    venv.reset()
    venv.step(np.zeros(2, np.int64))
    with pytest.raises(pw.EnvContractError, match=r"'never_ending_v0' .* still selects the done agent 'p\d'.*_was_dead_step"):
        venv.step(np.zeros(2, np.int64))
