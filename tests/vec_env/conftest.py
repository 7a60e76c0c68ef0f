"""Fixtures of the vec env tests."""

from __future__ import annotations

from typing import Any

import numpy as np


def random_masked_actions(venv: Any, rng: np.random.Generator) -> np.ndarray:
    """One valid action per slot, uniformly among the slot's current mask (or the space)."""
    if venv.layout.n_actions == 0:
        low, high = venv.action_space.low, venv.action_space.high
        return rng.uniform(low, high, size=(venv.num_envs, *venv.action_space.shape)).astype(np.float32)
    masks = venv.action_masks()
    return np.array([rng.choice(np.flatnonzero(m)) for m in masks])
