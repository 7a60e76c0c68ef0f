"""Random slot observations that a policy accepts, for tests of trained or loaded models.

``observation_space.sample()`` of a vec env's :class:`~ps_wrappers.SlotBox` draws every entry
from ``[0, 1]`` in the one-hot, acting and mask segments, which no env ever emits and which the
policies refuse (:meth:`~ps_wrappers.SlotLayout.check_indicators`). :func:`sample_slot_observations`
draws the features from the space and well-formed indicator segments.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from ps_wrappers.layout import get_layout

__all__ = ["sample_slot_observations"]


def sample_slot_observations(space: spaces.Space, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random, well-formed slot observations of a vec env's observation space.

    Features are drawn from the space's feature bounds (uniform where both are finite, as
    ``gymnasium.spaces.Box.sample`` otherwise); each row belongs to a random agent, acts, and has
    a random action mask with at least one valid action in every action dimension.

    Raises:
        TypeError: if ``space`` is not the ``SlotBox`` of :func:`ps_wrappers.make_vec_env`.
        ValueError: if ``n < 1``.
    """
    layout = get_layout(space, owner="sample_slot_observations")
    if n < 1:
        raise ValueError(f"sample_slot_observations: n must be >= 1, got {n}")
    if not isinstance(space, spaces.Box):
        raise TypeError(f"sample_slot_observations: expected a SlotBox, got {space!r}")
    d = layout.feature_dim
    features = spaces.Box(space.low[:d], space.high[:d], dtype=np.float32, seed=int(rng.integers(2**31)))
    obs = np.zeros((n, layout.total_dim), np.float32)
    obs[:, :d] = np.stack([features.sample() for _ in range(n)])
    if layout.n_agents:
        obs[np.arange(n), d + rng.integers(layout.n_agents, size=n)] = 1.0
    obs[:, layout.acting_index] = 1.0
    start = layout.mask_slice.start
    for size in layout.action_nvec:
        mask = rng.random((n, size)) < 0.5
        mask[np.arange(n), rng.integers(size, size=n)] = True
        obs[:, start : start + size] = mask
        start += size
    return obs
