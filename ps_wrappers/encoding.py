"""Flatten an observation into a preallocated ``float32`` feature row (no per-step allocation).

Box values are copied flat; Discrete / MultiDiscrete values are one-hot encoded; MultiBinary bits
are copied; Dict entries (except ``action_mask``, which goes to the mask segment of the slot) are
concatenated in sorted-key order; Tuple entries in order. See :mod:`ps_wrappers.layout`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import singledispatch
from typing import Any

import numpy as np
from gymnasium import spaces

__all__ = ["FeatureEncoder", "make_encoder"]

Writer = Callable[[Any, np.ndarray], None]


@dataclass(frozen=True)
class FeatureEncoder:
    """How one observation space is written into a feature row.

    Attributes:
        dim: Number of features.
        low: Lower bound of each feature (float32).
        high: Upper bound of each feature (float32).
        write: ``write(obs, row)`` fills ``row[:dim]`` in place.
        shape: Shape of the observation when it is a single Box, else ``(dim,)``.
        stackable: Observations are plain arrays whose flattening is the feature row (Box), so
            many can be written at once with ``np.stack``.
    """

    dim: int
    low: np.ndarray
    high: np.ndarray
    write: Writer
    shape: tuple[int, ...]
    stackable: bool = False


def make_encoder(space: spaces.Space) -> FeatureEncoder:
    """Build the :class:`FeatureEncoder` of ``space``.

    Raises:
        NotImplementedError: for spaces that cannot be flattened (Text, Graph, Sequence, ...).
    """
    return _encoder(space)


@singledispatch
def _encoder(space: spaces.Space) -> FeatureEncoder:
    raise NotImplementedError(
        f"make_vec_env: cannot encode observation space {space} as features; supported are Box, "
        "Discrete, MultiDiscrete, MultiBinary, Dict and Tuple. Wrap the env to convert it first."
    )


@_encoder.register
def _(space: spaces.Box) -> FeatureEncoder:
    dim = int(np.prod(space.shape))
    low = space.low.reshape(-1).astype(np.float32)
    high = space.high.reshape(-1).astype(np.float32)
    if len(space.shape) == 1:

        def write(obs: Any, row: np.ndarray) -> None:
            row[:dim] = obs

    else:

        def write(obs: Any, row: np.ndarray) -> None:
            row[:dim] = np.ravel(obs)

    return FeatureEncoder(dim, low, high, write, tuple(space.shape), stackable=True)


@_encoder.register
def _(space: spaces.Discrete) -> FeatureEncoder:
    n, start = int(space.n), int(space.start)

    def write(obs: Any, row: np.ndarray) -> None:
        row[:n] = 0.0
        row[int(obs) - start] = 1.0

    return FeatureEncoder(n, np.zeros(n, np.float32), np.ones(n, np.float32), write, (n,))


@_encoder.register
def _(space: spaces.MultiDiscrete) -> FeatureEncoder:
    nvec = space.nvec.reshape(-1).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]]).astype(np.int64)
    start = space.start.reshape(-1).astype(np.int64)
    dim = int(nvec.sum())

    def write(obs: Any, row: np.ndarray) -> None:
        row[:dim] = 0.0
        row[offsets + np.asarray(obs, np.int64).reshape(-1) - start] = 1.0

    return FeatureEncoder(dim, np.zeros(dim, np.float32), np.ones(dim, np.float32), write, (dim,))


@_encoder.register
def _(space: spaces.MultiBinary) -> FeatureEncoder:
    dim = int(np.prod(space.shape))

    def write(obs: Any, row: np.ndarray) -> None:
        row[:dim] = np.ravel(obs)

    return FeatureEncoder(dim, np.zeros(dim, np.float32), np.ones(dim, np.float32), write, (dim,))


def _concat(parts: list[tuple[Any, FeatureEncoder]]) -> FeatureEncoder:
    dim = sum(e.dim for _, e in parts)
    low = np.concatenate([e.low for _, e in parts]) if parts else np.zeros(0, np.float32)
    high = np.concatenate([e.high for _, e in parts]) if parts else np.zeros(0, np.float32)
    plan, offset = [], 0
    for key, e in parts:
        plan.append((key, offset, offset + e.dim, e.write))
        offset += e.dim

    def write(obs: Any, row: np.ndarray) -> None:
        for key, a, b, w in plan:
            w(obs[key], row[a:b])

    return FeatureEncoder(dim, low, high, write, (dim,))


@_encoder.register
def _(space: spaces.Dict) -> FeatureEncoder:
    keys = sorted(k for k in space.spaces if k != "action_mask")
    if len(keys) == 1:
        inner = _encoder(space.spaces[keys[0]])
        key, w = keys[0], inner.write
        return FeatureEncoder(inner.dim, inner.low, inner.high, lambda obs, row: w(obs[key], row), inner.shape)
    return _concat([(k, _encoder(space.spaces[k])) for k in keys])


@_encoder.register
def _(space: spaces.Tuple) -> FeatureEncoder:
    return _concat([(i, _encoder(s)) for i, s in enumerate(space.spaces)])
