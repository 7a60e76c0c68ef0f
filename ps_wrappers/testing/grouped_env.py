"""A ParallelEnv whose agents form groups that differ in their reward function or their dynamics.

The test of identity clustering (SePS, Christianos et al., 2021, section 3.1): agents of one group
are interchangeable, agents of different groups are not, and nothing but their transitions and
rewards tells them apart (every agent is named ``agent_<i>`` and observes the same kind of vector).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from ps_wrappers.testing.envs import SameSpacesEnv

__all__ = ["GroupedAgentsEnv"]


class GroupedAgentsEnv(SameSpacesEnv):
    """Agents move a point in ``[-1, 1]^obs_dim``; groups differ in reward or in dynamics.

    Agent ``i`` observes its own point ``x``. Action ``a`` moves it by ``0.2 * E[a]`` (clipped),
    where ``E`` is a fixed table of unit directions; the reward is ``-||x' - target||``.

    * ``differ="reward"``: every group has its own target (all share ``E``).
    * ``differ="dynamics"``: every group has its own direction table ``E_g`` (all share the
      target 0).

    Args:
        groups: Group of every agent (agents are ``agent_0 ..``); default three groups of two,
            interleaved.
        differ: ``"reward"`` or ``"dynamics"``.
        obs_dim: Dimension of the point.
        n_actions: Number of Discrete actions.
        max_steps: Episode length (truncation).
    """

    metadata = {"name": "grouped_agents_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(
        self,
        groups: Sequence[int] = (0, 1, 2, 0, 1, 2),
        differ: str = "reward",
        obs_dim: int = 2,
        n_actions: int = 5,
        max_steps: int = 20,
    ) -> None:
        if differ not in ("reward", "dynamics"):
            raise ValueError(f"GroupedAgentsEnv: differ must be 'reward' or 'dynamics', got {differ!r}")
        if not groups or min(groups) < 0 or obs_dim < 1 or n_actions < 2 or max_steps < 1:
            raise ValueError(
                "GroupedAgentsEnv: need non-negative groups for at least one agent, obs_dim >= 1, "
                f"n_actions >= 2 and max_steps >= 1, got {list(groups)}, {obs_dim}, {n_actions}, {max_steps}"
            )
        self.groups = tuple(int(g) for g in groups)
        self.differ = differ
        self.max_steps = max_steps
        self.possible_agents = [f"agent_{i}" for i in range(len(self.groups))]
        self.agents: list[str] = []
        n_groups = max(self.groups) + 1
        table_rng = np.random.default_rng(12345)
        shared = table_rng.normal(size=(n_actions, obs_dim))
        if differ == "dynamics":
            tables = table_rng.normal(size=(n_groups, n_actions, obs_dim))
            targets = np.zeros((n_groups, obs_dim))
        else:
            tables = np.repeat(shared[None], n_groups, axis=0)
            angles = 2 * np.pi * np.arange(n_groups) / n_groups
            targets = np.zeros((n_groups, obs_dim))
            targets[:, 0] = 0.8 * np.cos(angles)
            if obs_dim > 1:
                targets[:, 1] = 0.8 * np.sin(angles)
        self._directions = tables / np.linalg.norm(tables, axis=-1, keepdims=True)
        self._targets = targets
        self._obs_space = spaces.Box(-1.0, 1.0, (obs_dim,), np.float32)
        self._act_space = spaces.Discrete(n_actions)
        self._rng = np.random.default_rng()
        self._pos = np.zeros((len(self.groups), obs_dim))
        self._t = 0

    def group_of(self, agent: str) -> int:
        """The true group of ``agent``."""
        return self.groups[self.possible_agents.index(agent)]

    def _obs(self) -> dict[str, np.ndarray]:
        return {a: self._pos[i].astype(np.float32) for i, a in enumerate(self.possible_agents) if a in self.agents}

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Random start points."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self._t = 0
        self._pos = self._rng.uniform(-1.0, 1.0, self._pos.shape)
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Move every point by its group's direction for its action; reward by its group's target."""
        rewards = {}
        for i, agent in enumerate(self.possible_agents):
            g = self.groups[i]
            self._pos[i] = np.clip(self._pos[i] + 0.2 * self._directions[g, int(actions[agent])], -1.0, 1.0)
            rewards[agent] = -float(np.linalg.norm(self._pos[i] - self._targets[g]))
        self._t += 1
        done = self._t >= self.max_steps
        obs = self._obs()
        terms = {a: False for a in self.agents}
        truncs = {a: done for a in self.agents}
        infos: dict = {a: {} for a in self.agents}
        if done:
            self.agents = []
        return obs, rewards, terms, truncs, infos
