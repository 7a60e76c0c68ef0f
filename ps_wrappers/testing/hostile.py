"""``HostileEnv``: a ParallelEnv that misbehaves on cue, to test what a learner's env layer does with it.

Give it a script of :class:`Fault` s (what, to which agent, at which step) and it plays an
otherwise well-behaved episode loop: random observations inside the space, rewards 1, all agents
truncated after ``max_steps``. Benign faults are legal PettingZoo behaviour that learners get
wrong (an action mask that appears in the step infos only, or disappears again; agents that die
and respawn); breaking faults violate the contract (an observation outside the space, a NaN or
``None`` reward, an agent kept in ``env.agents`` after it terminated, ...). The env checks every
action it receives against its space and the mask it last emitted, and records what went wrong in
:attr:`HostileEnv.violations`, so a test can assert "no invalid action reached the env, or a
specific error was raised at the step the env broke the contract".
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv

__all__ = ["BENIGN_FAULTS", "BREAKING_FAULTS", "Fault", "HostileEnv"]

BENIGN_FAULTS = ("mask_on", "mask_off", "die", "truncate", "respawn")
"""Legal behaviour: an info mask appears (fresh every step until ``mask_off``) or stops; an agent
terminates or is truncated (and leaves ``env.agents``); a dead agent comes back."""

BREAKING_FAULTS = (
    "obs_out", "obs_nan", "obs_scalar", "obs_shape", "obs_none",
    "reward_none", "reward_nan", "reward_array", "infos_none",
    "stranger", "keep_done", "silent_leave", "empty_mask", "mask_length",
)
"""Contract violations: an observation outside the space (a value, NaN, a scalar where an array
is declared, a wrong shape, None); a reward that is None, NaN or a 1-element array; infos that
are None; an agent not in ``possible_agents``; an agent reported terminated but kept in
``env.agents``; one removed without being reported done; a mask allowing no action; a mask of the
wrong length."""


@dataclass(frozen=True)
class Fault:
    """One misbehaviour: ``kind`` (see :data:`BENIGN_FAULTS`, :data:`BREAKING_FAULTS`) of agent
    ``possible_agents[agent % n_agents]`` at ``step`` (0 = the first reset, ``t`` = the ``t``-th step)."""

    step: int
    agent: int
    kind: str

    @property
    def breaks_contract(self) -> bool:
        """Whether the fault violates the PettingZoo contract (an error is the right answer)."""
        return self.kind in BREAKING_FAULTS


def _out_of_space(space: spaces.Space, rng: np.random.Generator) -> Any:
    value = space.sample()
    if isinstance(space, spaces.Discrete):
        return np.int64(int(space.start) + int(space.n))
    if isinstance(space, spaces.MultiDiscrete):
        value.flat[0] = space.start.flat[0] + space.nvec.flat[0]
    elif isinstance(space, spaces.MultiBinary):
        value.flat[0] = 2
    elif not isinstance(space, spaces.Box):
        raise NotImplementedError(f"HostileEnv: no out-of-space value for {space}")
    elif np.issubdtype(space.dtype, np.integer) and space.high.flat[0] == np.iinfo(space.dtype).max:
        return value.astype(np.float64) + 0.5  # a value no integer dtype of the space can hold
    else:
        value.flat[0] = space.high.flat[0] + 1
    return value


class HostileEnv(ParallelEnv):
    """A ParallelEnv of ``n_agents`` agents that plays the ``faults`` script.

    Args:
        observation_space: Every agent's observation space (Box, Discrete, MultiDiscrete, MultiBinary).
        action_space: Every agent's action space.
        n_agents: Number of agents ``agent_0 ..``.
        faults: The script.
        max_steps: Steps per episode (then every live agent is truncated).
        agent_names: Override ``possible_agents`` (e.g. with a duplicate name).

    Attributes:
        violations: Every invalid action received (outside the space, masked out, for an agent not
            live, missing for a live agent).
        fired: The faults that took effect, with the global step they fired at.
        emitted: The last observation emitted to each agent; ``masks``: its current mask (or None).
    """

    metadata = {"name": "hostile_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        n_agents: int = 3,
        faults: Sequence[Fault] = (),
        max_steps: int = 6,
        agent_names: Sequence[Any] | None = None,
    ) -> None:
        self.render_mode = None
        self.possible_agents = list(agent_names) if agent_names is not None else [f"agent_{i}" for i in range(n_agents)]
        self.agents: list[Any] = []
        self._obs_space = copy.deepcopy(observation_space)  # its own sampler, as separate envs have
        self._act_space = action_space
        self.faults = list(faults)
        self.max_steps = max_steps
        self.violations: list[str] = []
        self.fired: list[Fault] = []
        self.emitted: dict[Any, Any] = {}
        self.masks: dict[Any, np.ndarray | None] = {}
        self.last_infos: dict[Any, dict] = {}
        self._masked: set[Any] = set()
        self._dead: set[Any] = set()
        self._rng = np.random.default_rng(0)
        self._t = 0
        self._global = 0

    def observation_space(self, agent: Any) -> spaces.Space:
        """The shared observation space."""
        return self._obs_space

    def action_space(self, agent: Any) -> spaces.Space:
        """The shared action space."""
        return self._act_space

    # --- faults --------------------------------------------------------------------------------------

    def _now(self, kinds: Sequence[str]) -> list[tuple[Any, str]]:
        out = []
        for f in self.faults:
            if f.step == self._global and f.kind in kinds:
                out.append((self.possible_agents[f.agent % len(self.possible_agents)], f.kind))
        return out

    def _fire(self, agent: Any, kind: str) -> None:
        self.fired.append(Fault(self._global, self.possible_agents.index(agent), kind))

    def _mask(self, agent: Any, kind: str | None = None) -> np.ndarray:
        n = int(self._act_space.n) if isinstance(self._act_space, spaces.Discrete) else int(self._act_space.nvec.sum())  # type: ignore[attr-defined]
        if kind == "mask_length":
            return np.ones(n + 1, np.int8)
        if kind == "empty_mask":
            return np.zeros(n, np.int8)
        mask = (self._rng.random(n) < 0.5).astype(np.int8)
        sizes = [n] if isinstance(self._act_space, spaces.Discrete) else self._act_space.nvec.tolist()  # type: ignore[attr-defined]
        start = 0
        for size in sizes:  # at least one valid action per dimension
            mask[start + int(self._rng.integers(size))] = 1
            start += size
        return mask

    def _observations(self, agents: list, live: list) -> tuple[dict, dict]:
        """Observations of ``agents`` (acting before the step and live after); faults hit ``live`` ones."""
        obs: dict[Any, Any] = {}
        infos: dict[Any, dict] = {}
        for a in agents:
            obs[a] = self._obs_space.sample()
            infos[a] = {}
        for a, kind in self._now(("mask_on", "mask_off")):
            (self._masked.add if kind == "mask_on" else self._masked.discard)(a)
        for a in agents:
            self.masks[a] = self._mask(a) if a in self._masked else None
        for a, kind in self._now(("obs_out", "obs_nan", "obs_scalar", "obs_shape", "obs_none", "empty_mask", "mask_length")):
            if a not in live:
                continue
            self._fire(a, kind)
            if kind in ("empty_mask", "mask_length"):
                self.masks[a] = self._mask(a, kind)
            elif kind == "obs_none":
                obs[a] = None
            elif kind == "obs_scalar" and np.ndim(obs[a]) > 0:
                obs[a] = np.asarray(obs[a]).reshape(-1)[0]
            elif kind == "obs_shape" and np.ndim(obs[a]) > 0:
                obs[a] = np.concatenate([np.asarray(obs[a]).reshape(-1)] * 2)
            elif kind == "obs_nan" and isinstance(self._obs_space, spaces.Box) and np.dtype(self._obs_space.dtype).kind == "f":
                obs[a] = np.asarray(obs[a]).copy()
                obs[a].flat[0] = np.nan
            else:
                obs[a] = _out_of_space(self._obs_space, self._rng)
        for a in agents:
            if self.masks.get(a) is not None:
                infos[a] = {"action_mask": self.masks[a]}
        self.emitted.update({a: copy.deepcopy(o) for a, o in obs.items()})
        return obs, infos

    # --- PettingZoo API ------------------------------------------------------------------------------

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, Any]:
        """Start an episode with every agent; faults of step 0 fire on the first reset."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            self._obs_space.seed(seed)
        self.agents = list(self.possible_agents)
        self._dead.clear()
        self._t = 0
        obs, infos = self._observations(self.agents, self.agents)
        self.last_infos = infos
        if self._now(("infos_none",)):
            self._fire(*self._now(("infos_none",))[0])
            return obs, None
        return obs, infos

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, Any]:
        """Check every action, advance, then play this step's faults."""
        self._check(actions)
        self._global += 1
        self._t += 1
        acting = list(self.agents)
        rew: dict[Any, Any] = {a: 1.0 for a in acting}
        term = {a: False for a in acting}
        trunc = {a: self._t >= self.max_steps for a in acting}
        leaving: list[Any] = []
        for a, kind in self._now(("die", "truncate", "keep_done", "silent_leave")):
            if a in acting:
                self._fire(a, kind)
                if kind == "silent_leave":  # leaves without a done flag, even at the time limit
                    term[a] = trunc[a] = False
                else:
                    (trunc if kind == "truncate" else term)[a] = True
                if kind != "keep_done":
                    leaving.append(a)
        for a, kind in self._now(("reward_none", "reward_nan", "reward_array")):
            if a in acting:
                self._fire(a, kind)
                rew[a] = {"reward_none": None, "reward_nan": float("nan"), "reward_array": np.array([1.0])}[kind]
        keep = {a for a, k in self._now(("keep_done",)) if a in acting}
        self.agents = [a for a in acting if a in keep or not (term[a] or trunc[a] or a in leaving)]
        self._dead.update(a for a in acting if a not in self.agents)
        for a, _ in self._now(("respawn",)):
            if a in self._dead and self.agents and self._t < self.max_steps:
                self._fire(a, "respawn")
                self._dead.discard(a)
                self.agents.append(a)
        strangers = self._now(("stranger",))
        if strangers and self.agents:
            self._fire(strangers[0][0], "stranger")
            self.agents.append("stranger")
        obs, infos = self._observations(list(dict.fromkeys(acting + self.agents)), self.agents)
        self.last_infos = infos
        if self._now(("infos_none",)) and self.agents:
            self._fire(*self._now(("infos_none",))[0])
            return obs, rew, term, trunc, None
        return obs, rew, term, trunc, infos

    def _check(self, actions: dict) -> None:
        live = set(self.agents)
        for a, action in actions.items():
            if a not in live:
                self.violations.append(f"step {self._global}: action {action!r} for agent {a!r}, which is not live")
                continue
            if not self._act_space.contains(np.asarray(action, dtype=self._act_space.dtype) if not np.isscalar(action) else action):
                self.violations.append(f"step {self._global}: action {action!r} of {a!r} outside {self._act_space}")
                continue
            mask = self.masks.get(a)
            if mask is not None and not self._allowed(action, mask):
                self.violations.append(f"step {self._global}: action {action!r} of {a!r} masked out by {mask.tolist()}")
        for a in live - set(actions):
            self.violations.append(f"step {self._global}: no action for the live agent {a!r}")

    def _allowed(self, action: Any, mask: np.ndarray) -> bool:
        space = self._act_space
        if isinstance(space, spaces.Discrete):
            return bool(mask[int(action) - int(space.start)])
        assert isinstance(space, spaces.MultiDiscrete)
        starts = np.concatenate([[0], np.cumsum(space.nvec)[:-1]])
        cols = starts + np.asarray(action, np.int64) - space.start
        return bool(mask[cols].all())
