"""Small envs for the frame-stack tests: a turn-based AEC game, agents that spawn and revive, and
an env that reuses one observation array."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils import AgentSelector
from pettingzoo.utils.env import AECEnv

from ps_wrappers.testing.envs import SameSpacesEnv

OBS = spaces.Box(0, 1000, (2,), np.int64)
ACT = spaces.Discrete(2)


class TurnEnv(AECEnv):
    """Two players alternate; each observes ``[ply, 10 * player + own moves]`` (changes every ply)."""

    metadata = {"name": "turns_v0", "render_modes": [], "is_parallelizable": False}

    def __init__(self, plies: int = 9) -> None:
        super().__init__()
        self.possible_agents = ["p0", "p1"]
        self.plies = plies

    def observation_space(self, agent: Any) -> spaces.Space:
        return OBS

    def action_space(self, agent: Any) -> spaces.Space:
        return ACT

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        self.agents = list(self.possible_agents)
        self._selector = AgentSelector(self.agents)
        self.agent_selection = self._selector.reset()
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos: dict = {a: {} for a in self.agents}
        self.ply = 0
        self.moves = dict.fromkeys(self.agents, 0)

    def observe(self, agent: Any) -> np.ndarray:
        return np.array([self.ply, 10 * self.possible_agents.index(agent) + self.moves[agent]], np.int64)

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self.moves[agent] += 1
        self.ply += 1
        if self.ply >= self.plies:
            self.truncations = dict.fromkeys(self.agents, True)
        self.agent_selection = self._selector.next()


class SpawnEnv(SameSpacesEnv):
    """``a`` lives at steps 0-2 and again from step 4 (same name); ``late`` appears at step 3.

    Every observation is ``[step, 100 + step]``; 6 steps per episode.
    """

    metadata = {"name": "spawn_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self) -> None:
        self.possible_agents = ["a", "late"]
        self.agents: list[str] = []
        self._obs_space, self._act_space = OBS, ACT

    def _alive(self, t: int) -> list[str]:
        return [x for x, on in (("a", t <= 2 or t >= 4), ("late", t >= 3)) if on]

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        self.t = 0
        self.agents = self._alive(0)
        return {x: np.array([0, 100]) for x in self.agents}, {x: {} for x in self.agents}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        self.t += 1
        acting = list(self.agents)
        nxt = self._alive(self.t) if self.t < 6 else []
        obs_agents = list(dict.fromkeys(acting + nxt))
        obs = {x: np.array([self.t, 100 + self.t]) for x in obs_agents}
        term = {x: x in acting and x not in nxt for x in obs_agents}
        self.agents = nxt
        zeros = dict.fromkeys(obs_agents, 0.0)
        return obs, zeros, term, dict.fromkeys(obs_agents, False), {x: {} for x in obs_agents}


class InPlaceEnv(SameSpacesEnv):
    """One agent whose env writes every observation into the same array (``[t, t]``)."""

    metadata = {"name": "in_place_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self) -> None:
        self.possible_agents = ["a"]
        self.agents: list[str] = []
        self._obs_space, self._act_space = OBS, ACT
        self.buf = np.zeros(2, np.int64)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        self.agents, self.buf[:] = ["a"], 0
        return {"a": self.buf}, {"a": {}}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        self.buf += 1
        return {"a": self.buf}, {"a": 0.0}, {"a": False}, {"a": False}, {"a": {}}
