"""Flatten an observation into a preallocated ``float32`` feature row (no per-step allocation).

Box values are copied flat; Discrete / MultiDiscrete values are one-hot encoded; MultiBinary bits
are copied; Dict entries (except ``action_mask``, which goes to the mask segment of the slot) are
concatenated in sorted-key order; Tuple entries in order. See :mod:`ps_wrappers.layout`.

Nothing outside the space is written silently. The writers refuse what they cannot write without
corrupting the row (a Discrete value past its one-hot segment, a scalar that would be broadcast
over a Box, a wrong shape) by raising; values that are written in place (Box entries) are checked
afterwards on whole blocks of rows at once (:meth:`FeatureEncoder.rows_ok`: finite and inside the
bounds), so the common step costs two reductions, not a check per agent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import singledispatch
from typing import Any

import numpy as np
from gymnasium import spaces

__all__ = ["FeatureEncoder", "OutOfSpace", "make_checker", "make_encoder", "values_ok"]

Writer = Callable[[Any, np.ndarray], None]


class OutOfSpace(ValueError):
    """Internal: a writer met a value it cannot write (the caller names the agent and the space)."""


def values_ok(values: np.ndarray, low: np.ndarray, high: np.ndarray, uniform: tuple[float, float] | None) -> bool:
    """Whether every value is finite (floats) and inside ``[low, high]``, in one or two reductions.

    ``uniform``: the scalar bounds when every entry shares them. Then unbounded floats need one
    sum (finite exactly when every value is, unless finite values overflow, which the exact check
    then settles) and bounded ones a ``min`` and a ``max`` (NaN fails every comparison).
    """
    if values.size == 0:
        return True
    floats = values.dtype.kind == "f"
    if uniform is None:
        inside = bool((values >= low).all() and (values <= high).all())
        return inside and (not floats or bool(np.isfinite(values).all()))
    lo, hi = uniform
    if lo == -math.inf and hi == math.inf:
        return not floats or math.isfinite(values.sum()) or bool(np.isfinite(values).all())
    smallest, largest = values.min(), values.max()
    return bool(lo <= smallest and largest <= hi) and (not floats or (math.isfinite(smallest) and math.isfinite(largest)))


def make_checker(low: np.ndarray, high: np.ndarray) -> Callable[[np.ndarray], bool]:
    """A function telling whether a block of values is finite and inside ``[low, high]``.

    Specialised once, so the common step costs one reduction (unbounded floats: a sum) or two (a
    ``min`` and a ``max``, which also reject NaN and inf against finite bounds).
    """
    uniform = uniform_bounds(low, high)
    if uniform is None:
        return lambda values: values_ok(values, low, high, None)
    lo, hi = uniform
    isfinite = math.isfinite
    if lo == -math.inf and hi == math.inf:
        def unbounded(values: np.ndarray) -> bool:
            if values.dtype.kind != "f" or not values.size:
                return True
            return isfinite(values.sum()) or bool(np.isfinite(values).all())

        return unbounded
    check_low, check_high = lo == -math.inf, hi == math.inf

    def bounded(values: np.ndarray) -> bool:
        if not values.size:
            return True
        smallest, largest = values.min(), values.max()
        if not (lo <= smallest and largest <= hi):
            return False
        return (not check_low or isfinite(smallest)) and (not check_high or isfinite(largest))

    return bounded


def uniform_bounds(low: np.ndarray, high: np.ndarray) -> tuple[float, float] | None:
    """The scalar ``(low, high)`` shared by every entry, or None when the bounds vary."""
    if low.size and (low == low.flat[0]).all() and (high == high.flat[0]).all():
        return float(low.flat[0]), float(high.flat[0])
    return None


@dataclass(frozen=True)
class FeatureEncoder:
    """How one observation space is written into a feature row.

    Attributes:
        space: The observation space.
        dim: Number of features.
        low: Lower bound of each feature (float32).
        high: Upper bound of each feature (float32).
        write: ``write(obs, row)`` fills ``row[:dim]`` in place; raises :class:`OutOfSpace` for a
            value it cannot write (wrong shape, Discrete value outside the space, ...).
        shape: Shape of the observation when it is a single Box, else ``(dim,)``.
        stackable: Observations are plain arrays whose flattening is the feature row (Box), so
            many can be written at once with ``np.stack``.
    """

    space: spaces.Space
    dim: int
    low: np.ndarray
    high: np.ndarray
    write: Writer
    shape: tuple[int, ...]
    stackable: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows_ok", make_checker(self.low, self.high))

    def rows_ok(self, features: np.ndarray) -> bool:  # replaced per instance by make_checker
        """Whether every written feature row ``[..., dim]`` is finite and inside the bounds."""
        return values_ok(features, self.low, self.high, uniform_bounds(self.low, self.high))


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
    shape = tuple(space.shape)
    low = space.low.reshape(-1).astype(np.float32)
    high = space.high.reshape(-1).astype(np.float32)

    def write(obs: Any, row: np.ndarray) -> None:
        if np.shape(obs) != shape:
            raise OutOfSpace
        row[:dim] = np.ravel(obs)

    return FeatureEncoder(space, dim, low, high, write, shape, stackable=True)


@_encoder.register
def _(space: spaces.Discrete) -> FeatureEncoder:
    n, start = int(space.n), int(space.start)

    def write(obs: Any, row: np.ndarray) -> None:
        k = int(obs) - start
        if not 0 <= k < n or k + start != obs:
            raise OutOfSpace
        row[:n] = 0.0
        row[k] = 1.0

    return FeatureEncoder(space, n, np.zeros(n, np.float32), np.ones(n, np.float32), write, (n,))


@_encoder.register
def _(space: spaces.MultiDiscrete) -> FeatureEncoder:
    nvec = space.nvec.reshape(-1).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]]).astype(np.int64)
    start = space.start.reshape(-1).astype(np.int64)
    shape = tuple(space.shape)
    dim = int(nvec.sum())

    def write(obs: Any, row: np.ndarray) -> None:
        values = np.asarray(obs)
        if values.shape != shape or values.dtype.kind not in "iu":
            raise OutOfSpace
        k = values.reshape(-1) - start
        if (k < 0).any() or (k >= nvec).any():
            raise OutOfSpace
        row[:dim] = 0.0
        row[offsets + k] = 1.0

    return FeatureEncoder(space, dim, np.zeros(dim, np.float32), np.ones(dim, np.float32), write, (dim,))


@_encoder.register
def _(space: spaces.MultiBinary) -> FeatureEncoder:
    dim = int(np.prod(space.shape))
    shape = tuple(space.shape)

    def write(obs: Any, row: np.ndarray) -> None:
        values = np.asarray(obs)
        if values.shape != shape or values.dtype.kind not in "biu" or ((values != 0) & (values != 1)).any():
            raise OutOfSpace
        row[:dim] = values.reshape(-1)

    return FeatureEncoder(space, dim, np.zeros(dim, np.float32), np.ones(dim, np.float32), write, (dim,))


def _concat(space: spaces.Space, parts: list[tuple[Any, FeatureEncoder]]) -> FeatureEncoder:
    dim = sum(e.dim for _, e in parts)
    low = np.concatenate([e.low for _, e in parts]) if parts else np.zeros(0, np.float32)
    high = np.concatenate([e.high for _, e in parts]) if parts else np.zeros(0, np.float32)
    plan, offset = [], 0
    for key, e in parts:
        plan.append((key, offset, offset + e.dim, e.write))
        offset += e.dim

    def write(obs: Any, row: np.ndarray) -> None:
        try:
            for key, a, b, w in plan:
                w(obs[key], row[a:b])
        except (KeyError, IndexError, TypeError) as err:
            raise OutOfSpace from err

    return FeatureEncoder(space, dim, low, high, write, (dim,))


@_encoder.register
def _(space: spaces.Dict) -> FeatureEncoder:
    keys = sorted(k for k in space.spaces if k != "action_mask")
    if len(keys) == 1:
        inner = _encoder(space.spaces[keys[0]])
        key, w = keys[0], inner.write

        def write(obs: Any, row: np.ndarray) -> None:
            if not isinstance(obs, dict) or key not in obs:
                raise OutOfSpace
            w(obs[key], row)

        return FeatureEncoder(space, inner.dim, inner.low, inner.high, write, inner.shape)
    return _concat(space, [(k, _encoder(space.spaces[k])) for k in keys])


@_encoder.register
def _(space: spaces.Tuple) -> FeatureEncoder:
    return _concat(space, [(i, _encoder(s)) for i, s in enumerate(space.spaces)])
