"""``action_audit``: record every action an env receives and flag the ones it should never see.

Wrap the raw env (innermost, before any padding) to prove that nothing upstream sends a padded,
masked-out or out-of-space action, or an action for an agent that is not live (a ghost step).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import AECEnv, ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper, BaseWrapper

__all__ = ["action_audit", "ParallelActionAudit", "AECActionAudit"]


def _problem(space: spaces.Space, action: Any, mask: np.ndarray | None) -> str | None:
    value = np.asarray(action, dtype=space.dtype) if isinstance(space, spaces.Box) else action
    if not space.contains(value):
        return f"outside {space}"
    if mask is not None and isinstance(space, spaces.Discrete):
        if not mask[int(action) - int(space.start)]:
            return "masked out by the env's action mask"
    return None


def _mask(obs: Any, info: dict | None) -> np.ndarray | None:
    if isinstance(obs, dict) and "action_mask" in obs:
        return np.asarray(obs["action_mask"]).astype(bool)
    if info and "action_mask" in info:
        return np.asarray(info["action_mask"]).astype(bool)
    return None


class _AuditMixin:
    received: int
    violations: list[str]

    def _check(self, agent: Any, action: Any, space: spaces.Space, mask: np.ndarray | None, live: bool) -> None:
        self.received += 1
        if not live:
            self.violations.append(f"ghost step: action {action!r} for agent {agent!r}, which is not live")
            return
        problem = _problem(space, action, mask)
        if problem:
            self.violations.append(f"agent {agent!r}: action {action!r} {problem}")


class ParallelActionAudit(_AuditMixin, BaseParallelWrapper):
    """Audit of a ParallelEnv: ``received`` counts actions, ``violations`` lists the bad ones."""

    def __init__(self, env: ParallelEnv) -> None:
        """Wrap ``env``."""
        super().__init__(env)
        self.received = 0
        self.violations = []
        self._obs: dict = {}
        self._infos: dict = {}

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Reset and remember the observations (for their masks)."""
        self._obs, self._infos = self.env.reset(seed=seed, options=options)
        return self._obs, self._infos

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        """Check every action, then step."""
        live = set(self.env.agents)
        for agent, action in actions.items():
            mask = _mask(self._obs.get(agent), self._infos.get(agent))
            self._check(agent, action, self.env.action_space(agent), mask, agent in live)
        missing = live - set(actions)
        if missing:
            self.violations.append(f"no action for live agents {sorted(map(str, missing))}")
        out = self.env.step(actions)
        self._obs, self._infos = out[0], out[4]
        return out


class AECActionAudit(_AuditMixin, BaseWrapper):
    """Audit of an AECEnv: ``received`` counts actions, ``violations`` lists the bad ones."""

    def __init__(self, env: AECEnv) -> None:
        """Wrap ``env``."""
        super().__init__(env)
        self.received = 0
        self.violations = []

    def step(self, action: Any) -> None:
        """Check the selected agent's action (``None`` only for done agents), then step."""
        agent = self.env.agent_selection
        done = self.env.terminations[agent] or self.env.truncations[agent]
        if action is None:
            if not done:
                self.violations.append(f"agent {agent!r}: None action while it is live")
        elif done:
            self.violations.append(f"agent {agent!r}: action {action!r} after it was done")
        else:
            mask = _mask(self.env.observe(agent), self.env.infos.get(agent))
            self._check(agent, action, self.env.action_space(agent), mask, True)
        self.env.step(action)


def action_audit(env: ParallelEnv | AECEnv) -> ParallelActionAudit | AECActionAudit:
    """Wrap ``env`` (Parallel or AEC) in the matching audit wrapper."""
    if isinstance(env, ParallelEnv):
        return ParallelActionAudit(env)
    if isinstance(env, AECEnv):
        return AECActionAudit(env)
    raise TypeError(f"action_audit expects a PettingZoo ParallelEnv or AECEnv, got {type(env).__name__}")
