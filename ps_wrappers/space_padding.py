"""Padding of gymnasium spaces to a common, largest space (Terry et al. 2020, appendix A.2.1).

For a set of per-agent spaces of one type, :func:`padded_space` builds the smallest space of that
type that every agent's values fit into after zero padding (``bar{o} = max_i o_i``), and
:func:`make_padder` / :func:`make_unpadder` build the per-agent functions that map a value into the
padded space and back. Per-space behaviour is written once with ``functools.singledispatch``.

Bounds of a padded Box are the element-wise union of the agents' bounds, with 0 included where an
agent's value is padding, so every padded value is inside the declared space.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import singledispatch
from typing import Any

import numpy as np
from gymnasium import spaces

__all__ = ["SpacePaddingError", "box_of", "padded_space", "make_padder", "make_unpadder", "describe_agents"]

Padder = Callable[[Any], Any]


def box_of(low: np.ndarray, high: np.ndarray, dtype: Any) -> spaces.Box:
    """A Box with these bounds in ``dtype`` (any numpy dtype or scalar type, e.g. another space's)."""
    return spaces.Box(low, high, low.shape, np.dtype(dtype).type)  # type: ignore[arg-type]


class SpacePaddingError(ValueError):
    """The per-agent spaces cannot be padded to one common space."""


def describe_agents(agents: Sequence[Any], space_list: Sequence[spaces.Space]) -> str:
    """``"'a': Box(...), 'b': Discrete(5)"`` for error messages."""
    return ", ".join(f"{a!r}: {s}" for a, s in zip(agents, space_list))


def padded_space(agents: Sequence[Any], space_list: Sequence[spaces.Space], what: str) -> spaces.Space:
    """The common padded space of ``space_list`` (one space per agent, all of one type).

    Args:
        agents: Agent names, for error messages.
        space_list: One space per agent.
        what: ``"observation"`` or ``"action"``, for error messages.

    Raises:
        SpacePaddingError: if the spaces have different types or ranks.
        NotImplementedError: if the space type cannot be padded.
    """
    kinds = {type(s) for s in space_list}
    if len(kinds) > 1:
        raise SpacePaddingError(
            f"cannot pad {what} spaces of different types: {describe_agents(agents, space_list)}. "
            f"Convert every agent's {what} space to one type first (for example one-hot encode "
            "Discrete observations into a Box)."
        )
    return _pad(space_list[0], list(space_list), list(agents), what)


@singledispatch
def _pad(first: spaces.Space, space_list: list, agents: list, what: str) -> spaces.Space:
    raise NotImplementedError(
        f"cannot pad {what} space {first} (agents {describe_agents(agents, space_list)}): "
        "supported are Box, Discrete, MultiDiscrete, MultiBinary, Dict and Tuple. Convert the "
        f"{what}s to one of those with a PettingZoo wrapper first."
    )


def _same_rank(space_list: list, agents: list, what: str) -> int:
    ranks = {len(s.shape) for s in space_list}
    if len(ranks) > 1:
        raise SpacePaddingError(
            f"cannot pad {what} spaces of different ranks: {describe_agents(agents, space_list)}. "
            f"Reshape the {what}s to one rank first (e.g. flatten them)."
        )
    return ranks.pop()


@_pad.register
def _(first: spaces.Box, space_list: list, agents: list, what: str) -> spaces.Space:
    rank = _same_rank(space_list, agents, what)
    shape = tuple(max(s.shape[d] for s in space_list) for d in range(rank))
    dtype = np.result_type(*[s.dtype for s in space_list])
    # Integer bounds are combined in the integer dtype itself: float64 cannot hold int64 bounds
    # such as iinfo(int64).max exactly (casting it back overflows to the minimum).
    work = dtype if np.issubdtype(dtype, np.integer) else np.dtype(np.float64)
    low = np.full(shape, _extreme(work, +1), dtype=work)
    high = np.full(shape, _extreme(work, -1), dtype=work)
    for s in space_list:
        own = tuple(slice(0, n) for n in s.shape)
        pad_low = np.zeros(shape, dtype=work)
        pad_high = np.zeros(shape, dtype=work)
        pad_low[own] = s.low
        pad_high[own] = s.high
        np.minimum(low, pad_low, out=low)
        np.maximum(high, pad_high, out=high)
    return spaces.Box(low.astype(dtype), high.astype(dtype), shape, dtype)  # type: ignore[arg-type]  # gymnasium 1.2 stubs


def _extreme(dtype: np.dtype, sign: int) -> Any:
    """The largest (``sign=+1``) or smallest (``-1``) value of ``dtype``."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return info.max if sign > 0 else info.min
    return sign * np.inf


@_pad.register
def _(first: spaces.Discrete, space_list: list, agents: list, what: str) -> spaces.Space:
    start = min(int(s.start) for s in space_list)
    end = max(int(s.start) + int(s.n) for s in space_list)
    return spaces.Discrete(end - start, start=start)


@_pad.register
def _(first: spaces.MultiDiscrete, space_list: list, agents: list, what: str) -> spaces.Space:
    if any(s.nvec.ndim != 1 for s in space_list):
        raise SpacePaddingError(
            f"cannot pad multi-dimensional MultiDiscrete {what} spaces: "
            f"{describe_agents(agents, space_list)}. Flatten nvec to one dimension first."
        )
    length = max(len(s.nvec) for s in space_list)
    starts, ends = [], []
    for d in range(length):
        lo = [int(s.start[d]) for s in space_list if d < len(s.nvec)]
        hi = [int(s.start[d] + s.nvec[d]) for s in space_list if d < len(s.nvec)]
        lo_d, hi_d = min(lo), max(hi)
        if any(d >= len(s.nvec) for s in space_list):  # padding value 0 must be representable
            lo_d, hi_d = min(lo_d, 0), max(hi_d, 1)
        starts.append(lo_d)
        ends.append(hi_d)
    start = np.array(starts, dtype=np.int64)
    return spaces.MultiDiscrete(np.array(ends, dtype=np.int64) - start, start=start)


@_pad.register
def _(first: spaces.MultiBinary, space_list: list, agents: list, what: str) -> spaces.Space:
    rank = _same_rank(space_list, agents, what)
    shape = [max(s.shape[d] for s in space_list) for d in range(rank)]
    # A rank-1 space takes an int ``n``, as MultiBinary(n) does: SB3 refuses MultiBinary((n,)).
    return spaces.MultiBinary(shape[0] if rank == 1 else shape)


@_pad.register
def _(first: spaces.Dict, space_list: list, agents: list, what: str) -> spaces.Space:
    keys = list(first.spaces)
    for a, s in zip(agents, space_list):
        if set(s.spaces) != set(keys):
            raise SpacePaddingError(
                f"cannot pad Dict {what} spaces with different keys: agent {agents[0]!r} has "
                f"{sorted(keys)} but agent {a!r} has {sorted(s.spaces)}. Give every agent the same keys."
            )
    return spaces.Dict(
        {k: padded_space(agents, [s.spaces[k] for s in space_list], f"{what}[{k!r}]") for k in keys}
    )


@_pad.register
def _(first: spaces.Tuple, space_list: list, agents: list, what: str) -> spaces.Space:
    n = len(first.spaces)
    for a, s in zip(agents, space_list):
        if len(s.spaces) != n:
            raise SpacePaddingError(
                f"cannot pad Tuple {what} spaces of different lengths: agent {agents[0]!r} has {n} "
                f"entries but agent {a!r} has {len(s.spaces)}. Give every agent the same entries."
            )
    return spaces.Tuple(
        [padded_space(agents, [s.spaces[i] for s in space_list], f"{what}[{i}]") for i in range(n)]
    )


# --- per-agent value maps -------------------------------------------------------------------------


def make_padder(src: spaces.Space, dst: spaces.Space) -> Padder | None:
    """A function mapping a value of ``src`` into ``dst``; ``None`` when the value needs no change."""
    return _padder(dst, src)


@singledispatch
def _padder(dst: spaces.Space, src: spaces.Space) -> Padder | None:
    raise NotImplementedError(f"no padding from {src} to {dst}")


@_padder.register
def _(dst: spaces.Box, src: spaces.Box) -> Padder | None:
    if src.shape == dst.shape:
        if src.dtype == dst.dtype:
            return None
        dtype = dst.dtype
        return lambda x: np.asarray(x).astype(dtype)
    region = tuple(slice(0, n) for n in src.shape)
    shape, dtype, own = dst.shape, dst.dtype, src.shape

    def pad_box(x: Any) -> np.ndarray:
        if np.shape(x) != own:  # a scalar would be broadcast over the whole region
            raise ValueError(f"observation of shape {np.shape(x)} does not fit the space's shape {own}")
        out = np.zeros(shape, dtype=dtype)
        out[region] = x
        return out

    return pad_box


@_padder.register
def _(dst: spaces.Discrete, src: spaces.Discrete) -> Padder | None:
    return None


@_padder.register
def _(dst: spaces.MultiDiscrete, src: spaces.MultiDiscrete) -> Padder | None:
    n = len(src.nvec)
    if n == len(dst.nvec):
        return None
    length = len(dst.nvec)

    def pad_multidiscrete(x: Any) -> np.ndarray:
        out = np.zeros(length, dtype=dst.dtype)
        out[:n] = x
        return out

    return pad_multidiscrete


@_padder.register
def _(dst: spaces.MultiBinary, src: spaces.MultiBinary) -> Padder | None:
    if src.shape == dst.shape:
        return None
    region = tuple(slice(0, n) for n in src.shape)
    shape = dst.shape

    def pad_multibinary(x: Any) -> np.ndarray:
        out = np.zeros(shape, dtype=np.int8)
        out[region] = x
        return out

    return pad_multibinary


@_padder.register
def _(dst: spaces.Dict, src: spaces.Dict) -> Padder | None:
    parts = {k: _padder(dst.spaces[k], src.spaces[k]) for k in dst.spaces}
    if all(p is None for p in parts.values()):
        return None
    return lambda x: {k: (x[k] if p is None else p(x[k])) for k, p in parts.items()}


@_padder.register
def _(dst: spaces.Tuple, src: spaces.Tuple) -> Padder | None:
    parts = [_padder(d, s) for d, s in zip(dst.spaces, src.spaces)]
    if all(p is None for p in parts):
        return None
    return lambda x: tuple(v if p is None else p(v) for v, p in zip(x, parts))


def make_unpadder(src: spaces.Space, dst: spaces.Space) -> Padder:
    """The inverse of :func:`make_padder`: maps a padded value of ``dst`` back into ``src``.

    Discrete values are returned unchanged (the caller checks ranges); Box values are trimmed to
    ``src``'s shape and cast to its dtype (no clipping: see :func:`ps_wrappers.pad_actions`).
    """
    return _unpadder(src, dst)


@singledispatch
def _unpadder(src: spaces.Space, dst: spaces.Space) -> Padder:
    raise NotImplementedError(f"no unpadding from {dst} to {src}")


@_unpadder.register
def _(src: spaces.Box, dst: spaces.Box) -> Padder:
    region = tuple(slice(0, n) for n in src.shape)
    dtype = src.dtype
    return lambda x: np.asarray(x)[region].astype(dtype)


@_unpadder.register
def _(src: spaces.Discrete, dst: spaces.Discrete) -> Padder:
    return lambda x: x


@_unpadder.register
def _(src: spaces.MultiDiscrete, dst: spaces.MultiDiscrete) -> Padder:
    n, dtype = len(src.nvec), src.dtype
    return lambda x: np.asarray(x)[:n].astype(dtype)


@_unpadder.register
def _(src: spaces.MultiBinary, dst: spaces.MultiBinary) -> Padder:
    region = tuple(slice(0, n) for n in src.shape)
    return lambda x: np.asarray(x)[region].astype(np.int8)


@_unpadder.register
def _(src: spaces.Dict, dst: spaces.Dict) -> Padder:
    parts = {k: _unpadder(src.spaces[k], dst.spaces[k]) for k in src.spaces}
    return lambda x: {k: p(x[k]) for k, p in parts.items()}


@_unpadder.register
def _(src: spaces.Tuple, dst: spaces.Tuple) -> Padder:
    parts = [_unpadder(s, d) for s, d in zip(src.spaces, dst.spaces)]
    return lambda x: tuple(p(v) for v, p in zip(x, parts))
