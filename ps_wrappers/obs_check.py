"""Why an observation is outside its space, and each agent's bounds in padded feature coordinates.

:func:`explain` turns a refused observation into the reason a user can act on (``None``, a scalar
where an array was declared, the wrong shape, NaN, a value and its index outside the bounds, a
Discrete value outside its range). It runs only after a vectorised check failed, so it may be slow.

:func:`agent_feature_bounds` gives an agent's own bounds after padding (:func:`pad_observations`
fills the padding with zeros), so a vec env of heterogeneous agents checks every row against its
agent's own space, not only against the union of all agents' spaces.
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

import numpy as np
from gymnasium import spaces

from ps_wrappers.space_padding import make_padder

__all__ = ["explain", "agent_feature_bounds"]


def _show(value: Any) -> str:
    text = np.array2string(value, threshold=8, edgeitems=2) if isinstance(value, np.ndarray) else repr(value)
    return text if len(text) < 120 else text[:117] + "..."


def explain(space: spaces.Space, obs: Any) -> str | None:
    """Why ``obs`` is not inside ``space`` (None when nothing is wrong)."""
    return _explain(space, obs)


@singledispatch
def _explain(space: spaces.Space, obs: Any) -> str | None:
    return None if space.contains(obs) else f"{_show(obs)} is not inside {space}"


def _as_array(obs: Any, space: spaces.Space) -> tuple[np.ndarray | None, str | None]:
    if obs is None:
        return None, "it is None"
    try:
        arr = np.asarray(obs)
    except (ValueError, TypeError):
        return None, f"{_show(obs)} is not an array"
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        return None, f"{_show(obs)} is not numeric (dtype {arr.dtype})"
    shape = tuple(space.shape or ())
    if arr.shape != shape:
        if arr.shape == () and shape != ():
            return None, f"it is the scalar {_show(obs)}, but the space has shape {shape} (it would be broadcast over every entry)"
        return None, f"its shape is {arr.shape}, but the space has shape {shape}"
    return arr, None


@_explain.register
def _(space: spaces.Box, obs: Any) -> str | None:
    arr, why = _as_array(obs, space)
    if arr is None:
        return why
    values = arr.astype(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        i = np.unravel_index(int(np.flatnonzero(bad)[0]), arr.shape) if arr.ndim else ()
        return f"it holds {values[i]} at index {tuple(int(k) for k in i)}"
    outside = (values < space.low) | (values > space.high)
    if outside.any():
        i = np.unravel_index(int(np.flatnonzero(outside)[0]), arr.shape) if arr.ndim else ()
        return (
            f"it holds {values[i]:g} at index {tuple(int(k) for k in i)}, outside the bounds "
            f"[{float(space.low[i]):g}, {float(space.high[i]):g}]"
        )
    if np.issubdtype(space.dtype, np.integer) and not np.can_cast(arr.dtype, np.dtype(space.dtype)):
        return f"its dtype {arr.dtype} does not fit the space's {space.dtype} (convert it with .astype(np.{space.dtype}))"
    return None


@_explain.register
def _(space: spaces.Discrete, obs: Any) -> str | None:
    lo, hi = int(space.start), int(space.start) + int(space.n) - 1
    if obs is None or isinstance(obs, (str, bytes)) or np.ndim(obs) != 0:
        return f"{_show(obs)} is not a single integer in {lo}..{hi}"
    value = np.asarray(obs).item()
    if isinstance(value, float) and value != int(value) or not isinstance(value, (int, float)):
        return f"{_show(obs)} is not an integer in {lo}..{hi}"
    if not lo <= value <= hi:
        return f"the value {value} is outside {lo}..{hi}"
    return None


@_explain.register
def _(space: spaces.MultiDiscrete, obs: Any) -> str | None:
    arr, why = _as_array(obs, space)
    if arr is None:
        return why
    if arr.dtype.kind not in "iu":
        return f"{_show(obs)} is not integer (dtype {arr.dtype})"
    low = space.start
    bad = (arr < low) | (arr >= low + space.nvec)
    if bad.any():
        i = np.unravel_index(int(np.flatnonzero(bad)[0]), arr.shape)
        return f"entry {tuple(int(k) for k in i)} is {int(arr[i])}, outside {int(low[i])}..{int(low[i] + space.nvec[i] - 1)}"
    return None


@_explain.register
def _(space: spaces.MultiBinary, obs: Any) -> str | None:
    arr, why = _as_array(obs, space)
    if arr is None:
        return why
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        i = np.unravel_index(int(np.flatnonzero(bad)[0]), arr.shape)
        return f"entry {tuple(int(k) for k in i)} is {arr[i]}, not 0 or 1"
    return None


@_explain.register
def _(space: spaces.Dict, obs: Any) -> str | None:
    if not isinstance(obs, dict):
        return f"{_show(obs)} is not a dict with keys {sorted(space.spaces)}"
    for key, sub in space.spaces.items():
        if key not in obs:
            return f"the key {key!r} is missing"
        why = _explain(sub, obs[key])
        if why:
            return f"entry {key!r}: {why}"
    return None


@_explain.register
def _(space: spaces.Tuple, obs: Any) -> str | None:
    if not isinstance(obs, (tuple, list)) or len(obs) != len(space.spaces):
        return f"{_show(obs)} is not a tuple of {len(space.spaces)} entries"
    for i, (sub, value) in enumerate(zip(space.spaces, obs)):
        why = _explain(sub, value)
        if why:
            return f"entry {i}: {why}"
    return None


# --- bounds of one agent in the padded feature row ----------------------------------------------


def agent_feature_bounds(own: spaces.Space, padded: spaces.Space) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` float32 feature bounds of an agent whose space ``own`` is padded to ``padded``.

    In :mod:`ps_wrappers.encoding` coordinates: Box entries flattened, one-hot entries 0..1 only at
    the agent's own values, padding pinned to 0.
    """
    return _bounds(padded, own)


