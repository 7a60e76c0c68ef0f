"""Agent indication (Terry et al. 2020, Theorem 5; Gupta et al. 2017).

Appending the agent's identity (or type) to its observation lets one shared policy represent the
optimal policies of functionally different agents. The indicator is a one-hot vector over agents
(or types): appended to vectors, added as constant channels to images and other rank >= 2 Boxes,
added as an extra dimension to Discrete / MultiDiscrete / MultiBinary observations.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from functools import singledispatch
from typing import Any, Literal, TypeVar

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import AECEnv, ParallelEnv

from ps_wrappers.transform import AgentTransform, check_env, wrap

__all__ = ["agent_indicator", "agent_type", "indicator_ids"]

EnvT = TypeVar("EnvT", ParallelEnv, AECEnv)
Channels = Literal["auto", "last", "first"]
Fn = Callable[[Any], Any]


def agent_type(agent: Any) -> str:
    """The type of an agent, derived from its name: the name without its trailing index.

    ``"red_archer_0" -> "red_archer"``, ``"leadadversary_0" -> "leadadversary"``,
    ``"agent-12" -> "agent"``, ``"walker" -> "walker"``.

    Raises:
        ValueError: for names that carry no type (integers, or names made only of digits).
    """
    if not isinstance(agent, str):
        raise ValueError(
            f"agent_indicator: cannot derive a type from agent id {agent!r} ({type(agent).__name__}); "
            "pass types={agent: type, ...} or a callable, or use by='agent'"
        )
    stem = agent.rstrip("0123456789").rstrip("_-. :")
    if not stem:
        raise ValueError(
            f"agent_indicator: agent name {agent!r} is only an index, so it has no type; pass "
            "types={agent: type, ...} or a callable, or use by='agent'"
        )
    return stem


def indicator_ids(
    agents: list[Any],
    by: Literal["agent", "type"] = "agent",
    types: Mapping[Any, Hashable] | Callable[[Any], Hashable] | None = None,
) -> tuple[dict[Any, int], list[Hashable]]:
    """Map each agent to an indicator index.

    Args:
        agents: The env's ``possible_agents``.
        by: ``"agent"`` (one index per agent) or ``"type"`` (one per type).
        types: With ``by="type"``: a mapping or callable giving each agent's type; by default
            :func:`agent_type` of its name.

    Returns:
        ``(index_of_agent, labels)`` where ``labels[i]`` names indicator index ``i``.
    """
    if by == "agent":
        if types is not None:
            raise ValueError(
                "agent_indicator: `types` is only used with by='type'; pass by='type' to indicate "
                "agent types, or drop `types` to indicate each agent"
            )
        return {a: i for i, a in enumerate(agents)}, list(agents)
    if by != "type":
        raise ValueError(
            f"agent_indicator: by must be 'agent' (one indicator per agent) or 'type' (one per "
            f"agent type), got {by!r}"
        )
    if types is None:
        type_of: Callable[[Any], Hashable] = agent_type
    elif isinstance(types, Mapping):
        missing = [a for a in agents if a not in types]
        if missing:
            raise ValueError(
                f"agent_indicator: `types` gives no type for agents {missing}; map every agent in "
                "possible_agents to a type"
            )
        type_of = types.__getitem__
    elif callable(types):
        type_of = types
    else:
        raise TypeError(
            "agent_indicator: `types` must be a mapping {agent: type} or a callable agent -> type, "
            f"got {type(types).__name__}"
        )
    labels: list[Hashable] = []
    index: dict[Any, int] = {}
    for a in agents:
        t = type_of(a)
        if t not in labels:
            labels.append(t)
        index[a] = labels.index(t)
    return index, labels


def _channel_axis(space: spaces.Box, channels: Channels) -> int:
    if len(space.shape) < 2:
        return 0
    if channels == "last":
        return len(space.shape) - 1
    if channels == "first":
        return 0
    # Images are (H, W, C) or (C, H, W) with few channels; anything else: the last axis.
    first, last = space.shape[0], space.shape[-1]
    return 0 if (len(space.shape) == 3 and first < last and first <= 4) else len(space.shape) - 1


@singledispatch
def _indicate(space: spaces.Space, k: int, i: int, channels: Channels) -> tuple[spaces.Space, Fn]:
    raise NotImplementedError(
        f"agent_indicator: cannot add an indicator to observation space {space}; supported are "
        "Box, Discrete, MultiDiscrete, MultiBinary, Tuple and Dict."
    )


@_indicate.register
def _(space: spaces.Box, k: int, i: int, channels: Channels) -> tuple[spaces.Space, Fn]:
    axis = _channel_axis(space, channels)
    plane_shape = list(space.shape)
    plane_shape[axis] = k
    plane = np.zeros(plane_shape, dtype=space.dtype)
    index: list[Any] = [slice(None)] * len(plane_shape)
    index[axis] = i
    plane[tuple(index)] = 1
    low = np.concatenate([space.low, np.zeros(plane_shape, space.dtype)], axis=axis)
    high = np.concatenate([space.high, np.ones(plane_shape, space.dtype)], axis=axis)
    new = spaces.Box(low, high, low.shape, space.dtype)  # type: ignore[arg-type]  # gymnasium 1.2 stubs
    if len(space.shape) == 1:
        d = space.shape[0]
        size, dtype = d + k, space.dtype

        def vec(x: Any) -> np.ndarray:
            out = np.empty(size, dtype=dtype)
            out[:d] = x
            out[d:] = plane
            return out

        return new, vec
    return new, lambda x: np.concatenate([np.asarray(x, dtype=space.dtype), plane], axis=axis)


@_indicate.register
def _(space: spaces.Discrete, k: int, i: int, channels: Channels) -> tuple[spaces.Space, Fn]:
    new = spaces.MultiDiscrete([int(space.n), k], start=[int(space.start), 0])
    return new, lambda x: np.array([int(x), i], dtype=np.int64)


@_indicate.register
def _(space: spaces.MultiDiscrete, k: int, i: int, channels: Channels) -> tuple[spaces.Space, Fn]:
    if space.nvec.ndim != 1:
        raise NotImplementedError(
            f"agent_indicator: multi-dimensional MultiDiscrete {space} is not supported; flatten "
            "its nvec to one dimension first"
        )
    new = spaces.MultiDiscrete(np.append(space.nvec, k), start=np.append(space.start, 0))
    return new, lambda x: np.append(np.asarray(x, dtype=np.int64), i)


@_indicate.register
def _(space: spaces.MultiBinary, k: int, i: int, channels: Channels) -> tuple[spaces.Space, Fn]:
    if len(space.shape) != 1:
        raise NotImplementedError(
            f"agent_indicator: multi-dimensional MultiBinary {space} is not supported; flatten it "
            "to one dimension first"
        )
    onehot = np.zeros(k, np.int8)
    onehot[i] = 1
    return spaces.MultiBinary(space.shape[0] + k), lambda x: np.concatenate([np.asarray(x, np.int8), onehot])


@_indicate.register
def _(space: spaces.Tuple, k: int, i: int, channels: Channels) -> tuple[spaces.Space, Fn]:
    return spaces.Tuple([*space.spaces, spaces.Discrete(k)]), lambda x: (*x, np.int64(i))


@_indicate.register
def _(space: spaces.Dict, k: int, i: int, channels: Channels) -> tuple[spaces.Space, Fn]:
    if "observation" in space.spaces:
        inner, fn = _indicate(space["observation"], k, i, channels)
        return (
            spaces.Dict({**space.spaces, "observation": inner}),
            lambda x: {**x, "observation": fn(x["observation"])},
        )
    if "agent_indicator" in space.spaces:
        raise ValueError(
            f"agent_indicator: the Dict observation space {space} already has an "
            "'agent_indicator' entry; apply agent_indicator only once"
        )
    onehot = np.zeros(k, np.float32)
    onehot[i] = 1.0
    new = spaces.Dict({**space.spaces, "agent_indicator": spaces.Box(0.0, 1.0, (k,), np.float32)})
    return new, lambda x: {**x, "agent_indicator": onehot.copy()}


def agent_indicator(
    env: EnvT,
    by: Literal["agent", "type"] = "agent",
    types: Mapping[Any, Hashable] | Callable[[Any], Hashable] | None = None,
    *,
    channels: Channels = "auto",
) -> EnvT:
    """Add a one-hot agent (or agent-type) indicator to every observation.

    * Box of rank 1: the one-hot vector is appended.
    * Box of rank >= 2 (images, entity lists): ``K`` constant planes are added along the channel
      axis, the one for the agent's index set to 1. ``channels="auto"`` uses the first axis for
      rank-3 shapes like ``(C, H, W)`` with ``C <= 4 < W`` and the last axis otherwise; pass
      ``"last"`` or ``"first"`` to choose.
    * Discrete ``n`` -> MultiDiscrete ``[n, K]``; MultiDiscrete / MultiBinary: one more entry.
    * Dict: the ``"observation"`` entry is indicated (``action_mask`` is kept); a Dict without it
      gets an ``"agent_indicator"`` entry. Tuple: a Discrete(K) entry is appended.

    Indicated observations of different agents always differ (the map is injective), and stay
    inside the declared space (indicator bounds are [0, 1]).

    Args:
        env: A PettingZoo ParallelEnv or AECEnv (pad observations first if agents differ).
        by: ``"agent"``: one indicator per agent; ``"type"``: one per agent type.
        types: With ``by="type"``: a mapping or callable agent -> type; by default the agent's
            name without its trailing index (``"red_archer_0" -> "red_archer"``).
        channels: Channel axis of rank >= 2 Box observations: ``"auto"``, ``"last"`` or ``"first"``.

    Returns:
        The same kind of env, whose ``indicator_labels`` attribute names each indicator index.

    Example:
        >>> from mpe2 import simple_tag_v3
        >>> env = agent_indicator(simple_tag_v3.parallel_env(), by="type")
        >>> env.indicator_labels
        ['adversary', 'agent']
    """
    check_env(env, "agent_indicator")
    if channels not in ("auto", "last", "first"):
        raise ValueError(
            f"agent_indicator: channels must be 'auto', 'last' or 'first', got {channels!r}"
        )
    agents = list(env.possible_agents)
    index, labels = indicator_ids(agents, by, types)
    k = len(labels)
    obs_spaces: dict[Any, spaces.Space] = {}
    obs_fns: dict[Any, Fn | None] = {}
    for a in agents:
        try:
            obs_spaces[a], obs_fns[a] = _indicate(env.observation_space(a), k, index[a], channels)
        except (NotImplementedError, ValueError) as err:
            raise type(err)(f"{err} (observation space of agent {a!r})") from None
    transform = AgentTransform(
        name="agent_indicator",
        observation_spaces=obs_spaces,
        action_spaces={a: env.action_space(a) for a in agents},
        obs_fns=obs_fns,
        inner_observation_spaces={a: env.observation_space(a) for a in agents},
    )
    wrapped = wrap(env, transform)
    wrapped.indicator_labels = labels
    return wrapped
