"""Invalid actions are never chosen: masked logits / Q-values and masked random sampling.

The action mask travels in every slot observation (:class:`ps_wrappers.SlotLayout`): 1.0 for each
valid action of the row's agent, the per-dimension masks concatenated for MultiDiscrete (as in
sb3-contrib). Placeholder rows (acting flag 0) allow exactly one action.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from ps_wrappers.layout import AnyLayout

__all__ = ["MASKED_LOGIT", "mask_scores", "random_valid_actions"]

MASKED_LOGIT = float(torch.finfo(torch.float32).min)
"""Value given to the logits / Q-values of invalid actions in float32 (the most negative finite float).

:func:`mask_scores` uses the most negative finite value of the scores' own dtype. Finite, so that
``0 * logit`` stays 0 in entropies and no ``inf - inf`` appears in normalisations, and below every
finite value a network can output, so masking is exact at any scale: a softmax gives it zero
probability, and ``argmax`` / ``max`` pick a masked action only when every action is masked
(which the vec env never emits: a row always has a valid action). A fixed constant such as
``-1e8`` is not exact: Q-values of large per-step costs fall below it.
"""


def mask_scores(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Replace the scores (logits or Q-values) of invalid actions by the dtype's lowest finite value.

    Args:
        scores: ``[B, M]`` logits or Q-values (concatenated per dimension for MultiDiscrete).
        mask: ``[B, M]`` action mask from the observation (valid where > 0.5).
    """
    return scores.masked_fill(mask < 0.5, torch.finfo(scores.dtype).min)


def _uniform_valid(mask: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    noise = rng.random(mask.shape) if rng is not None else np.random.random_sample(mask.shape)
    return np.argmax(np.where(mask > 0.5, noise, -1.0), axis=-1)


def random_valid_actions(
    obs: Any,
    layout: AnyLayout,
    action_space: spaces.Space,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """One uniformly random valid action per row of a batch of slot observations.

    Discrete and MultiDiscrete actions are drawn among the valid entries of the row's mask (per
    dimension for MultiDiscrete); Box and MultiBinary actions, which carry no mask, are drawn from
    the action space. ``rng=None`` uses numpy's global generator (seeded by SB3's ``seed=``).

    Args:
        obs: A batch of slot observations (flat rows or an image-slot dict of arrays).
        layout: Their layout.
        action_space: The vec env's action space.
        rng: Optional generator.

    Returns:
        ``[B]`` (Discrete) or ``[B, *action_space.shape]`` actions.
    """
    batch = layout.n_rows(obs)
    mask = np.asarray(layout.action_mask(obs)).reshape(batch, layout.n_actions)
    if isinstance(action_space, spaces.Discrete):
        return _uniform_valid(mask, rng).astype(action_space.dtype) + action_space.start
    if isinstance(action_space, spaces.MultiDiscrete):
        cols = []
        start = 0
        for size in layout.action_nvec:
            cols.append(_uniform_valid(mask[:, start : start + size], rng))
            start += size
        actions = np.stack(cols, axis=1).astype(action_space.dtype)
        return actions.reshape(batch, *action_space.shape) + action_space.start
    if isinstance(action_space, spaces.Box):
        low = np.where(np.isfinite(action_space.low), action_space.low, -1.0)
        high = np.where(np.isfinite(action_space.high), action_space.high, 1.0)
        draw = rng.random((batch, *action_space.shape)) if rng is not None else np.random.random_sample(
            (batch, *action_space.shape)
        )
        return (low + draw * (high - low)).astype(action_space.dtype)
    if isinstance(action_space, spaces.MultiBinary):
        draw = rng.random((batch, *action_space.shape)) if rng is not None else np.random.random_sample(
            (batch, *action_space.shape)
        )
        return (draw < 0.5).astype(action_space.dtype)
    raise NotImplementedError(f"random_valid_actions: unsupported action space {action_space!r}")
