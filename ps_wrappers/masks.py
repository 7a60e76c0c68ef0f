"""Valid-action masks in a padded discrete action space, and reading the env's own masks.

A mask has ``M`` entries: ``n`` for a Discrete space, ``sum(nvec)`` for a MultiDiscrete one (one
segment per dimension, concatenated: sb3-contrib's layout). An agent's mask is its padding mask
(its own actions inside the padded space) combined with the environment's mask of the moment,
found in a Dict observation's ``action_mask`` entry or in ``info["action_mask"]``. An env mask is
honoured on every step it is present, whenever it first appears; a step without one allows all the
agent's own actions. A mask may have the agent's own length (scattered to its actions in the
padded space) or the padded length; any other length, or a mask that leaves a dimension without a
valid action, raises :class:`~ps_wrappers.errors.EnvContractError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from ps_wrappers.errors import EnvContractError

__all__ = ["AgentMask", "action_nvec", "env_mask_of", "own_positions", "padding_mask"]

MASK_KEY = "action_mask"


def action_nvec(space: spaces.Space) -> tuple[int, ...]:
    """Sizes of the discrete action dimensions of ``space`` (empty for continuous actions)."""
    if isinstance(space, spaces.Discrete):
        return (int(space.n),)
    if isinstance(space, spaces.MultiDiscrete):
        return tuple(int(n) for n in space.nvec.reshape(-1))
    return ()


def _dims(space: spaces.Space) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, sizes)`` of each discrete dimension of ``space``."""
    if isinstance(space, spaces.Discrete):
        return np.array([int(space.start)]), np.array([int(space.n)])
    return space.start.reshape(-1).astype(np.int64), space.nvec.reshape(-1).astype(np.int64)  # type: ignore[attr-defined]


def own_positions(own: spaces.Space, padded: spaces.Space) -> np.ndarray:
    """Positions, in the padded mask, of each of the agent's own actions (in its own order)."""
    own_start, own_n = _dims(own)
    dst_start, dst_n = _dims(padded)
    offsets = np.concatenate([[0], np.cumsum(dst_n)[:-1]])
    parts = [offsets[d] + own_start[d] - dst_start[d] + np.arange(own_n[d]) for d in range(len(own_n))]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def padding_mask(own: spaces.Space, padded: spaces.Space) -> np.ndarray:
    """True exactly for the agent's real actions (a dropped MultiDiscrete dimension: its 0 value)."""
    dst_start, dst_n = _dims(padded)
    mask = np.zeros(int(dst_n.sum()), dtype=bool)
    mask[own_positions(own, padded)] = True
    offsets = np.concatenate([[0], np.cumsum(dst_n)[:-1]])
    for d in range(len(_dims(own)[1]), len(dst_n)):  # dropped dimensions: only the padding value 0
        mask[offsets[d] - dst_start[d]] = True
    return mask


def env_mask_of(obs: Any, info: Any) -> tuple[Any, str] | None:
    """The env's current mask of one agent and where it came from, or None when it gave none."""
    if isinstance(obs, dict) and MASK_KEY in obs:
        return obs[MASK_KEY], "observation['action_mask']"
    if isinstance(info, dict) and MASK_KEY in info:
        return info[MASK_KEY], "info['action_mask']"
    return None


@dataclass(frozen=True)
class AgentMask:
    """One agent's masks in the padded action space.

    Attributes:
        agent: The agent.
        own: The agent's own action space.
        static: Its padding mask (bool ``[M]``).
        positions: Positions of its own actions in the padded mask.
        dim_starts: First mask entry of each padded dimension.
    """

    agent: Any
    own: spaces.Space
    static: np.ndarray
    positions: np.ndarray
    dim_starts: np.ndarray

    @classmethod
    def build(cls, agent: Any, own: spaces.Space, padded: spaces.Space) -> AgentMask:
        """The masks of ``agent`` whose own space ``own`` is padded to ``padded``."""
        nvec = np.asarray(action_nvec(padded), dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(nvec)[:-1]]).astype(np.int64)
        return cls(agent, own, padding_mask(own, padded), own_positions(own, padded), starts)

    def placeholder(self) -> np.ndarray:
        """The one-action mask of a placeholder row: the first valid action of every dimension."""
        one = np.zeros_like(self.static)
        for start, seg in zip(self.dim_starts, np.split(self.static, self.dim_starts[1:])):
            one[start + int(np.argmax(seg))] = True
        return one

    def combine(self, raw: Any, source: str, require_valid: bool = True) -> np.ndarray:
        """The padding mask combined with the env mask ``raw`` (from ``source``), checked.

        Raises:
            EnvContractError: if ``raw`` has neither the agent's own length nor the padded length,
                or (with ``require_valid``) leaves a dimension without a valid action.
        """
        values = np.asarray(raw)
        if values.dtype == object or values.dtype.kind not in "biuf":
            raise EnvContractError(
                f"agent {self.agent!r}: its {source} is {raw!r}, not an array of 0/1 values; give one "
                f"entry per action of its action space {self.own} (1 = valid)"
            )
        flat = values.reshape(-1) != 0
        if flat.size == self.positions.size:
            mask = self.static.copy()
            mask[self.positions] = flat
        elif flat.size == self.static.size:
            mask = self.static & flat
        else:
            raise EnvContractError(
                f"agent {self.agent!r}: its {source} has {flat.size} entries, but its action space "
                f"{self.own} has {self.positions.size} actions (one mask entry per action; for "
                "MultiDiscrete, one segment per dimension, concatenated). Fix the env's mask."
            )
        if require_valid and not np.logical_or.reduceat(mask, self.dim_starts).all():
            dim = int(np.flatnonzero(~np.logical_or.reduceat(mask, self.dim_starts))[0])
            where = "" if self.dim_starts.size == 1 else f" in dimension {dim}"
            raise EnvContractError(
                f"agent {self.agent!r}: its {source} {values.reshape(-1).tolist()} allows no action"
                f"{where} of its action space {self.own}. An acting agent needs at least one valid "
                "action: fix the env's mask, or end the agent's episode (terminate it) instead."
            )
        return mask
