"""``make_vec_env``: any PettingZoo env to an SB3 VecEnv with one slot per (copy, agent)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeAlias, Union

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.conversions import aec_to_parallel
from pettingzoo.utils.env import AECEnv, ParallelEnv

from ps_wrappers.action_padding import InvalidActionMode, pad_actions
from ps_wrappers.copy_runner import (
    CopyRunner,
    ParallelRunner,
    TurnRunner,
    action_nvec,
    discrete_masks,
)
from ps_wrappers.encoding import make_encoder
from ps_wrappers.layout import SlotBox, SlotLayout
from ps_wrappers.observation_padding import pad_observations

__all__ = ["make_vec_env", "prepare_env", "AECMode"]

AECMode = Literal["auto", "parallel", "turns"]
EnvSource: TypeAlias = Union[ParallelEnv, AECEnv, Callable[[], Union[ParallelEnv, AECEnv]]]  # noqa: UP007


def _make(env_fn: EnvSource, first: bool) -> ParallelEnv | AECEnv:
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


def prepare_env(
    env: ParallelEnv | AECEnv,
    *,
    pad: bool = True,
    aec_mode: AECMode = "auto",
    invalid_action: InvalidActionMode = "raise",
) -> tuple[Any, bool]:
    """Apply padding and choose how to step an env; returns ``(env, turn_based)``.

    Parallelizable AEC envs are converted to Parallel once (``aec_mode="auto"``); others are
    stepped turn by turn. Observation padding is applied only when agents' spaces differ; action
    padding whenever actions are discrete (it provides the valid-action masks).
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
    agents = list(env.possible_agents)
    obs_spaces = [env.observation_space(a) for a in agents]
    act_spaces = [env.action_space(a) for a in agents]
    if any(s != obs_spaces[0] for s in obs_spaces):
        if not pad:
            raise ValueError(
                "make_vec_env: agents have different observation spaces "
                f"({dict(zip(agents, obs_spaces))}) and pad=False; pass pad=True to zero-pad them"
            )
        env = pad_observations(env)
    discrete = isinstance(act_spaces[0], (spaces.Discrete, spaces.MultiDiscrete))
    if discrete or any(s != act_spaces[0] for s in act_spaces):
        if not pad and any(s != act_spaces[0] for s in act_spaces):
            raise ValueError(
                "make_vec_env: agents have different action spaces "
                f"({dict(zip(agents, act_spaces))}) and pad=False; pass pad=True to pad them"
            )
        env = pad_actions(env, invalid_action=invalid_action, check_actions=False)
    return env, turn_based


def make_vec_env(
    env_fn: EnvSource,
    n_envs: int = 1,
    *,
    seed: int | None = None,
    pad: bool = True,
    agent_ids: bool = True,
    aec_mode: AECMode = "auto",
    invalid_action: InvalidActionMode = "raise",
    vec_env_cls: Literal["dummy", "subproc"] = "dummy",
    n_workers: int | None = None,
) -> Any:
    """Turn a PettingZoo env into an SB3 VecEnv with one slot per agent of each of ``n_envs`` copies.

    Every slot's observation is a flat float32 vector ``[features | agent one-hot | acting flag |
    action mask]`` (:mod:`ps_wrappers.layout`); the observation space is a
    :class:`~ps_wrappers.layout.SlotBox` carrying that layout, so the policies in ``policies``
    need no arguments, and SB3's ``"MlpPolicy"`` trains on it too (it sees the one-hot, i.e. it is
    FuPS+id). Heterogeneous agents are padded (:func:`pad_observations`, :func:`pad_actions`).

    Dead agents and agents waiting for their turn (turn-based AEC games, stepped one move per vec
    step) emit placeholder rows with acting flag 0 and a one-action mask: see
    :mod:`ps_wrappers.copy_runner` for the exact semantics and why they do not teach the policy.

    Args:
        env_fn: A PettingZoo ParallelEnv or AECEnv (only with ``n_envs=1``), or a zero-argument
            callable returning a fresh one (e.g. ``simple_spread_v3.parallel_env``).
        n_envs: Number of env copies; the vec env has ``n_envs * len(possible_agents)`` slots.
        seed: Copy ``c`` is first reset with ``seed + c``; its later auto-resets continue the
            env's own generator (Gymnasium's convention), so two runs with one seed give
            identical rollouts. ``None``: random. ``PPO(..., seed=s)`` reseeds through
            :meth:`VecEnv.seed`.
        pad: Pad heterogeneous observation and action spaces (an error if False and they differ).
        agent_ids: Include the agent one-hot segment (needed by agent-conditioned policies).
        aec_mode: For AEC envs: ``"auto"`` converts parallelizable envs to Parallel and steps
            others turn by turn; ``"parallel"`` or ``"turns"`` force one.
        invalid_action: What happens to an action outside the slot's current mask (a padded
            action, or one the env itself masks, like an occupied square): ``"raise"`` (default;
            masked policies never produce one) or ``"random_valid"`` (replaced by a uniformly
            random valid action, flagged in ``info["invalid_action_replaced"]`` and counted in
            ``venv.invalid_action_counts``; for unmasked policies such as plain ``"MlpPolicy"``).
            Either way no invalid action reaches the env.
        vec_env_cls: ``"dummy"`` steps copies in this process; ``"subproc"`` steps them in worker
            processes (faster for expensive envs).
        n_workers: Worker processes for ``"subproc"`` (default: ``min(n_envs, cpu count)``).

    Returns:
        A :class:`~ps_wrappers.vec_env.PettingZooVecEnv` (or its subprocess variant).

    Example:
        >>> from mpe2 import simple_spread_v3
        >>> from stable_baselines3 import PPO
        >>> venv = make_vec_env(simple_spread_v3.parallel_env, n_envs=4, seed=0)
        >>> venv.num_envs
        12
        >>> model = PPO("MlpPolicy", venv, n_steps=16, seed=0).learn(192)
    """
    if not isinstance(n_envs, int) or n_envs < 1:
        raise ValueError(f"make_vec_env: n_envs must be a positive integer, got {n_envs!r}")
    if vec_env_cls == "subproc":
        from ps_wrappers.subproc_vec_env import SubprocPettingZooVecEnv

        if not callable(env_fn) or isinstance(env_fn, (ParallelEnv, AECEnv)):
            raise TypeError("make_vec_env: vec_env_cls='subproc' needs a picklable zero-argument callable env_fn")
        venv: Any = SubprocPettingZooVecEnv(
            env_fn, n_envs, invalid_action, n_workers=n_workers, pad=pad, agent_ids=agent_ids, aec_mode=aec_mode
        )
    elif vec_env_cls == "dummy":
        venv = build_local(env_fn, range(n_envs), invalid_action, pad=pad, agent_ids=agent_ids, aec_mode=aec_mode)
    else:
        raise ValueError(f"make_vec_env: vec_env_cls must be 'dummy' or 'subproc', got {vec_env_cls!r}")
    if seed is not None:
        venv.seed(seed)
    return venv


