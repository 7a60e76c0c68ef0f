"""Action space padding (Terry et al. 2020, section 5 and appendix A.2.1).

Every agent gets the largest action space of the common type; the learner's output is "trimmed"
to the agent's own actions. Padded Discrete actions never reach the environment: they raise, or
(opt-in) are replaced by a random valid action and counted. Each agent's valid-action mask
(padding combined with the env's own mask) is available from ``env.action_mask(agent)``.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import AECEnv, ParallelEnv

from ps_wrappers.errors import EnvContractError
from ps_wrappers.masks import AgentMask, action_nvec, env_mask_of, own_positions, padding_mask
from ps_wrappers.space_padding import (
    SpacePaddingError,
    describe_agents,
    make_unpadder,
    padded_space,
)
from ps_wrappers.transform import AECTransform, AgentTransform, ParallelTransform, check_env, wrap

__all__ = ["pad_actions", "InvalidActionMode"]

InvalidActionMode = Literal["raise", "random_valid"]
EnvT = TypeVar("EnvT", ParallelEnv, AECEnv)
_SUPPORTED = (spaces.Discrete, spaces.MultiDiscrete, spaces.Box, spaces.MultiBinary)


class _Guard:
    """Decides what happens to an action outside an agent's real range."""

    def __init__(self, mode: InvalidActionMode, seed: int | None) -> None:
        self.mode = mode
        self.rng = np.random.default_rng(seed)
        self.counts: dict[Any, int] = {}
        self.mask_fn: Callable[[Any], np.ndarray | None] = lambda agent: None

    def replace(self, agent: Any, value: Any, own: spaces.Space, valid: np.ndarray) -> int:
        if self.mode == "raise":
            raise ValueError(
                f"pad_actions: action {value!r} of agent {agent!r} is a padded action outside its own "
                f"action space {own}; it must never reach the environment. Choose actions inside "
                "env.action_mask(agent) (the policies in `policies` and sb3-contrib's MaskablePPO "
                "do), or pass invalid_action='random_valid' to replace such actions by a random "
                "valid one (counted in env.invalid_action_counts)."
            )
        self.counts[agent] = self.counts.get(agent, 0) + 1
        if self.counts[agent] == 1:
            warnings.warn(
                f"pad_actions: replacing padded action {value!r} of agent {agent!r} by a random valid "
                "action (invalid_action='random_valid'); see env.invalid_action_counts.",
                stacklevel=4,
            )
        return int(self.rng.choice(np.flatnonzero(valid)))


def _as_int(agent: Any, x: Any, space: spaces.Space) -> int:
    try:
        return operator.index(x)
    except TypeError:
        arr = np.asarray(x)
        if arr.size == 1 and np.issubdtype(arr.dtype, np.integer):
            return int(arr.item())
        raise TypeError(
            f"pad_actions: agent {agent!r} has the Discrete action space {space}, so its action "
            f"must be an integer, got {x!r} ({type(x).__name__}). Pass a Python or NumPy integer "
            "(e.g. int(action)), not a float or a vector."
        ) from None


def _discrete_fn(agent: Any, own: spaces.Discrete, dst: spaces.Discrete, guard: _Guard) -> Callable:
    lo = int(own.start)
    hi = lo + int(own.n)
    offset = int(dst.start)
    static = padding_mask(own, dst)

    def act(x: Any) -> Any:
        if lo <= _as_int(agent, x, dst) < hi:
            return x
        mask = guard.mask_fn(agent)
        return offset + guard.replace(agent, x, own, static if mask is None else mask)

    return act


