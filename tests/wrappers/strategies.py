"""Hypothesis strategies: per-agent space maps of heterogeneous PettingZoo agents.

:func:`space_maps` draws a :class:`SpaceMap`: agent ids (names with types and indices, free text,
or integers) and, per agent, an observation and an action space of one common kind, so that the
map can be padded. Spaces cover Box (ranks 1-3, per-element and infinite bounds, int and float
dtypes), Discrete with non-zero ``start``, MultiDiscrete with ``start``, MultiBinary, and Dict
observations that carry an ``action_mask`` of the agent's Discrete actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces
from hypothesis import strategies as st
from pettingzoo.utils.conversions import parallel_to_aec
from pettingzoo.utils.env import AECEnv

from ps_wrappers.testing import SpaceMapEnv

__all__ = [
    "OBS_KINDS",
    "ACT_KINDS",
    "TYPE_STEMS",
    "SpaceMap",
    "agent_ids",
    "typed_agent_names",
    "box_spaces",
    "space_maps",
]

OBS_KINDS = ("box", "discrete", "multidiscrete", "multibinary", "dict_mask")
ACT_KINDS = ("discrete", "multidiscrete", "box", "multibinary")
# Type stems as found in PettingZoo envs, plus spaces and non-ASCII letters.
TYPE_STEMS = ("red_archer", "leadadversary", "adversary", "agent", "blue knight", "pursuer", "émetteur", "ロボット")
_SEPARATORS = ("_", "-", " ", "")
_FLOAT_DTYPES = (np.float32, np.float64)
_INT_DTYPES = (np.int8, np.uint8, np.int16, np.int32, np.int64)


@dataclass
class SpaceMap:
    """Agents with their observation and action spaces, and builders of test envs."""

    agents: list[Any]
    observation_spaces: dict[Any, spaces.Space]
    action_spaces: dict[Any, spaces.Space]
    obs_kind: str
    act_kind: str

    def parallel(self, max_steps: int = 4) -> SpaceMapEnv:
        """A fresh :class:`SpaceMapEnv` of these spaces."""
        return SpaceMapEnv(self.observation_spaces, self.action_spaces, max_steps=max_steps)

    def aec(self, max_steps: int = 4) -> AECEnv:
        """The same env as an AECEnv (PettingZoo's ``parallel_to_aec``)."""
        return parallel_to_aec(self.parallel(max_steps))


def typed_agent_names(min_size: int = 2, max_size: int = 5) -> st.SearchStrategy[list[str]]:
    """Distinct names ``<stem><sep><index>`` (``"red_archer_0"``, ``"agent-12"``, ``"blue knight 3"``)."""
    name = st.tuples(st.sampled_from(TYPE_STEMS), st.sampled_from(_SEPARATORS), st.integers(0, 20)).map(
        lambda t: f"{t[0]}{t[1]}{t[2]}"
    )
    return st.lists(name, min_size=min_size, max_size=max_size, unique=True)


def agent_ids(min_size: int = 2, max_size: int = 5) -> st.SearchStrategy[list[Any]]:
    """Distinct agent ids: typed names, free unicode text, or integers."""
    text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
    return st.one_of(
        typed_agent_names(min_size, max_size),
        st.lists(text, min_size=min_size, max_size=max_size, unique=True),
        st.lists(st.integers(-5, 1000), min_size=min_size, max_size=max_size, unique=True),
    )


@st.composite
def _float_bounds(draw: st.DrawFn, n: int, finite: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-element bounds, exactly representable in float32; ``-inf`` / ``inf`` unless finite."""
    value = st.floats(-100, 100, width=32)
    low, high = np.empty(n), np.empty(n)
    for i in range(n):
        low[i] = -np.inf if not finite and draw(st.integers(0, 3)) == 0 else draw(value)
        if not finite and draw(st.integers(0, 3)) == 0:
            high[i] = np.inf
        elif np.isinf(low[i]):
            high[i] = draw(value)
        else:
            high[i] = float(np.float32(low[i] + draw(st.floats(0, 50, width=32))))
    return low, high


@st.composite
def _int_bounds(draw: st.DrawFn, n: int, dtype: Any, finite: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-element integer bounds; unless finite, some span the dtype's whole range (+-inf)."""
    info = np.iinfo(dtype)
    value = st.integers(max(int(info.min), -100), min(int(info.max), 100))
    low, high = np.empty(n, dtype=dtype), np.empty(n, dtype=dtype)
    for i in range(n):
        if not finite and draw(st.integers(0, 4)) == 0:  # what gymnasium makes of -inf / inf
            low[i], high[i] = info.min, info.max
        else:
            low[i] = draw(value)
            high[i] = min(int(low[i]) + draw(st.integers(0, 50)), int(info.max))
    return low, high


@st.composite
def box_spaces(
    draw: st.DrawFn, rank: int, dtype: Any, *, max_dim: int = 4, finite: bool = False
) -> spaces.Box:
    """A Box of ``rank`` and ``dtype`` with per-element (possibly infinite) bounds."""
    shape = tuple(draw(st.integers(1, max_dim)) for _ in range(rank))
    n = int(np.prod(shape))
    if np.issubdtype(dtype, np.floating):
        low, high = draw(_float_bounds(n, finite))
    else:
        low, high = draw(_int_bounds(n, dtype, finite))
    low, high = low.astype(dtype), high.astype(dtype)  # exact, so gymnasium does not warn
    return spaces.Box(low.reshape(shape), high.reshape(shape), shape, dtype)


def _discrete() -> st.SearchStrategy[spaces.Discrete]:
    return st.builds(lambda n, s: spaces.Discrete(n, start=s), st.integers(1, 5), st.integers(-3, 3))


@st.composite
def _multidiscrete(draw: st.DrawFn) -> spaces.MultiDiscrete:
    length = draw(st.integers(1, 3))
    nvec = draw(st.lists(st.integers(1, 4), min_size=length, max_size=length))
    start = draw(st.lists(st.integers(-2, 2), min_size=length, max_size=length))
    return spaces.MultiDiscrete(nvec, start=start)


@st.composite
def _dtype_for_agents(draw: st.DrawFn, n_agents: int) -> list[Any]:
    """One dtype per agent: all equal, all floats, all ints, or any mix."""
    mode = draw(st.sampled_from(("same", "float", "int", "mixed")))
    pool = {"float": _FLOAT_DTYPES, "int": _INT_DTYPES, "mixed": _FLOAT_DTYPES + _INT_DTYPES}
    if mode == "same":
        return [draw(st.sampled_from(_FLOAT_DTYPES + _INT_DTYPES))] * n_agents
    return [draw(st.sampled_from(pool[mode])) for _ in range(n_agents)]


@st.composite
def space_maps(
    draw: st.DrawFn,
    obs_kinds: tuple[str, ...] = OBS_KINDS,
    act_kinds: tuple[str, ...] = ACT_KINDS,
    ids: st.SearchStrategy[list[Any]] | None = None,
    indicable: bool = False,
) -> SpaceMap:
    """A padable per-agent space map: one observation kind and one action kind for all agents.

    With ``indicable``, only observation spaces :func:`ps_wrappers.agent_indicator` supports (it
    refuses multi-dimensional MultiBinary).
    """
    agents = draw(ids if ids is not None else agent_ids())
    if "discrete" not in act_kinds:  # an action_mask observation needs Discrete actions
        obs_kinds = tuple(k for k in obs_kinds if k != "dict_mask")
    obs_kind = draw(st.sampled_from(obs_kinds))
    act_kind = "discrete" if obs_kind == "dict_mask" else draw(st.sampled_from(act_kinds))

    acts: dict[Any, spaces.Space] = {}
    if act_kind == "discrete":
        acts = {a: draw(_discrete()) for a in agents}
    elif act_kind == "multidiscrete":
        acts = {a: draw(_multidiscrete()) for a in agents}
    elif act_kind == "box":
        rank = draw(st.integers(1, 2))
        acts = {a: draw(box_spaces(rank, draw(st.sampled_from(_FLOAT_DTYPES)), finite=True)) for a in agents}
    else:
        acts = {a: spaces.MultiBinary(draw(st.integers(1, 4))) for a in agents}

    obs: dict[Any, spaces.Space] = {}
    if obs_kind == "box":
        rank = draw(st.integers(1, 3))
        dtypes = draw(_dtype_for_agents(len(agents)))
        obs = {a: draw(box_spaces(rank, dt)) for a, dt in zip(agents, dtypes)}
    elif obs_kind == "discrete":
        obs = {a: draw(_discrete()) for a in agents}
    elif obs_kind == "multidiscrete":
        obs = {a: draw(_multidiscrete()) for a in agents}
    elif obs_kind == "multibinary":
        rank = 1 if indicable else draw(st.integers(1, 2))
        obs = {a: spaces.MultiBinary([draw(st.integers(1, 4)) for _ in range(rank)]) for a in agents}
    else:  # Dict with the agent's own action mask
        obs = {
            a: spaces.Dict(
                {
                    "observation": draw(box_spaces(1, np.float32)),
                    "action_mask": spaces.Box(0, 1, (int(acts[a].n),), np.int8),  # type: ignore[attr-defined]
                }
            )
            for a in agents
        }
    return SpaceMap(list(agents), obs, acts, obs_kind, act_kind)
