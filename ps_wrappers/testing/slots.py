"""Random slot observations that a policy accepts, for tests of trained or loaded models.

``observation_space.sample()`` of a vec env's :class:`~ps_wrappers.SlotBox` draws every entry
from ``[0, 1]`` in the one-hot, acting and mask segments, which no env ever emits and which the
policies refuse (:meth:`~ps_wrappers.SlotLayout.check_indicators`). :func:`sample_slot_observations`
draws the features from the space and well-formed indicator segments, for flat rows
(:class:`~ps_wrappers.SlotBox`) and image slots (:class:`~ps_wrappers.SlotDict`) alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from ps_wrappers.layout import (
    ACTING_KEY,
    AGENT_KEY,
    IMAGE_KEY,
    MASK_KEY,
    ImageSlotLayout,
    get_layout,
)

__all__ = ["sample_slot_observations"]


def _masks(action_nvec: tuple[int, ...], n: int, rng: np.random.Generator) -> np.ndarray:
    parts = []
    for size in action_nvec:
        mask = rng.random((n, size)) < 0.5
        mask[np.arange(n), rng.integers(size, size=n)] = True
        parts.append(mask)
    return np.concatenate(parts, axis=1) if parts else np.zeros((n, 0), bool)


def _sample_images(space: spaces.Dict, layout: ImageSlotLayout, n: int, rng: np.random.Generator) -> dict[str, Any]:
    image = space[IMAGE_KEY]
    assert isinstance(image, spaces.Box)
    image.seed(int(rng.integers(2**31)))
    obs: dict[str, Any] = {IMAGE_KEY: np.stack([image.sample() for _ in range(n)])}
    if layout.n_agents:
        obs[AGENT_KEY] = rng.integers(layout.n_agents, size=(n, 1)).astype(space[AGENT_KEY].dtype)
    obs[ACTING_KEY] = np.ones((n, 1), np.uint8)
    if layout.n_actions:
        obs[MASK_KEY] = _masks(layout.action_nvec, n, rng).astype(np.uint8)
    return obs


def sample_slot_observations(space: spaces.Space, n: int, rng: np.random.Generator) -> Any:
    """``n`` random, well-formed slot observations of a vec env's observation space.

    Features (or images) are drawn from the space's bounds (uniform where both are finite, as
    ``gymnasium.spaces.Box.sample`` otherwise); each row belongs to a random agent, acts, and has
    a random action mask with at least one valid action in every action dimension.

    Returns:
        ``[n, total_dim]`` float32 rows for a ``SlotBox``; a dict of ``[n, ...]`` arrays (the
        :class:`~ps_wrappers.SlotDict` entries) for image slots.

    Raises:
        TypeError: if ``space`` is not the observation space of :func:`ps_wrappers.make_vec_env`.
        ValueError: if ``n < 1``.
    """
    layout = get_layout(space, owner="sample_slot_observations")
    if n < 1:
        raise ValueError(f"sample_slot_observations: n must be >= 1, got {n}")
    if isinstance(layout, ImageSlotLayout):
        if not isinstance(space, spaces.Dict):
            raise TypeError(f"sample_slot_observations: expected a SlotDict, got {space!r}")
        return _sample_images(space, layout, n, rng)
    if not isinstance(space, spaces.Box):
        raise TypeError(f"sample_slot_observations: expected a SlotBox, got {space!r}")
    d = layout.feature_dim
    features = spaces.Box(space.low[:d], space.high[:d], dtype=np.float32, seed=int(rng.integers(2**31)))
    obs = np.zeros((n, layout.total_dim), np.float32)
    obs[:, :d] = np.stack([features.sample() for _ in range(n)])
    if layout.n_agents:
        obs[np.arange(n), d + rng.integers(layout.n_agents, size=n)] = 1.0
    obs[:, layout.acting_index] = 1.0
    obs[:, layout.mask_slice] = _masks(layout.action_nvec, n, rng)
    return obs
