"""``MemoryEnv``: a cue shown once must be acted on several steps later (issue 14)."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from ps_wrappers.testing.envs import SameSpacesEnv

__all__ = ["MemoryEnv"]


class MemoryEnv(SameSpacesEnv):
    """Each agent sees its own cue at the first step and must answer it after ``delay`` steps.

    An episode has ``delay + 1`` steps. Observations are ``n_cues + 1`` floats: at step 0 the
    one-hot of the agent's cue (drawn uniformly per agent and episode), at steps ``1 .. delay - 1``
    zeros, at step ``delay`` only the last entry (the query flag) set. The action taken on the
    query observation earns 1 if it equals the cue, 0 otherwise; earlier actions earn nothing.
    Then every agent terminates.

    Returns per agent (:meth:`expected_returns`): optimal (a policy with memory) 1; uniform random
    ``1 / n_cues``; best feed-forward policy ``1 / n_cues``, since the query observation is the
    same whatever the cue (defaults: 1, 0.5, 0.5).

    Args:
        n_agents: Number of agents ``agent_0 ..`` (each with its own cue).
        n_cues: Number of cues, and of Discrete actions.
        delay: Steps from the cue to the query (>= 1; the blank steps number ``delay - 1``).
    """

    metadata = {"name": "memory_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, n_agents: int = 2, n_cues: int = 2, delay: int = 4) -> None:
        if n_agents < 1 or n_cues < 2 or delay < 1:
            raise ValueError(
                "MemoryEnv: need n_agents >= 1, n_cues >= 2 and delay >= 1, got "
                f"n_agents={n_agents}, n_cues={n_cues}, delay={delay}"
            )
        self.n_cues, self.delay = n_cues, delay
        self.render_mode = None
        self.possible_agents = [f"agent_{i}" for i in range(n_agents)]
        self.agents: list[str] = []
        self._obs_space = spaces.Box(0.0, 1.0, (n_cues + 1,), np.float32)
        self._act_space = spaces.Discrete(n_cues)
        self._rng = np.random.default_rng()
        self._cues = np.zeros(n_agents, np.int64)
        self._t = 0

    def cue(self, agent: str) -> int:
        """``agent``'s cue in the current episode."""
        return int(self._cues[self.possible_agents.index(agent)])

    def expected_returns(self) -> dict[str, float]:
        """Per-agent episode return of the ``"optimal"``, ``"random"`` and ``"best_feed_forward"`` policies."""
        return {"optimal": 1.0, "random": 1.0 / self.n_cues, "best_feed_forward": 1.0 / self.n_cues}

    def _obs(self) -> dict[str, np.ndarray]:
        out = {}
        for i, a in enumerate(self.possible_agents):
            o = np.zeros(self.n_cues + 1, np.float32)
            if self._t == 0:
                o[self._cues[i]] = 1.0
            elif self._t == self.delay:
                o[-1] = 1.0
            out[a] = o
        return out

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Draw every agent's cue and show it."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self._t = 0
        self._cues = self._rng.integers(self.n_cues, size=len(self.possible_agents))
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        """Score the answers on the query step; otherwise move on."""
        query = self._t == self.delay
        rew = {a: float(query and int(actions[a]) == self.cue(a)) for a in self.agents}
        self._t += 1
        obs = self._obs() if not query else {a: np.zeros(self.n_cues + 1, np.float32) for a in self.agents}
        terms = dict.fromkeys(self.agents, query)
        truncs = dict.fromkeys(self.agents, False)
        infos: dict = {a: {} for a in self.agents}
        if query:
            self.agents = []
        return obs, rew, terms, truncs, infos
