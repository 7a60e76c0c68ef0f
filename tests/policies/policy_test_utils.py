"""Helpers of the policy tests: hand-built slot spaces and observations."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ps_wrappers.layout import SlotBox, SlotLayout


def slot_space(
    feature_dim: int = 3,
    agents: Sequence[str] = ("a_0", "a_1", "b_0"),
    n_actions: int = 4,
    action_nvec: tuple[int, ...] | None = None,
) -> SlotBox:
    """A SlotBox built by hand (for unit tests without an env)."""
    nvec = action_nvec if action_nvec is not None else ((n_actions,) if n_actions else ())
    layout = SlotLayout(feature_dim=feature_dim, agents=tuple(agents), n_actions=n_actions, action_nvec=nvec)
    low = np.full(layout.total_dim, -10.0, dtype=np.float32)
    high = np.full(layout.total_dim, 10.0, dtype=np.float32)
    return SlotBox(low, high, layout)


def slot_obs(
    space: SlotBox, agent: np.ndarray, mask: np.ndarray | None = None, acting: np.ndarray | None = None, seed: int = 0
) -> torch.Tensor:
    """Slot observations for the given agent indices (random features)."""
    lay = space.layout
    rng = np.random.default_rng(seed)
    obs = np.zeros((len(agent), lay.total_dim), dtype=np.float32)
    obs[:, : lay.feature_dim] = rng.normal(size=(len(agent), lay.feature_dim))
    obs[np.arange(len(agent)), lay.feature_dim + agent] = 1.0
    obs[:, lay.acting_index] = 1.0 if acting is None else acting
    if lay.n_actions:
        obs[:, lay.mask_slice] = 1.0 if mask is None else mask
    return torch.as_tensor(obs)


def lr(_: float) -> float:
    """Constant learning-rate schedule."""
    return 3e-4
