"""Building the copies of a vec env: make, check, pad and describe one PettingZoo env per copy.

:func:`prepare_env` applies the wrappers an env needs (padding, and a Parallel view of
parallelizable AEC envs); :func:`describe` derives the :class:`~ps_wrappers.slot_writer.SlotSpec`
(layout, spaces, masks, feature bounds) from the prepared env; :func:`build_runners` does both for
every copy and binds each copy's runner to its rows. Both vec envs and ``SharedPolicy`` build on
these functions; this module imports neither vec env (the factory :func:`make_vec_env` sits above).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeAlias, Union

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.conversions import aec_to_parallel
from pettingzoo.utils.env import AECEnv, ParallelEnv

from ps_wrappers.action_padding import InvalidActionMode, pad_actions
from ps_wrappers.copy_runner import CopyRunner
from ps_wrappers.encoding import make_encoder
from ps_wrappers.images import ImageMode, find_image
from ps_wrappers.layout import ImageSlotLayout, SlotBox, SlotDict, SlotLayout
from ps_wrappers.magent_runner import MagentRunner
from ps_wrappers.magent_runner import accepts as magent_accepts
from ps_wrappers.masks import AgentMask, action_nvec
from ps_wrappers.obs_check import agent_feature_bounds
from ps_wrappers.observation_padding import pad_observations
from ps_wrappers.parallel_runner import ParallelRunner
from ps_wrappers.slot_writer import SlotBuffers, SlotSpec
from ps_wrappers.space_padding import box_of, make_padder
from ps_wrappers.turn_runner import TurnRunner

__all__ = ["AECMode", "EnvSource", "build_runners", "check_agents", "describe", "make_env", "prepare_env"]

AECMode = Literal["auto", "parallel", "turns"]
EnvSource: TypeAlias = Union[ParallelEnv, AECEnv, Callable[[], Union[ParallelEnv, AECEnv]]]  # noqa: UP007


def make_env(env_fn: EnvSource, first: bool) -> ParallelEnv | AECEnv:
    """The env of one copy: ``env_fn`` itself (one copy only) or what it returns."""
    if isinstance(env_fn, (ParallelEnv, AECEnv)):
        if not first:
            raise ValueError(
                "make_vec_env: n_envs > 1 needs a fresh env per copy, but got one env instance; "
                "pass a zero-argument callable instead, e.g. `lambda: simple_spread_v3.parallel_env()`"
            )
        return env_fn
    if not callable(env_fn):
        raise TypeError(
            "make_vec_env expects a PettingZoo ParallelEnv, AECEnv, or a zero-argument callable "
            f"returning one, but got {type(env_fn).__name__}"
        )
    env = env_fn()
    if not isinstance(env, (ParallelEnv, AECEnv)):
        raise TypeError(
            f"make_vec_env: env_fn returned {type(env).__name__}, not a PettingZoo ParallelEnv or "
            "AECEnv. For a module, pass `module.parallel_env` (the function), not the module."
        )
    return env


def check_agents(env: Any, owner: str = "make_vec_env") -> list[Any]:
    """``env.possible_agents`` as a list, refusing an empty list and duplicate names.

    Raises:
        ValueError: naming the env, the offending agents and the fix.
    """
    agents = list(getattr(env, "possible_agents", None) or [])
    if not agents:
        raise ValueError(
            f"{owner}: the environment {env} has no possible_agents; a PettingZoo env must list every "
            "agent that can ever act in possible_agents before reset"
        )
    seen: set[Any] = set()
    duplicates = [a for a in agents if a in seen or seen.add(a)]  # type: ignore[func-returns-value]
    if duplicates:
        raise ValueError(
            f"{owner}: the environment {env} lists agents {sorted(set(map(str, duplicates)))} more than "
            f"once in possible_agents {agents}; every agent needs a unique name (one slot each)"
        )
    return agents


def prepare_env(
    env: ParallelEnv | AECEnv,
    *,
    pad: bool = True,
    aec_mode: AECMode = "auto",
    invalid_action: InvalidActionMode = "raise",
) -> tuple[Any, bool]:
    """Apply padding and choose how to step an env; returns ``(env, turn_based)``.

    Parallelizable AEC envs are converted to Parallel once (``aec_mode="auto"``); others are
    stepped turn by turn. Padding is applied only where agents' spaces differ: homogeneous agents
    step the env directly (their masks come from :mod:`ps_wrappers.masks`, their Discrete
    ``start`` from the action guard's offset).
    """
    if aec_mode not in ("auto", "parallel", "turns"):
        raise ValueError(f"make_vec_env: aec_mode must be 'auto', 'parallel' or 'turns', got {aec_mode!r}")
    turn_based = False
    if isinstance(env, AECEnv):
        parallelizable = bool(env.metadata.get("is_parallelizable", False))
        if aec_mode == "parallel" or (aec_mode == "auto" and parallelizable):
            env = aec_to_parallel(env)
        else:
            turn_based = True
    elif aec_mode == "turns":
        raise ValueError("make_vec_env: aec_mode='turns' needs an AECEnv, got a ParallelEnv")
    agents = check_agents(env)
    obs_spaces = [env.observation_space(a) for a in agents]
    act_spaces = [env.action_space(a) for a in agents]
    if any(s != obs_spaces[0] for s in obs_spaces):
        if not pad:
            raise ValueError(
                "make_vec_env: agents have different observation spaces "
                f"({dict(zip(agents, obs_spaces))}) and pad=False; pass pad=True to zero-pad them"
            )
        env = pad_observations(env)
    if any(s != act_spaces[0] for s in act_spaces):
        if not pad:
            raise ValueError(
                "make_vec_env: agents have different action spaces "
                f"({dict(zip(agents, act_spaces))}) and pad=False; pass pad=True to pad them"
            )
        env = pad_actions(env, invalid_action=invalid_action, check_actions=False)
    return env, turn_based


def box_action_shapes(
    agents: Sequence[Any], own_actions: dict[Any, spaces.Space], padded: spaces.Space
) -> tuple[tuple[int, ...], ...]:
    """Each agent's own Box action shape when Box actions were padded, else ``()`` (layout field).

    An agent's real action is the leading block of its own shape in the padded action (the rest is
    dropped before the env sees it); policies keep padded dimensions out of log-probabilities and
    critics with it (:meth:`ps_wrappers.SlotLayout.real_action_mask`).
    """
    if not isinstance(padded, spaces.Box) or not all(isinstance(own_actions[a], spaces.Box) for a in agents):
        return ()
    shapes = tuple(tuple(int(d) for d in own_actions[a].shape or ()) for a in agents)
    full = tuple(int(d) for d in padded.shape or ())
    return () if all(shape == full for shape in shapes) else shapes


def _zero_based(space: spaces.Space) -> tuple[spaces.Space, np.ndarray | None]:
    """The action space SB3 sees (discrete values from 0) and the offset back to the env's values."""
    if isinstance(space, spaces.Discrete):
        first = int(space.start)
        return spaces.Discrete(int(space.n)), (np.asarray(first, np.int64) if first else None)
    if isinstance(space, spaces.MultiDiscrete):
        starts = space.start.astype(np.int64)
        return spaces.MultiDiscrete(space.nvec.copy()), (starts if starts.any() else None)
    return space, None