def _multidiscrete_fn(agent: Any, own: spaces.MultiDiscrete, dst: spaces.MultiDiscrete, guard: _Guard) -> Callable:
    n = len(own.nvec)
    lo = own.start.astype(np.int64)
    hi = lo + own.nvec
    dtype = own.dtype
    first = own.start.astype(np.int64) - dst.start[:n].astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(dst.nvec)[:-1]]).astype(np.int64)
    static = padding_mask(own, dst)

    def act(x: Any) -> np.ndarray:
        v = np.asarray(x)[:n].astype(dtype)
        bad = (v < lo) | (v >= hi)
        if bad.any():
            mask = guard.mask_fn(agent)
            mask = static if mask is None else mask
            for d in np.flatnonzero(bad):
                seg = mask[starts[d] + first[d] : starts[d] + first[d] + int(own.nvec[d])]
                v[d] = lo[d] + guard.replace(agent, x, own, seg)
        return v

    return act


def _box_fn(own: spaces.Box, dst: spaces.Box) -> Callable:
    region = tuple(slice(0, n) for n in own.shape)
    low, high, dtype = own.low, own.high, own.dtype
    # Clip before the cast to the agent's dtype: casting first would wrap out-of-range integers
    # (e.g. 250 -> int8 -6) before they are clipped.
    return lambda x: np.clip(np.asarray(x)[region], low, high).astype(dtype)


def _mask_obs_space(
    agent: Any, obs_space: spaces.Space, own: spaces.Space, dst: spaces.Space
) -> tuple[spaces.Space, Callable | None]:
    """Move a Dict observation's ``action_mask`` to the agent's actions in the padded space.

    The mask's first entries (one per own action; for MultiDiscrete, one segment per dimension)
    are the agent's actions (a longer mask is one already padded by
    :func:`ps_wrappers.pad_observations`, whose extra entries are padding). It is passed through
    when it already has the padded layout.
    """
    if not (
        isinstance(obs_space, spaces.Dict)
        and "action_mask" in obs_space.spaces
        and isinstance(dst, (spaces.Discrete, spaces.MultiDiscrete))
    ):
        return obs_space, None
    mask_space: Any = obs_space["action_mask"]
    size = int(np.prod(mask_space.shape))
    positions = own_positions(own, dst)
    n = int(sum(action_nvec(dst)))
    if size < positions.size:
        raise ValueError(
            f"pad_actions: agent {agent!r} has an action_mask {mask_space} of {size} entries but "
            f"action space {own} with {positions.size} actions; the mask must have one entry per action "
            "(for MultiDiscrete, one segment per dimension, concatenated). Fix the environment's "
            "action_mask observation space."
        )
    if size == n and np.array_equal(positions, np.arange(positions.size)):
        return obs_space, None
    new_mask: spaces.Space = (
        spaces.MultiBinary(n) if isinstance(mask_space, spaces.MultiBinary)
        else spaces.Box(0, 1, (n,), mask_space.dtype)
    )
    new = spaces.Dict({**obs_space.spaces, "action_mask": new_mask})
    return new, _pad_mask_fn(positions, n, mask_space.dtype)


class _MaskMixin:
    """``action_mask(agent)``: padding mask combined with the env's own current mask."""

    env: Any
    transform: AgentTransform
    _static_masks: dict[Any, np.ndarray]
    _agent_masks: dict[Any, AgentMask]
    _guard: _Guard

    @property
    def invalid_action_counts(self) -> dict[Any, int]:
        """Agent -> how many padded actions were replaced (``invalid_action='random_valid'``)."""
        return dict(self._guard.counts)

    def box_action_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Each possible agent's own Box action shape, or ``()`` when no agent's Box was padded.

        An agent's real action is the leading block of this shape in the padded action (the rest
        is dropped before the env sees it); policies use it to keep padded dimensions out of
        log-probabilities and critics (:meth:`ps_wrappers.SlotLayout.real_action_mask`).
        """
        agents = self.env.possible_agents
        own = [self.transform.inner_action_spaces[a] for a in agents]
        if not all(isinstance(space, spaces.Box) for space in own):
            return ()
        padded = tuple(self.transform.action_spaces[agents[0]].shape or ())
        shapes = tuple(tuple(int(d) for d in space.shape or ()) for space in own)
        return () if all(shape == padded for shape in shapes) else shapes

    def padding_mask(self, agent: Any) -> np.ndarray | None:
        """Boolean mask of ``agent``'s own actions in the padded space (None for Box / MultiBinary)."""
        return self._static_masks.get(agent)

    def action_mask(self, agent: Any) -> np.ndarray | None:
        """Boolean mask of ``agent``'s valid actions now (None for Box / MultiBinary actions).

        For Discrete actions its length is the padded ``n``; for MultiDiscrete it is the
        concatenation of one mask per dimension (sb3-contrib's layout).
        """
        static = self._static_masks.get(agent)
        if static is None:
            return None
        env_mask = self._env_mask(agent)
        return static if env_mask is None else env_mask

    def _env_mask(self, agent: Any) -> np.ndarray | None:
        raise NotImplementedError

    def _combine(self, agent: Any, obs: Any, info: dict | None) -> np.ndarray | None:
        source = env_mask_of(obs, info)
        if source is None:
            return None
        try:
            return self._agent_masks[agent].combine(*source, require_valid=False)
        except EnvContractError as err:
            raise EnvContractError(f"pad_actions: {err}") from None


