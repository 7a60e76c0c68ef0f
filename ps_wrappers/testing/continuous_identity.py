"""``ContinuousIdentityEnv``: the agent-identity task with Box actions (issue 14)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv

__all__ = ["ContinuousIdentityEnv"]


class ContinuousIdentityEnv(ParallelEnv):
    """Identical observations, Box actions, and a target action vector per agent.

    Every agent observes the same random vector in ``[-1, 1]^obs_dim`` each step and acts in
    ``[-1, 1]^{d_i}``; its reward is ``-mean_j (a_j - t_ij)^2`` (in ``[-3.24, 0]``), where the
    target ``t_i`` (:meth:`target`) depends only on the agent: ``t_ij = 0.8 cos(theta_i + j pi / 2)``
    with ``theta_i = pi (i + 1/2) / n_agents``, distinct for every agent. An action outside the
    agent's own space raises ``ValueError``, so padded dimensions that leak are caught.

    With ``action_dims`` a sequence, agents have different action sizes (padding tests): agent
    ``i``'s target is the first ``d_i`` entries of the formula.

    Returns per agent over ``max_steps`` steps, averaged over agents (:meth:`expected_returns`):

    * optimal (act ``t_i``): 0;
    * uniform random actions: ``-max_steps * mean_i (1/3 + mean_j t_ij^2)``;
    * best agent-blind policy (FuPS: one action for all, per dimension the weighted mean of the
      targets): ``-max_steps * mean_i mean_j (t_ij - a*_j)^2``.

    Defaults (4 agents, 2 dims, 10 steps): 0, -6.53 and -1.84.

    Args:
        n_agents: Number of agents ``agent_0 ..``.
        action_dims: Action size of every agent (an int) or of each agent (a sequence).
        obs_dim: Length of the shared observation.
        max_steps: Episode length (truncation).
    """

    metadata = {"name": "continuous_identity_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, n_agents: int = 4, action_dims: int | Sequence[int] = 2, obs_dim: int = 4, max_steps: int = 10) -> None:
        dims = [action_dims] * n_agents if isinstance(action_dims, int) else list(action_dims)
        if n_agents < 1 or obs_dim < 1 or max_steps < 1 or len(dims) != n_agents or min(dims, default=0) < 1:
            raise ValueError(
                "ContinuousIdentityEnv: need n_agents, obs_dim, max_steps >= 1 and one action size "
                f">= 1 per agent (a sequence of n_agents sizes, or one int), got n_agents={n_agents}, action_dims={action_dims!r}, "
                f"obs_dim={obs_dim}, max_steps={max_steps}"
            )
        self.max_steps = max_steps
        self.render_mode = None
        self.possible_agents = [f"agent_{i}" for i in range(n_agents)]
        self.agents: list[str] = []
        self._obs_space = spaces.Box(-1.0, 1.0, (obs_dim,), np.float32)
        self.action_spaces = {a: spaces.Box(-1.0, 1.0, (d,), np.float32) for a, d in zip(self.possible_agents, dims)}
        theta = np.pi * (np.arange(n_agents) + 0.5) / n_agents
        self._targets = {
            a: (0.8 * np.cos(theta[i] + np.arange(d) * np.pi / 2)).astype(np.float32)
            for i, (a, d) in enumerate(zip(self.possible_agents, dims))
        }
        self._rng = np.random.default_rng()
        self._t = 0

    def observation_space(self, agent: Any) -> spaces.Space:
        """The shared observation space."""
        return self._obs_space

    def action_space(self, agent: Any) -> spaces.Space:
        """``agent``'s Box action space."""
        return self.action_spaces[agent]

    def target(self, agent: str) -> np.ndarray:
        """The best action of ``agent`` (a copy)."""
        return self._targets[agent].copy()

    def best_shared_action(self) -> np.ndarray:
        """The action (of the largest size) that maximises the mean reward of an agent-blind policy."""
        width = max(len(t) for t in self._targets.values())
        num, den = np.zeros(width), np.zeros(width)
        for t in self._targets.values():
            num[: len(t)] += t / len(t)
            den[: len(t)] += 1.0 / len(t)
        return (num / den).astype(np.float32)

    def expected_returns(self) -> dict[str, float]:
        """Per-agent episode return of the ``"optimal"``, ``"random"`` and ``"best_shared"`` policies."""
        shared = self.best_shared_action()
        targets = list(self._targets.values())
        random = np.mean([1 / 3 + np.mean(t.astype(np.float64) ** 2) for t in targets])
        blind = np.mean([np.mean((t - shared[: len(t)]).astype(np.float64) ** 2) for t in targets])
        return {"optimal": 0.0, "random": -self.max_steps * float(random), "best_shared": -self.max_steps * float(blind)}

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
        """Reward each agent by the squared distance of its action to its target."""
        rew = {}
        for a in self.agents:
            x = np.asarray(actions[a], dtype=np.float32)
            if not self.action_spaces[a].contains(x):
                raise ValueError(
                    f"ContinuousIdentityEnv: action {actions[a]!r} of agent {a!r} is outside its "
                    f"action space {self.action_spaces[a]}"
                )
            rew[a] = -float(np.mean((x - self._targets[a]) ** 2))
        self._t += 1
        done = self._t >= self.max_steps
        obs = self._obs()
        terms = {a: False for a in self.agents}
        truncs = {a: done for a in self.agents}
        infos: dict = {a: {} for a in self.agents}
        if done:
            self.agents = []
        return obs, rew, terms, truncs, infos
