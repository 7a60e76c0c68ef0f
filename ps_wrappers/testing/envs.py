"""Small PettingZoo ParallelEnvs for testing parameter-sharing set-ups.

* :class:`SpaceMapEnv`: any per-agent map of observation and action spaces (heterogeneity tests).
* :class:`DyingAgentsEnv`: agents terminate at different, known times.
* :class:`AgentIdentityEnv`: every agent sees the same observation but must pick a different
  action; a policy that cannot tell agents apart stays near chance (FuPS), one that can solves it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv

__all__ = ["SameSpacesEnv", "SpaceMapEnv", "DyingAgentsEnv", "AgentIdentityEnv"]


class SameSpacesEnv(ParallelEnv):
    """Base of test envs whose agents all share one observation space and one action space.

    Subclasses set ``self._obs_space`` and ``self._act_space`` in ``__init__``.
    """

    _obs_space: spaces.Space
    _act_space: spaces.Space

    def observation_space(self, agent: Any) -> spaces.Space:
        """The observation space shared by every agent."""
        return self._obs_space

    def action_space(self, agent: Any) -> spaces.Space:
        """The action space shared by every agent."""
        return self._act_space


class SpaceMapEnv(ParallelEnv):
    """A ParallelEnv whose agents have the given observation and action spaces.

    Observations are sampled from each agent's space (seeded by ``reset(seed=...)``); rewards are
    0. When an observation space is a Dict with an ``action_mask`` entry, the emitted mask is a
    random non-empty subset of the agent's actions, and :meth:`step` raises if a masked-out action
    arrives. Every action received is recorded in :attr:`received`, and the last observation
    emitted to each agent in :attr:`emitted` (a copy), for inspection.

    Args:
        observation_spaces: Agent -> observation space.
        action_spaces: Agent -> action space (same keys).
        max_steps: Steps before all agents are truncated.
    """

    metadata = {"name": "space_map_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(
        self,
        observation_spaces: Mapping[Any, spaces.Space],
        action_spaces: Mapping[Any, spaces.Space],
        max_steps: int = 25,
    ) -> None:
        if set(observation_spaces) != set(action_spaces):
            raise ValueError(
                "SpaceMapEnv: observation_spaces and action_spaces must name the same agents, got "
                f"{sorted(map(str, observation_spaces))} and {sorted(map(str, action_spaces))}"
            )
        self.render_mode = None
        self.possible_agents = list(observation_spaces)
        self.agents: list[Any] = []
        self.observation_spaces = dict(observation_spaces)
        self.action_spaces = dict(action_spaces)
        self.max_steps = max_steps
        self.received: list[dict[Any, Any]] = []
        self.emitted: dict[Any, Any] = {}
        self._masks: dict[Any, np.ndarray] = {}
        self._rng = np.random.default_rng()
        self._t = 0

    def observation_space(self, agent: Any) -> spaces.Space:
        """The agent's observation space."""
        return self.observation_spaces[agent]

    def action_space(self, agent: Any) -> spaces.Space:
        """The agent's action space."""
        return self.action_spaces[agent]

    def _observe(self, agent: Any) -> Any:
        space = self.observation_spaces[agent]
        obs = space.sample()
        if isinstance(space, spaces.Dict) and "action_mask" in space.spaces:
            mask = (self._rng.random(space["action_mask"].shape) < 0.6).astype(space["action_mask"].dtype)
            mask.flat[self._rng.integers(mask.size)] = 1
            obs["action_mask"] = mask
            self._masks[agent] = mask
        self.emitted[agent] = copy.deepcopy(obs)
        return obs

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Start an episode; ``seed`` seeds every space and the mask generator."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            for i, agent in enumerate(self.possible_agents):
                self.observation_spaces[agent].seed(seed + 2 * i)
                self.action_spaces[agent].seed(seed + 2 * i + 1)
        self.agents = list(self.possible_agents)
        self._t = 0
        self.received.clear()
        return {a: self._observe(a) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        """Record the actions, check them against spaces and masks, emit fresh observations."""
        for agent, action in actions.items():
            space = self.action_spaces[agent]
            if not space.contains(np.asarray(action, dtype=space.dtype) if isinstance(space, spaces.Box) else action):
                raise ValueError(f"SpaceMapEnv: action {action!r} of agent {agent!r} is outside {space}")
            mask = self._masks.get(agent)
            if mask is not None and isinstance(space, spaces.Discrete) and not mask[int(action) - int(space.start)]:
                raise ValueError(f"SpaceMapEnv: action {action!r} of agent {agent!r} is masked out")
        self.received.append(dict(actions))
        self._t += 1
        done = self._t >= self.max_steps
        agents = list(self.agents)
        obs = {a: self._observe(a) for a in agents}
        rew = {a: 0.0 for a in agents}
        terms = {a: False for a in agents}
        truncs = {a: done for a in agents}
        infos: dict = {a: {} for a in agents}
        if done:
            self.agents = []
        return obs, rew, terms, truncs, infos


class DyingAgentsEnv(SameSpacesEnv):
    """Agents ``agent_0 .. agent_{n-1}``; agent ``i`` terminates after ``lifetimes[i]`` steps.

    Each step every live agent gets reward 1; the observation is ``[t / 100, i / n]``. The episode
    ends when the last agent terminates (or at ``max_steps``, as a truncation of all live agents).
    """

    metadata = {"name": "dying_agents_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, lifetimes: Sequence[int] = (3, 5, 8), max_steps: int = 100) -> None:
        if not lifetimes or min(lifetimes) < 1:
            raise ValueError(f"DyingAgentsEnv: lifetimes must be positive integers, got {lifetimes!r}")
        self.lifetimes = tuple(int(x) for x in lifetimes)
        self.max_steps = max_steps
        self.render_mode = None
        self.possible_agents = [f"agent_{i}" for i in range(len(self.lifetimes))]
        self.agents: list[str] = []
        self._obs_space = spaces.Box(0.0, 10.0, (2,), np.float32)
        self._act_space = spaces.Discrete(3)
        self.received: list[dict[str, Any]] = []
        self._t = 0

    def _obs(self, agent: str) -> np.ndarray:
        i = self.possible_agents.index(agent)
        return np.array([self._t / 100.0, i / len(self.possible_agents)], dtype=np.float32)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Revive every agent."""
        self.agents = list(self.possible_agents)
        self._t = 0
        self.received.clear()
        return {a: self._obs(a) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        """Advance time; agents whose lifetime is over terminate."""
        if set(actions) != set(self.agents):
            raise ValueError(
                f"DyingAgentsEnv: actions for {sorted(actions)} but the live agents are {sorted(self.agents)}"
            )
        self.received.append(dict(actions))
        self._t += 1
        agents = list(self.agents)
        obs = {a: self._obs(a) for a in agents}
        rew = {a: 1.0 for a in agents}
        terms = {a: self._t >= self.lifetimes[self.possible_agents.index(a)] for a in agents}
        truncs = {a: (self._t >= self.max_steps) and not terms[a] for a in agents}
        infos: dict = {a: {} for a in agents}
        self.agents = [a for a in agents if not (terms[a] or truncs[a])]
        return obs, rew, terms, truncs, infos


class AgentIdentityEnv(SameSpacesEnv):
    """Identical observations, different optimal actions: the test of agent indication.

    Every agent observes the same random vector each step; agent ``i`` gets reward 1 for action
    ``i % n_actions`` and 0 otherwise. A shared policy without agent identity (FuPS) can do no
    better than ``1 / n_agents`` of the optimum on average when ``n_agents <= n_actions``; with
    identity it reaches 1 per step.

    Args:
        n_agents: Number of agents ``agent_0 ..``.
        n_actions: Size of every agent's Discrete action space.
        obs_dim: Length of the shared observation.
        max_steps: Episode length (truncation).
    """

    metadata = {"name": "agent_identity_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, n_agents: int = 4, n_actions: int = 4, obs_dim: int = 4, max_steps: int = 10) -> None:
        if n_agents < 1 or n_actions < 1 or obs_dim < 1 or max_steps < 1:
            raise ValueError(
                "AgentIdentityEnv: n_agents, n_actions, obs_dim and max_steps must be >= 1, got "
                f"{n_agents}, {n_actions}, {obs_dim}, {max_steps}"
            )
        self.n_actions = n_actions
        self.max_steps = max_steps
        self.render_mode = None
        self.possible_agents = [f"agent_{i}" for i in range(n_agents)]
        self.agents: list[str] = []
        self._obs_space = spaces.Box(-1.0, 1.0, (obs_dim,), np.float32)
        self._act_space = spaces.Discrete(n_actions)
        self._rng = np.random.default_rng()
        self._t = 0

    def optimal_action(self, agent: str) -> int:
        """The rewarded action of ``agent``."""
        return self.possible_agents.index(agent) % self.n_actions

    def _obs(self) -> dict[str, np.ndarray]:
        o = self._rng.uniform(-1.0, 1.0, self._obs_space.shape).astype(np.float32)
        return {a: o.copy() for a in self.agents}

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Start an episode of ``max_steps`` steps."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self._t = 0
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        """Reward each agent for its own optimal action."""
        self._t += 1
        rew = {a: float(int(actions[a]) == self.optimal_action(a)) for a in self.agents}
        done = self._t >= self.max_steps
        obs = self._obs()
        terms = {a: False for a in self.agents}
        truncs = {a: done for a in self.agents}
        infos: dict = {a: {} for a in self.agents}
        if done:
            self.agents = []
        return obs, rew, terms, truncs, infos