@singledispatch
def _bounds(padded: spaces.Space, own: spaces.Space) -> tuple[np.ndarray, np.ndarray]:
    raise NotImplementedError(f"no feature bounds for {own} padded to {padded}")


@_bounds.register
def _(padded: spaces.Box, own: spaces.Box) -> tuple[np.ndarray, np.ndarray]:
    pad = make_padder(own, padded)
    low, high = (own.low, own.high) if pad is None else (pad(own.low), pad(own.high))
    return np.asarray(low, np.float32).reshape(-1), np.asarray(high, np.float32).reshape(-1)


@_bounds.register
def _(padded: spaces.Discrete, own: spaces.Discrete) -> tuple[np.ndarray, np.ndarray]:
    high = np.zeros(int(padded.n), np.float32)
    first = int(own.start) - int(padded.start)
    high[first : first + int(own.n)] = 1.0
    return np.zeros_like(high), high


@_bounds.register
def _(padded: spaces.MultiDiscrete, own: spaces.MultiDiscrete) -> tuple[np.ndarray, np.ndarray]:
    parts = []
    for d in range(len(padded.nvec)):
        part = np.zeros(int(padded.nvec[d]), np.float32)
        if d < len(own.nvec):
            first = int(own.start[d]) - int(padded.start[d])
            part[first : first + int(own.nvec[d])] = 1.0
        else:  # a padded dimension holds the value 0
            part[-int(padded.start[d])] = 1.0
        parts.append(part)
    high = np.concatenate(parts)
    return np.zeros_like(high), high


@_bounds.register
def _(padded: spaces.MultiBinary, own: spaces.MultiBinary) -> tuple[np.ndarray, np.ndarray]:
    pad = make_padder(own, padded)
    high = np.ones(own.shape, np.float32) if pad is None else np.asarray(pad(np.ones(own.shape, np.int8)), np.float32)
    return np.zeros(high.size, np.float32), high.reshape(-1)


def _concat(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    if not parts:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


@_bounds.register
def _(padded: spaces.Dict, own: spaces.Dict) -> tuple[np.ndarray, np.ndarray]:
    keys = sorted(k for k in padded.spaces if k != "action_mask")
    return _concat([_bounds(padded.spaces[k], own.spaces[k]) for k in keys])


@_bounds.register
def _(padded: spaces.Tuple, own: spaces.Tuple) -> tuple[np.ndarray, np.ndarray]:
    return _concat([_bounds(p, o) for p, o in zip(padded.spaces, own.spaces)])
