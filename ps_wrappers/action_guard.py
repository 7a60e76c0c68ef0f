"""Check the actions SB3 sends against each slot's current valid-action mask, in one vector op.

Only acting slots are checked (placeholder actions are ignored by the env anyway). An action
outside the mask either raises, naming the slot, agent, action and valid actions, or is replaced
by a uniformly random valid one and counted: it never reaches the environment.
"""

from __future__ import annotations

import numpy as np

from ps_wrappers.action_padding import InvalidActionMode
from ps_wrappers.layout import SlotLayout

__all__ = ["ActionGuard"]


class ActionGuard:
    """Vectorised validity check of discrete slot actions against the observation's mask segment."""

    def __init__(self, layout: SlotLayout, mode: InvalidActionMode, n_copies: int) -> None:
        """Guard the slots of ``n_copies`` copies of an env with this layout."""
        if mode not in ("raise", "random_valid"):
            raise ValueError(f"make_vec_env: invalid_action must be 'raise' or 'random_valid', got {mode!r}")
        self.layout = layout
        self.mode = mode
        self.names = list(layout.agents) * n_copies
        self.counts: dict[str, int] = {}
        self.rng = np.random.default_rng()
        nvec = np.asarray(layout.action_nvec, dtype=np.int64)
        self._offsets = layout.mask_slice.start + np.concatenate([[0], np.cumsum(nvec)[:-1]]).astype(np.int64)
        self._rows = np.arange(len(self.names))
        self._nvec = nvec[None, :]
        self._mask_cols = layout.mask_slice

    def _full_masks(self, obs: np.ndarray) -> bool:
        """Whether every slot currently allows every action (homogeneous envs without env masks)."""
        return bool(obs[:, self._mask_cols].min() > 0.5)

    def seed(self, seed: int) -> None:
        """Seed the random replacement."""
        self.rng = np.random.default_rng(seed)

    def check(self, obs: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, list[int]]:
        """Return the actions to apply and the slots whose action was replaced."""
        if self.layout.n_actions == 0:
            return actions, []
        acts = np.asarray(actions).reshape(len(self._rows), -1)
        in_range = (acts >= 0) & (acts < self._nvec)
        if self._full_masks(obs) and in_range.all():
            return actions, []  # every action of every slot is valid: nothing to look up
        acts = acts.astype(np.int64)
        cols = self._offsets[None, :] + acts
        ok = np.ones_like(in_range)
        ok[in_range] = obs[np.broadcast_to(self._rows[:, None], cols.shape)[in_range], cols[in_range]] > 0.5
        bad = ~(in_range & ok).all(axis=1) & (obs[:, self.layout.acting_index] > 0.5)
        if not bad.any():
            return actions, []
        slots = np.flatnonzero(bad).tolist()
        if self.mode == "raise":
            i = slots[0]
            valid = np.flatnonzero(obs[i, self.layout.mask_slice] > 0.5).tolist()
            raise ValueError(
                f"make_vec_env: slot {i} (agent {self.names[i]!r}) chose action {np.asarray(actions[i]).tolist()!r}, which "
                f"its valid-action mask forbids (valid mask indices: {valid}). Use a policy that "
                "masks invalid actions (the classes in `policies`, or sb3-contrib's MaskablePPO; for "
                "DQN use policies.MaskedDQN, whose warm-up and epsilon exploration sample only valid "
                "actions), or build the vec env with invalid_action='random_valid' to replace such "
                "actions."
            )
        out = np.array(actions, copy=True)
        flat = out.reshape(len(self._rows), -1)
        for i in slots:
            start = self.layout.mask_slice.start
            for d, n in enumerate(self.layout.action_nvec):
                seg = obs[i, start : start + n] > 0.5
                if not (0 <= acts[i, d] < n and seg[acts[i, d]]):
                    flat[i, d] = self.rng.choice(np.flatnonzero(seg))
                start += n
            self.counts[self.names[i]] = self.counts.get(self.names[i], 0) + 1
        return out, slots
