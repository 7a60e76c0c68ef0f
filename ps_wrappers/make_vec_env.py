"""``make_vec_env``: any PettingZoo env to an SB3 VecEnv with one slot per (copy, agent).

The factory sits above what it builds: it imports both vec envs and the construction helpers
(:mod:`ps_wrappers.construction`); none of them imports it back.
"""

from __future__ import annotations

import numbers
from typing import Any, Literal

from pettingzoo.utils.env import AECEnv, ParallelEnv

from ps_wrappers.action_padding import InvalidActionMode
from ps_wrappers.base_vec_env import SlotVecEnv, check_seed
from ps_wrappers.construction import AECMode, EnvSource, build_runners, prepare_env
from ps_wrappers.images import ImageMode, check_image_mode
from ps_wrappers.subproc_vec_env import SubprocPettingZooVecEnv
from ps_wrappers.vec_env import PettingZooVecEnv

__all__ = ["make_vec_env", "prepare_env", "AECMode", "ImageMode"]


def make_vec_env(
    env_fn: EnvSource,
    n_envs: int = 1,
    *,
    seed: int | None = None,
    pad: bool = True,
    agent_ids: bool = True,
    aec_mode: AECMode = "auto",
    invalid_action: InvalidActionMode = "raise",
    images: ImageMode = "auto",
    vec_env_cls: Literal["dummy", "subproc"] = "dummy",
    n_workers: int | None = None,
) -> Any:
    """Turn a PettingZoo env into an SB3 VecEnv with one slot per agent of each of ``n_envs`` copies.

    Vector observations: every slot's observation is a flat float32 vector ``[features | agent
    one-hot | acting flag | action mask]`` in a :class:`~ps_wrappers.layout.SlotBox`. Image
    observations (a rank-3 Box, or a rank-2 uint8 Box): a :class:`~ps_wrappers.layout.SlotDict`
    ``{"image": (C, H, W) in the env's dtype, "agent": index, "acting": flag, "action_mask": mask}``,
    so uint8 images stay uint8 in every SB3 buffer. The layout travels with the space, so the
    policies in ``policies`` need no arguments; SB3's ``"MlpPolicy"`` (flat rows) and
    ``"MultiInputPolicy"`` (image slots) train on it too (they see the agent id: FuPS+id).
    Heterogeneous agents are padded (:func:`pad_observations`, :func:`pad_actions`).

    Dead agents and agents waiting for their turn (turn-based AEC games, stepped one move per vec
    step) emit placeholder rows with acting flag 0 and a one-action mask: see
    :mod:`ps_wrappers.copy_runner` for the exact semantics and why they do not teach the policy.
    What the env returns is checked (docs/guarantees.md): a broken env raises
    :class:`~ps_wrappers.errors.EnvContractError` naming the agent and the value.

    Args:
        env_fn: A PettingZoo ParallelEnv or AECEnv (only with ``n_envs=1``), or a zero-argument
            callable returning a fresh one (e.g. ``simple_spread_v3.parallel_env``).
        n_envs: Number of env copies; the vec env has ``n_envs * len(possible_agents)`` slots.
        seed: Copy ``c`` is first reset with ``seed + c``; its later auto-resets continue the
            env's own generator (Gymnasium's convention), so two runs with one seed give
            identical rollouts. ``None``: random. ``PPO(..., seed=s)`` reseeds through
            :meth:`VecEnv.seed`.
        pad: Pad heterogeneous observation and action spaces (an error if False and they differ).
        agent_ids: Include the agent id (needed by agent-conditioned policies).
        aec_mode: For AEC envs: ``"auto"`` converts parallelizable envs to Parallel and steps
            others turn by turn; ``"parallel"`` or ``"turns"`` force one.
        invalid_action: What happens to an action outside the slot's current mask (a padded
            action, or one the env itself masks, like an occupied square): ``"raise"`` (default;
            masked policies never produce one) or ``"random_valid"`` (replaced by a uniformly
            random valid action, flagged in ``info["invalid_action_replaced"]`` and counted in
            ``venv.invalid_action_counts``; for unmasked policies such as plain ``"MlpPolicy"``).
            Either way no invalid action reaches the env.
        images: How image observations are emitted: ``"auto"`` (image slots, channel order
            detected as SB3 does: the smallest axis holds the channels), ``"channels_last"`` /
            ``"channels_first"`` (image slots, order forced), or ``"flatten"`` (the old flat rows).
        vec_env_cls: ``"dummy"`` steps copies in this process; ``"subproc"`` steps them in worker
            processes (faster for expensive envs).
        n_workers: Worker processes for ``"subproc"`` (default: ``min(n_envs, cpu count)``).

    Returns:
        A :class:`~ps_wrappers.vec_env.PettingZooVecEnv` (or its subprocess sibling).

    Example:
        >>> from mpe2 import simple_spread_v3
        >>> from stable_baselines3 import PPO
        >>> venv = make_vec_env(simple_spread_v3.parallel_env, n_envs=4, seed=0)
        >>> venv.num_envs
        12
        >>> model = PPO("MlpPolicy", venv, n_steps=16, seed=0).learn(192)
    """
    if isinstance(n_envs, bool) or not isinstance(n_envs, numbers.Integral) or n_envs < 1:
        raise ValueError(f"make_vec_env: n_envs must be a positive integer, got {n_envs!r}")
    n_envs = int(n_envs)
    seed = check_seed(seed, "make_vec_env")
    if invalid_action not in ("raise", "random_valid"):
        raise ValueError(f"make_vec_env: invalid_action must be 'raise' or 'random_valid', got {invalid_action!r}")
    check_image_mode(images)
    if aec_mode not in ("auto", "parallel", "turns"):
        raise ValueError(f"make_vec_env: aec_mode must be 'auto', 'parallel' or 'turns', got {aec_mode!r}")
    options: dict[str, Any] = dict(pad=pad, agent_ids=agent_ids, aec_mode=aec_mode, images=images)
    venv: SlotVecEnv
    if vec_env_cls == "subproc":
        if not callable(env_fn) or isinstance(env_fn, (ParallelEnv, AECEnv)):
            raise TypeError("make_vec_env: vec_env_cls='subproc' needs a picklable zero-argument callable env_fn")
        venv = SubprocPettingZooVecEnv(env_fn, n_envs, invalid_action, n_workers=n_workers, **options)
    elif vec_env_cls == "dummy":
        runners, buffers, spec = build_runners(env_fn, range(n_envs), invalid_action=invalid_action, **options)
        venv = PettingZooVecEnv(runners, buffers, spec, invalid_action)
    else:
        raise ValueError(f"make_vec_env: vec_env_cls must be 'dummy' or 'subproc', got {vec_env_cls!r}")
    if seed is not None:
        venv.seed(seed)
    return venv