class ParallelActionPadding(_MaskMixin, ParallelTransform):
    """The ParallelEnv returned by :func:`pad_actions`."""

    _last_obs: dict = {}
    _last_infos: dict = {}

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Reset; ``seed`` also seeds the random replacement of padded actions."""
        if seed is not None:
            self._guard.rng = np.random.default_rng(seed)
        obs, infos = super().reset(seed=seed, options=options)
        self._last_obs, self._last_infos = obs, infos
        return obs, infos

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        """Trim the actions to each agent's own space, then step."""
        out = super().step(actions)
        self._last_obs, self._last_infos = out[0], out[4]
        return out

    def _env_mask(self, agent: Any) -> np.ndarray | None:
        return self._combine(agent, self._last_obs.get(agent), self._last_infos.get(agent))


class AECActionPadding(_MaskMixin, AECTransform):
    """The AECEnv returned by :func:`pad_actions`."""

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        """Reset; ``seed`` also seeds the random replacement of padded actions."""
        if seed is not None:
            self._guard.rng = np.random.default_rng(seed)
        self.env.reset(seed=seed, options=options)

    def _env_mask(self, agent: Any) -> np.ndarray | None:
        return self._combine(agent, self.observe(agent), self.env.infos.get(agent))


def pad_actions(
    env: EnvT,
    *,
    invalid_action: InvalidActionMode = "raise",
    seed: int | None = None,
    check_actions: bool = True,
) -> EnvT:
    """Pad every agent's action space to the largest space of the common type.

    * Discrete: the union range (honouring ``start``). An action outside the agent's own range
      raises ``ValueError`` (default) or, with ``invalid_action="random_valid"``, is replaced by a
      uniformly random valid action and counted in ``env.invalid_action_counts``. It never
      reaches the environment.
    * MultiDiscrete: dimensions padded to the longest, extra dimensions dropped, each dimension
      checked against the agent's own range as for Discrete.
    * Box: extra dimensions dropped, values clipped to the agent's own bounds.
    * MultiBinary: extra bits dropped.

    ``env.action_mask(agent)`` returns the agent's valid actions (padding combined with the env's
    own mask from a Dict ``action_mask`` observation or ``info["action_mask"]``). A Dict
    ``action_mask`` observation is moved to the agent's actions in the padded space and padded
    with zeros to the padded action count; a mask already zero-padded at its end by
    :func:`ps_wrappers.pad_observations` is read from its first ``n`` entries.

    Args:
        env: A PettingZoo ParallelEnv or AECEnv.
        invalid_action: ``"raise"`` or ``"random_valid"`` (see above).
        seed: Seed of the random replacement (reseeded by ``reset(seed=...)``).
        check_actions: Check Discrete / MultiDiscrete actions against each agent's own range.
            Pass False only when the caller already guarantees every action is inside
            ``env.action_mask(agent)``: :func:`ps_wrappers.make_vec_env` does, with one vectorised
            check of all slots, and skips this per-agent one.

    Returns:
        The same kind of env with padded action spaces.

    Raises:
        TypeError: if ``env`` is not a PettingZoo env.
        ValueError: for mixed action types (e.g. Discrete and Box), or an unknown ``invalid_action``.
        NotImplementedError: for unsupported action spaces.

    Example:
        >>> from mpe2 import simple_world_comm_v3
        >>> env = pad_actions(simple_world_comm_v3.parallel_env())
        >>> env.action_space("agent_0"), int(env.action_mask("agent_0").sum())
        (Discrete(20), 5)
    """
    check_env(env, "pad_actions")
    if invalid_action not in ("raise", "random_valid"):
        raise ValueError(
            f"pad_actions: invalid_action must be 'raise' or 'random_valid', got {invalid_action!r}"
        )
    agents = list(env.possible_agents)
    own = {a: env.action_space(a) for a in agents}
    for a in agents:
        if not isinstance(own[a], _SUPPORTED):
            raise NotImplementedError(
                f"pad_actions: agent {a!r} has action space {own[a]}, which cannot be padded; "
                "supported are Discrete, MultiDiscrete, Box and MultiBinary. Wrap the env to "
                "convert its actions first."
            )
    if len({type(s) for s in own.values()}) > 1:
        raise ValueError(
            "pad_actions: agents have action spaces of different types "
            f"({describe_agents(agents, list(own.values()))}); a shared policy needs one type. "
            "Give the agents one action type (e.g. discretise the Box actions) or train separate "
            "policies for each type."
        )
    try:
        dst = padded_space(agents, [own[a] for a in agents], "action")
    except SpacePaddingError as err:
        raise SpacePaddingError(f"pad_actions: {err}") from None
    guard = _Guard(invalid_action, seed)
    obs_spaces: dict[Any, spaces.Space] = {}
    obs_fns: dict[Any, Callable[[Any], Any] | None] = {}
    act_fns: dict[Any, Callable[[Any], Any] | None] = {}
    static: dict[Any, np.ndarray] = {}
    for a in agents:
        obs_spaces[a], obs_fns[a] = _mask_obs_space(a, env.observation_space(a), own[a], dst)
        if isinstance(dst, spaces.Discrete):
            act_fns[a] = _discrete_fn(a, own[a], dst, guard) if check_actions else None
            static[a] = padding_mask(own[a], dst)
        elif isinstance(dst, spaces.MultiDiscrete):
            act_fns[a] = None if own[a] == dst else _multidiscrete_fn(a, own[a], dst, guard)
            static[a] = padding_mask(own[a], dst)
        elif isinstance(dst, spaces.Box):
            # Inside make_vec_env (check_actions=False) SB3 already clips to the padded bounds, which
            # equal an unpadded agent's own; standalone, every agent's actions are clipped.
            act_fns[a] = _box_fn(own[a], dst) if (check_actions or own[a] != dst) else None
        else:
            act_fns[a] = None if own[a] == dst else make_unpadder(own[a], dst)
    transform = AgentTransform(
        name="pad_actions",
        observation_spaces=obs_spaces,
        action_spaces={a: dst for a in agents},
        obs_fns=obs_fns,
        act_fns=act_fns,
        inner_action_spaces=own,
    )
    wrapped = wrap(env, transform, ParallelActionPadding, AECActionPadding)
    wrapped._static_masks = static
    wrapped._agent_masks = {a: AgentMask.build(a, own[a], dst) for a in static}
    wrapped._guard = guard
    guard.mask_fn = wrapped.action_mask
    return wrapped


def _pad_mask_fn(positions: np.ndarray, n: int, dtype: Any) -> Callable:
    """Place the agent's own mask entries at ``positions`` in a zero mask of ``n`` entries."""
    size = positions.size

    def pad_mask(obs: dict) -> dict:
        mask = np.zeros(n, dtype=dtype)
        mask[positions] = np.asarray(obs["action_mask"]).reshape(-1)[:size]
        return {**obs, "action_mask": mask}

    return pad_mask
