"""``clip_observations``: clip Box observations to their declared bounds, by the user's choice.

:func:`ps_wrappers.make_vec_env` refuses an observation outside its agent's space (nothing is
silently coerced, docs/guarantees.md). Some envs overshoot their bounds by rounding or noise:
knights_archers_zombies' vector mode emits values such as -1.0028 in a ``[-1, 1]`` Box after some
100,000 steps, multiwalker samples Gaussian noise past its bounds (PettingZoo issue 206). For
those, this wrapper is the explicit fix: it clips every Box entry (also inside Dict and Tuple
observations) to its bounds, keeps the dtype, counts what it clipped per agent, and still lets
NaN through, so the vec env refuses a NaN as before. ``max_excess`` bounds how far outside a value
may be and still be clipped, so a gross env bug stays an error. Parallel in -> Parallel out, AEC in
-> AEC out, natively (:mod:`ps_wrappers.transform`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import singledispatch
from typing import Any, TypeVar

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import AECEnv, ParallelEnv

from ps_wrappers.errors import ObservationError
from ps_wrappers.transform import AgentTransform, check_env, wrap

__all__ = ["clip_observations"]

EnvT = TypeVar("EnvT", ParallelEnv, AECEnv)
Fn = Callable[[Any], Any]


class _Clipper:
    """Clips one agent's observations; counts the observations it changed."""

    def __init__(self, agent: Any, space: spaces.Space, max_excess: float | None, counts: Counter) -> None:
        self.agent, self.space, self.max_excess, self.counts = agent, space, max_excess, counts
        self.clip = _clip_fn(space, self)

    def __call__(self, obs: Any) -> Any:
        return obs if self.clip is None else self.clip(obs)

    def box(self, space: spaces.Box, obs: Any) -> Any:
        x = np.asarray(obs)
        if x.shape != space.shape:  # let the vec env explain the wrong shape
            return obs
        low, high = space.low, space.high
        below, above = x < low, x > high
        if not (below.any() or above.any()):
            return obs
        if self.max_excess is not None:
            excess = np.maximum(np.where(below, low - x, 0.0), np.where(above, x - high, 0.0))
            i = np.unravel_index(int(np.argmax(excess)), x.shape) if x.ndim else ()
            if float(excess[i]) > self.max_excess:
                raise ObservationError(
                    f"clip_observations: the observation of agent {self.agent!r} holds {float(x[i]):g} at index "
                    f"{tuple(int(k) for k in i)}, {float(excess[i]):g} outside the bounds "
                    f"[{float(low[i]):g}, {float(high[i]):g}] of {space}, more than max_excess={self.max_excess:g}; "
                    "that is an env bug rather than rounding: fix the environment, or raise max_excess."
                )
        self.counts[self.agent] += 1
        return np.clip(x, low, high).astype(x.dtype, copy=False)


@singledispatch
def _clip_fn(space: spaces.Space, clipper: _Clipper) -> Fn | None:
    return None  # Discrete, MultiDiscrete, MultiBinary, ...: nothing to clip


@_clip_fn.register
def _(space: spaces.Box, clipper: _Clipper) -> Fn | None:
    return lambda obs: clipper.box(space, obs)


@_clip_fn.register
def _(space: spaces.Dict, clipper: _Clipper) -> Fn | None:
    found = {key: _clip_fn(sub, clipper) for key, sub in space.spaces.items()}
    fns: dict[Any, Fn] = {key: f for key, f in found.items() if f is not None}
    if not fns:
        return None

    def clip(obs: Any) -> Any:
        if not isinstance(obs, dict):
            return obs
        return {key: fns[key](value) if key in fns else value for key, value in obs.items()}

    return clip


@_clip_fn.register
def _(space: spaces.Tuple, clipper: _Clipper) -> Fn | None:
    fns = [_clip_fn(sub, clipper) for sub in space.spaces]
    if all(f is None for f in fns):
        return None

    def clip(obs: Any) -> Any:
        if not isinstance(obs, (tuple, list)) or len(obs) != len(fns):
            return obs
        return tuple(value if f is None else f(value) for f, value in zip(fns, obs))

    return clip


def clip_observations(env: EnvT, *, max_excess: float | None = None) -> EnvT:
    """Clip every agent's Box observations to the bounds of its declared space.

    Use it for an env whose observations overshoot their declared bounds (the vec env's
    :class:`~ps_wrappers.errors.ObservationError` names the agent, the value and the bounds first).
    The spaces are unchanged; values inside the bounds pass untouched (no copy); NaN is not
    clipped, so it is still refused downstream. The returned env's ``clipped`` attribute counts,
    per agent, the observations that were clipped.

    Args:
        env: A PettingZoo ParallelEnv or AECEnv.
        max_excess: Refuse (:class:`~ps_wrappers.errors.ObservationError`) a value farther than this
            outside its bounds; ``None`` clips any value.

    Returns:
        The same kind of env, whose observations lie inside their spaces' Box bounds.

    Raises:
        TypeError: if ``env`` is not a PettingZoo env.
        ValueError: for a negative or non-numeric ``max_excess``.

    Example:
        >>> from pettingzoo.butterfly import knights_archers_zombies_v11
        >>> env = clip_observations(knights_archers_zombies_v11.parallel_env(), max_excess=0.01)
        >>> env.clipped
        Counter()
    """
    check_env(env, "clip_observations")
    if max_excess is not None and (
        isinstance(max_excess, bool) or not isinstance(max_excess, (int, float)) or not max_excess >= 0
    ):
        raise ValueError(f"clip_observations: max_excess must be a number >= 0 or None, got {max_excess!r}")
    agents = list(env.possible_agents)
    counts: Counter = Counter()
    inner = {a: env.observation_space(a) for a in agents}
    obs_fns: dict[Any, Fn | None] = {}
    for a in agents:
        clipper = _Clipper(a, inner[a], None if max_excess is None else float(max_excess), counts)
        obs_fns[a] = clipper if clipper.clip is not None else None
    transform = AgentTransform(
        name="clip_observations",
        observation_spaces=dict(inner),
        action_spaces={a: env.action_space(a) for a in agents},
        obs_fns=obs_fns,
        inner_observation_spaces=inner,
    )
    wrapped = wrap(env, transform)
    wrapped.clipped = counts  # type: ignore[union-attr]
    return wrapped
