"""Check the actions SB3 sends against each slot's current valid-action mask, in one vector op.

Only acting slots are checked (placeholder actions are ignored by the env anyway). An action
outside the mask either raises, naming the slot, agent, action and valid actions, or is replaced
by a uniformly random valid one and counted: it never reaches the environment. Valid actions are
then shifted from SB3's 0-based indices to the env's values (a Discrete or MultiDiscrete ``start``).
The vec envs and :class:`ps_wrappers.SharedPolicy` both act through this guard.
"""

from __future__ import annotations

import numpy as np

from ps_wrappers.action_padding import InvalidActionMode
from ps_wrappers.layout import AnyLayout

__all__ = ["ActionGuard"]


class ActionGuard:
    """Vectorised validity check of discrete slot actions against the slots' masks."""

    def __init__(self, layout: AnyLayout, mode: InvalidActionMode, n_copies: int, offset: np.ndarray | None = None) -> None:
        """Guard the slots of ``n_copies`` copies; ``offset`` maps SB3's indices to env values."""
        if mode not in ("raise", "random_valid"):
            raise ValueError(f"make_vec_env: invalid_action must be 'raise' or 'random_valid', got {mode!r}")
        self.layout = layout
        self.mode = mode
        self.names = list(layout.agents) * n_copies
        self.counts: dict[str, int] = {}
        self.rng = np.random.default_rng()
        self.offset = offset
        nvec = np.asarray(layout.action_nvec, dtype=np.int64)
        self._starts = np.concatenate([[0], np.cumsum(nvec)[:-1]]).astype(np.int64)
        self._nvec = nvec[None, :]

    def seed(self, seed: int) -> None:
        """Seed the random replacement."""
        self.rng = np.random.default_rng(seed)

    def apply(self, masks: np.ndarray, acting: np.ndarray, actions: np.ndarray, names: list | None = None) -> tuple[np.ndarray, list[int]]:
        """The env actions for ``actions`` (one per row of ``masks``) and the rows replaced.

        Args:
            masks: ``[rows, M]`` current masks (any dtype, nonzero = valid).
            acting: ``[rows]`` acting flags; only acting rows are checked.
            actions: ``[rows]`` (Discrete) or ``[rows, D]`` (MultiDiscrete) 0-based actions.
            names: Agent of each row, for messages (default: the slots' agents).

        Raises:
            ValueError: with ``mode="raise"``, for an acting row whose action its mask forbids.
        """
        if self.layout.n_actions == 0:
            return actions, []
        replaced: list[int] = []
        rows = len(masks)
        acts = np.asarray(actions).reshape(rows, -1)
        in_range = (acts >= 0) & (acts < self._nvec)
        if not (in_range.all() and masks.min() > 0):  # else every action of every slot is valid
            actions, replaced = self._check(masks, acting, actions, acts, in_range, names or self.names)
        if self.offset is not None:
            actions = np.asarray(actions) + self.offset
        return actions, replaced

    def _check(self, masks: np.ndarray, acting: np.ndarray, actions: np.ndarray, acts: np.ndarray, in_range: np.ndarray, names: list) -> tuple[np.ndarray, list[int]]:
        rows = np.arange(len(masks))
        cols = self._starts[None, :] + np.where(in_range, acts, 0).astype(np.int64)
        ok = in_range & (masks[rows[:, None], cols] > 0)
        bad = ~ok.all(axis=1) & (acting > 0)
        if not bad.any():
            return actions, []
        slots = np.flatnonzero(bad).tolist()
        if self.mode == "raise":
            i = slots[0]
            allowed = np.flatnonzero(masks[i] > 0).tolist()
            raise ValueError(
                f"make_vec_env: slot {i} (agent {names[i]!r}) chose action {np.asarray(actions[i]).tolist()!r}, which "
                f"its valid-action mask forbids (valid mask indices: {allowed}). Use a policy that "
                "masks invalid actions (the classes in `policies`, or sb3-contrib's MaskablePPO; for "
                "DQN use policies.MaskedDQN, whose warm-up and epsilon exploration sample only valid "
                "actions), or build the vec env with invalid_action='random_valid' to replace such "
                "actions."
            )
        out = np.array(actions, copy=True)
        flat = out.reshape(len(rows), -1)
        for i in slots:
            for d, (start, n) in enumerate(zip(self._starts, self.layout.action_nvec)):
                seg = masks[i, start : start + n] > 0
                if not (0 <= acts[i, d] < n and seg[acts[i, d]]):
                    valid = np.flatnonzero(seg)
                    if not valid.size:
                        raise ValueError(
                            f"make_vec_env: slot {i} (agent {names[i]!r}) has no valid action in dimension {d}; "
                            "its mask is all zero, so no replacement exists"
                        )
                    flat[i, d] = self.rng.choice(valid)
            self.counts[names[i]] = self.counts.get(names[i], 0) + 1
        return out, slots