def describe(env: Any, agent_ids: bool) -> tuple[SlotLayout, SlotBox, spaces.Space, Any, list]:
    """Layout, observation space, action space, encoder and per-agent static masks of a prepared env."""
    agents = list(env.possible_agents)
    obs_space = env.observation_space(agents[0])
    act_space = env.action_space(agents[0])
    encoder = make_encoder(obs_space)
    nvec = action_nvec(act_space)
    layout = SlotLayout(
        feature_dim=encoder.dim,
        agents=tuple(str(a) for a in agents),
        n_actions=int(sum(nvec)),
        action_nvec=nvec,
        agent_ids=agent_ids,
        feature_shape=encoder.shape,
        # Own Box action shapes of padded agents (policies keep padded dims out of SAC/TD3 losses).
        action_shapes=env.box_action_shapes() if hasattr(env, "box_action_shapes") else (),
    )
    n_id = layout.n_agents
    low = np.concatenate([encoder.low, np.zeros(n_id + 1 + layout.n_actions, np.float32)])
    high = np.concatenate([encoder.high, np.ones(n_id + 1 + layout.n_actions, np.float32)])
    static = [env.padding_mask(a) if hasattr(env, "padding_mask") else None for a in agents]
    return layout, SlotBox(low, high, layout), act_space, encoder, static


def build_runners(
    env_fn: EnvSource,
    copies: range | list[int],
    obs_buf: np.ndarray | None,
    *,
    pad: bool,
    agent_ids: bool,
    aec_mode: AECMode,
    invalid_action: InvalidActionMode = "raise",
) -> tuple[list[CopyRunner], np.ndarray, SlotBox, spaces.Space]:
    """Create and prepare one env per copy and its runner, writing into ``obs_buf`` (or a new one)."""
    runners: list[CopyRunner] = []
    buf = obs_buf
    obs_space: SlotBox | None = None
    act_space: spaces.Space | None = None
    for k, c in enumerate(copies):
        env = _make(env_fn, first=(k == 0 and len(copies) == 1))
        env, turn_based = prepare_env(env, pad=pad, aec_mode=aec_mode, invalid_action=invalid_action)
        layout, space, a_space, encoder, static = describe(env, agent_ids)
        if obs_space is None:
            obs_space, act_space = space, a_space
            if buf is None:
                buf = np.zeros((len(copies) * len(layout.agents), layout.total_dim), np.float32)
        elif space.layout != obs_space.layout:
            raise ValueError(
                "make_vec_env: env_fn returned envs with different agents or spaces across copies; "
                "every copy must be the same environment"
            )
        n = len(layout.agents)
        masks = discrete_masks(layout, static)
        runner_cls = TurnRunner if turn_based else ParallelRunner
        dynamic = _has_dynamic_masks(env)
        runners.append(
            runner_cls(
                env, c, layout, encoder, buf[k * n : (k + 1) * n],  # type: ignore[index]
                masks[0] if masks else None, masks[1] if masks else None, dynamic,
            )
        )
    assert buf is not None and obs_space is not None and act_space is not None
    return runners, buf, obs_space, act_space


def _has_dynamic_masks(env: Any) -> bool:
    """Whether observations carry the env's own action masks (info masks are found at reset)."""
    space = env.observation_space(env.possible_agents[0])
    return isinstance(space, spaces.Dict) and "action_mask" in space.spaces


def build_local(env_fn: EnvSource, copies: range, invalid_action: InvalidActionMode, **kwargs: Any) -> Any:
    """The in-process :class:`~ps_wrappers.vec_env.PettingZooVecEnv` for ``copies``."""
    from ps_wrappers.vec_env import PettingZooVecEnv

    runners, buf, obs_space, act_space = build_runners(env_fn, copies, None, **kwargs)
    return PettingZooVecEnv(runners, buf, obs_space, act_space, invalid_action)