def _agent_bounds(agents: Sequence[Any], own: dict, padded: spaces.Space) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per-agent feature bounds ``[N, D]``, or None when the padded space's bounds say as much.

    Box agents whose own bounds equal the padded bounds wherever they have values need no rows
    of their own: their padding is written as zeros by :func:`pad_observations` itself.
    """
    if all(own[a] == padded for a in agents):
        return None, None
    bounds = [agent_feature_bounds(own[a], padded) for a in agents]
    if isinstance(padded, spaces.Box) and all(isinstance(own[a], spaces.Box) for a in agents):
        flat_low, flat_high = padded.low.reshape(-1), padded.high.reshape(-1)
        same = True
        for a, (lo, hi) in zip(agents, bounds):
            pad = make_padder(own[a], padded)
            region = np.ones(own[a].shape, bool) if pad is None else np.asarray(pad(np.ones(own[a].shape)), bool)
            region = region.reshape(-1)
            same &= bool(((lo == flat_low) & (hi == flat_high))[region].all())
        if same:
            return None, None
    return np.stack([b[0] for b in bounds]), np.stack([b[1] for b in bounds])


def describe(
    env: Any,
    agent_ids: bool = True,
    images: ImageMode = "auto",
    own_spaces: dict[Any, spaces.Space] | None = None,
    own_actions: dict[Any, spaces.Space] | None = None,
) -> SlotSpec:
    """The :class:`SlotSpec` of a prepared env (``own_*``: the agents' spaces before padding)."""
    agents = tuple(check_agents(env))
    obs_space = env.observation_space(agents[0])
    act_space = env.action_space(agents[0])
    own_spaces = own_spaces or {a: obs_space for a in agents}
    own_actions = own_actions or {a: act_space for a in agents}
    names = tuple(str(a) for a in agents)
    if len(set(names)) != len(names):
        raise ValueError(f"make_vec_env: agents {list(agents)} have equal names as strings; give them unique names")
    nvec = action_nvec(act_space)
    obs_masks = isinstance(obs_space, spaces.Dict) and "action_mask" in obs_space.spaces
    if obs_masks and not nvec:
        raise ValueError(
            f"make_vec_env: the observations carry an action_mask but the action space {act_space} is "
            "not Discrete or MultiDiscrete, so it cannot be masked; drop the mask or discretise the actions"
        )
    masks = tuple(AgentMask.build(a, own_actions[a], act_space) for a in agents) if nvec else None
    low, high = _agent_bounds(agents, own_spaces, obs_space)
    sb3_actions, offset = _zero_based(act_space)
    shapes = box_action_shapes(agents, own_actions, act_space)
    image = find_image(obs_space, images)
    observation_space: SlotBox | SlotDict
    encoder = None
    if image is not None:
        if low is not None and high is not None:
            low, high = low.reshape(len(agents), *image.space.shape), high.reshape(len(agents), *image.space.shape)
        chw = image.chw_space()
        zero = np.zeros_like(chw.low)
        chw = box_of(np.minimum(chw.low, zero), np.maximum(chw.high, zero), chw.dtype)
        layout: SlotLayout | ImageSlotLayout = ImageSlotLayout(
            image_shape=image.chw, image_dtype=str(np.dtype(image.space.dtype)), agents=names,
            n_actions=int(sum(nvec)), action_nvec=nvec, agent_ids=agent_ids, channels_last=image.channels_last,
            action_shapes=shapes,
        )
        observation_space = SlotDict(chw, layout)  # type: ignore[arg-type]
        if chw.dtype == np.uint8 and int(np.argmin(chw.shape)) != 0:
            warnings.warn(
                f"make_vec_env: the slot image {chw.shape} has more channels than rows or columns; SB3 "
                "guesses channel order from the smallest axis and will wrap the vec env in "
                "VecTransposeImage, which the policies then refuse. Make the channels the smallest "
                "axis, or pass images='flatten'.",
                stacklevel=3,
            )
    else:
        encoder = make_encoder(obs_space)
        layout = SlotLayout(
            feature_dim=encoder.dim, agents=names, n_actions=int(sum(nvec)), action_nvec=nvec,
            agent_ids=agent_ids, feature_shape=encoder.shape, action_shapes=shapes,
        )
        rest = layout.n_agents + 1 + layout.n_actions
        box_low = np.concatenate([np.minimum(encoder.low, 0), np.zeros(rest, np.float32)])
        box_high = np.concatenate([np.maximum(encoder.high, 0), np.ones(rest, np.float32)])
        observation_space = SlotBox(box_low, box_high, layout)
    return SlotSpec(
        layout=layout, observation_space=observation_space, action_space=sb3_actions, action_offset=offset,
        agents=agents, obs_space=obs_space, own_spaces=dict(own_spaces), encoder=encoder, image=image,
        masks=masks, low=low, high=high, obs_masks=obs_masks,
    )


def build_runners(
    env_fn: EnvSource,
    copies: Sequence[int],
    *,
    pad: bool = True,
    agent_ids: bool = True,
    aec_mode: AECMode = "auto",
    invalid_action: InvalidActionMode = "raise",
    images: ImageMode = "auto",
) -> tuple[list[CopyRunner], SlotBuffers, SlotSpec]:
    """Create, prepare and describe one env per copy; each runner writes its rows of the buffers."""
    runners: list[CopyRunner] = []
    buffers: SlotBuffers | None = None
    first_spec: SlotSpec | None = None
    for k, c in enumerate(copies):
        env = make_env(env_fn, first=(k == 0 and len(copies) == 1))
        raw_agents = check_agents(env)
        own = {a: env.observation_space(a) for a in raw_agents}
        own_act = {a: env.action_space(a) for a in raw_agents}
        env, turn_based = prepare_env(env, pad=pad, aec_mode=aec_mode, invalid_action=invalid_action)
        spec = describe(env, agent_ids, images, own, own_act)
        if first_spec is None:
            first_spec = spec
            buffers = SlotBuffers(spec.layout, len(copies) * len(spec.agents))
        elif spec.layout != first_spec.layout or spec.observation_space != first_spec.observation_space:
            raise ValueError(
                "make_vec_env: env_fn returned envs with different agents or spaces across copies; "
                "every copy must be the same environment"
            )
        assert buffers is not None
        n = len(spec.agents)
        runner_cls: type[CopyRunner] = TurnRunner if turn_based else MagentRunner if magent_accepts(env, spec) else ParallelRunner
        runners.append(runner_cls(env, c, spec, buffers.view(slice(k * n, (k + 1) * n))))
    assert buffers is not None and first_spec is not None
    return runners, buffers, first_spec
