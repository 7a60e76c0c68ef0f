"""Blind-particle spread (BPS and BPS-h), the SePS paper's toy task, as a vectorised ParallelEnv.

Christianos et al. (2021), "Scaling Multi-Agent RL with Selective Parameter Sharing", section 4.1
and Table 1: agents belong to colour groups; every group has one landmark of its colour; each agent
must move to its group's landmark but cannot see its own colour (nor anyone else's), so it can only
tell which landmark is its own from its identity. BPS(1) is 3 groups of 5 agents; BPS-h gives every
group a different observation space ("different sensors").

The paper built BPS on MPE; this is a standalone numpy re-implementation with MPE's particle
dynamics (``dt=0.1``, damping 0.25, unit mass, acceleration 5), written over arrays of all agents
so that 1,000 agents step in about a millisecond.

* Actions: ``Discrete(5)``: no-op, left, right, down, up (MPE's order).
* Observation (BPS): ``[velocity (2), position (2)]`` then, for each landmark slot, the landmark's
  position relative to the agent (2) and its colour one-hot (``G``). Landmark ``g`` fills slot
  ``g`` as in MPE; ``shuffle_landmarks=True`` shuffles the slots once per episode (a harder
  variant in which the colour entries are needed to find a landmark). Nothing in the
  observation depends on the agent's own colour: two agents of different groups at the same
  place with the same velocity observe exactly the same vector.
* Observation (BPS-h): group ``g`` sees the BPS vector through its own fixed random linear sensor
  ``W_g`` of shape ``(D + 2g, D)`` (drawn from ``sensor_seed``), so groups differ in observation
  size and in meaning; the map is injective, so no information is lost.
* Reward: minus the agent's distance to its group's landmark, every step; with
  ``shared_reward=True`` every agent gets the team mean of those rewards instead (a cooperative
  variant: agents must still specialise, but credit is shared as in MPE's simple_spread).
* Episodes last ``max_cycles`` steps and end as a truncation (there is no terminal state).

Example:
    >>> from integrations import bps
    >>> env = bps.parallel_env(group_sizes=(5, 5, 5))   # BPS(1)
    >>> obs, infos = env.reset(seed=0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv

from integrations._validation import check_bool, check_int, check_int_sequence, check_seed

__all__ = ["BlindParticleSpreadEnv", "parallel_env", "scripted_returns"]

_ENV = "integrations.bps"
# MPE's discrete actions: no-op, left, right, down, up.
_MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.float64)


class BlindParticleSpreadEnv(ParallelEnv):
    """Blind-particle spread (SePS paper, section 4.1); build it with :func:`parallel_env`.

    Agents are named ``group{g}_{k}`` (``k``-th agent of group ``g``); :attr:`agent_groups` maps
    each name to its group.

    Args:
        group_sizes: Number of agents in each colour group (``(5, 5, 5)`` is the paper's BPS(1)).
        heterogeneous: BPS-h: a different observation space per group.
        max_cycles: Episode length; the end is a truncation.
        sensor_seed: Seed of the BPS-h sensors (fixed for the env's lifetime).
        shuffle_landmarks: Shuffle the landmark slots every episode, so an agent must match
            colours to find its landmark. Off by default: as in MPE (and the SePS paper's BPS),
            landmark ``g`` always fills slot ``g``; its colour one-hot is still observed.
        shared_reward: Give every agent the mean of all agents' rewards (a cooperative team
            reward) instead of its own.
    """

    metadata: dict[str, Any] = {
        "name": "blind_particle_spread_v0",
        "render_modes": [],
        "is_parallelizable": True,
    }

    dt = 0.1
    damping = 0.25
    acceleration = 5.0

    def __init__(
        self,
        group_sizes: Sequence[int] = (5, 5, 5),
        heterogeneous: bool = False,
        max_cycles: int = 25,
        sensor_seed: int = 0,
        shuffle_landmarks: bool = False,
        shared_reward: bool = False,
    ) -> None:
        self.shuffle_landmarks = check_bool(_ENV, "shuffle_landmarks", shuffle_landmarks)
        self.shared_reward = check_bool(_ENV, "shared_reward", shared_reward)
        self.group_sizes = check_int_sequence(_ENV, "group_sizes", group_sizes, 1)
        self.heterogeneous = check_bool(_ENV, "heterogeneous", heterogeneous)
        self.max_cycles = check_int(_ENV, "max_cycles", max_cycles, 1)
        self.sensor_seed = check_int(_ENV, "sensor_seed", sensor_seed, 0)
        self.render_mode = None
        n_groups = len(self.group_sizes)
        self.n_groups = n_groups
        self.groups = np.repeat(np.arange(n_groups), self.group_sizes)
        self.possible_agents = [
            f"group{g}_{k}" for g, size in enumerate(self.group_sizes) for k in range(size)
        ]
        self.agents: list[str] = []
        self.agent_groups = dict(zip(self.possible_agents, self.groups.tolist()))
        self.n_agents = len(self.possible_agents)
        self._members = [np.flatnonzero(self.groups == g) for g in range(n_groups)]
        self.base_obs_dim = 4 + n_groups * (2 + n_groups)
        self._action_space: spaces.Discrete = spaces.Discrete(5)
        self._sensors: list[np.ndarray] | None = None
        self._obs_spaces = self._build_observation_spaces()
        self._rng = np.random.default_rng()
        self._pos = np.zeros((self.n_agents, 2))
        self._vel = np.zeros((self.n_agents, 2))
        self.landmarks = np.zeros((n_groups, 2))
        self.landmark_order = np.arange(n_groups)
        self._t = 0

    def _build_observation_spaces(self) -> dict[str, spaces.Box]:
        d, n_groups = self.base_obs_dim, self.n_groups
        if not self.heterogeneous:
            low = np.full(d, -np.inf, np.float32)
            high = np.full(d, np.inf, np.float32)
            for slot in range(n_groups):
                colour = slice(4 + slot * (2 + n_groups) + 2, 4 + (slot + 1) * (2 + n_groups))
                low[colour], high[colour] = 0.0, 1.0
            shared = spaces.Box(low, high, dtype=np.float32)
            return dict.fromkeys(self.possible_agents, shared)
        rng = np.random.default_rng(self.sensor_seed)
        self._sensors = [
            (rng.standard_normal((d + 2 * g, d)) / np.sqrt(d)).astype(np.float32)
            for g in range(n_groups)
        ]
        per_group = [
            spaces.Box(-np.inf, np.inf, (d + 2 * g,), np.float32) for g in range(n_groups)
        ]
        return {a: per_group[g] for a, g in self.agent_groups.items()}

    def observation_space(self, agent: str) -> spaces.Space:
        """The agent's observation space (per group in BPS-h)."""
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        """``Discrete(5)``: no-op, left, right, down, up."""
        return self._action_space

    def landmark_of(self, agent: str) -> np.ndarray:
        """Position of the landmark ``agent`` must reach (its group's)."""
        return self.landmarks[self.agent_groups[agent]].copy()

    def base_observations(self) -> np.ndarray:
        """The BPS observation of every agent, ``[n_agents, base_obs_dim]`` (before BPS-h sensors)."""
        n, n_groups = self.n_agents, self.n_groups
        obs = np.empty((n, self.base_obs_dim), np.float32)
        obs[:, 0:2] = self._vel
        obs[:, 2:4] = self._pos
        slots = obs[:, 4:].reshape(n, n_groups, 2 + n_groups)
        ordered = self.landmarks[self.landmark_order]  # [slot, 2]
        slots[:, :, :2] = ordered[None, :, :] - self._pos[:, None, :]
        slots[:, :, 2:] = np.eye(n_groups, dtype=np.float32)[self.landmark_order][None]
        return obs

    def _observations(self) -> dict[str, np.ndarray]:
        base = self.base_observations()
        if self._sensors is None:
            return dict(zip(self.possible_agents, base))
        obs: dict[str, np.ndarray] = {}
        for g, members in enumerate(self._members):
            seen = base[members] @ self._sensors[g].T
            obs.update(zip((self.possible_agents[i] for i in members), seen))
        return obs

    def reset(
        self, seed: int | None = None, options: dict | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        """Place agents and landmarks uniformly in ``[-1, 1]^2`` (shuffle slots if asked)."""
        if check_seed(_ENV, seed) is not None:
            self._rng = np.random.default_rng(seed)
        self._pos = self._rng.uniform(-1.0, 1.0, (self.n_agents, 2))
        self._vel = np.zeros((self.n_agents, 2))
        self.landmarks = self._rng.uniform(-1.0, 1.0, (self.n_groups, 2))
        if self.shuffle_landmarks:
            self.landmark_order = self._rng.permutation(self.n_groups)
        self._t = 0
        self.agents = list(self.possible_agents)
        return self._observations(), {a: {} for a in self.agents}

    def step(
        self, actions: dict[str, Any]
    ) -> tuple[
        dict[str, np.ndarray], dict[str, float], dict[str, bool], dict[str, bool], dict[str, dict]
    ]:
        """Move every agent (MPE dynamics) and reward minus its distance to its landmark.

        Raises:
            RuntimeError: if the episode is over.
            ValueError / TypeError: for a missing, non-integer or out-of-range action.
        """
        if not self.agents:
            raise RuntimeError(f"{_ENV}: step() called after the episode ended; call reset()")
        try:
            acts = np.asarray([actions[a] for a in self.possible_agents])
        except KeyError as err:
            raise ValueError(
                f"{_ENV}: no action for live agent {err.args[0]!r}; step() needs one action per "
                "agent in env.agents"
            ) from None
        if acts.dtype.kind not in "iu":
            raise TypeError(f"{_ENV}: actions must be integers in [0, 5), got dtype {acts.dtype}")
        if acts.min() < 0 or acts.max() >= 5:
            bad = int(np.flatnonzero((acts < 0) | (acts >= 5))[0])
            raise ValueError(
                f"{_ENV}: action {acts[bad]} of agent {self.possible_agents[bad]!r} is outside "
                "Discrete(5)"
            )
        force = _MOVES[acts] * self.acceleration
        self._vel = self._vel * (1.0 - self.damping) + force * self.dt
        self._pos = self._pos + self._vel * self.dt
        dist = np.linalg.norm(self._pos - self.landmarks[self.groups], axis=1)
        self._t += 1
        done = self._t >= self.max_cycles
        agents = self.possible_agents
        obs = self._observations()
        reward = np.full(self.n_agents, -dist.mean()) if self.shared_reward else -dist
        rewards = dict(zip(agents, reward.tolist()))
        terms = dict.fromkeys(agents, False)
        truncs = dict.fromkeys(agents, done)
        infos: dict[str, dict] = {a: {} for a in agents}
        if done:
            self.agents = []
        return obs, rewards, terms, truncs, infos


def parallel_env(
    group_sizes: Sequence[int] = (5, 5, 5),
    heterogeneous: bool = False,
    max_cycles: int = 25,
    sensor_seed: int = 0,
    shuffle_landmarks: bool = False,
    shared_reward: bool = False,
) -> BlindParticleSpreadEnv:
    """Create blind-particle spread; see :class:`BlindParticleSpreadEnv` for the arguments.

    The default is the SePS paper's BPS(1): 15 agents in 3 groups of 5, 25 steps. Pass
    ``heterogeneous=True`` for BPS-h (e.g. BPS-h(1): ``group_sizes=(5, 5, 5)``).
    """
    return BlindParticleSpreadEnv(
        group_sizes, heterogeneous, max_cycles, sensor_seed, shuffle_landmarks, shared_reward
    )


def scripted_returns(
    group_sizes: Sequence[int] = (5, 5, 5), n_episodes: int = 20, seed: int = 0, max_cycles: int = 25
) -> dict[str, float]:
    """Mean per-agent episode return of two scripted controllers: reference lines for learners.

    ``"own landmark"`` steers each agent to its group's landmark (what identity makes possible);
    ``"centre"`` steers every agent to the centre of all landmarks (the best a policy that cannot
    tell the groups apart does, the local optimum the SePS paper describes for FuPS). Both pick
    the move that best points at the target, braking by half the current velocity.
    """
    env = BlindParticleSpreadEnv(group_sizes, max_cycles=max_cycles)
    out: dict[str, float] = {}
    for name in ("own landmark", "centre"):
        total = 0.0
        for episode in range(n_episodes):
            env.reset(seed=seed + episode)
            targets = env.landmarks[env.groups] if name == "own landmark" else env.landmarks.mean(0)
            while env.agents:
                goal = targets - env._pos - 0.5 * env._vel
                moves = (goal @ _MOVES.T).argmax(1)
                moves[np.linalg.norm(goal, axis=-1) < 0.05] = 0
                _, rewards, _, _, _ = env.step(dict(zip(env.possible_agents, moves.tolist())))
                total += sum(rewards.values())
        out[name] = total / (n_episodes * env.n_agents)
    return out
