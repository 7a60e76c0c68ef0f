"""Observation keys and the ``env_config`` of :class:`~ps_wrappers.rllib.PettingZooMultiAgentEnv`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pettingzoo.utils.env import AECEnv, ParallelEnv

from ps_wrappers.action_padding import InvalidActionMode
from ps_wrappers.images import ImageMode, check_image_mode
from ps_wrappers.make_vec_env import AECMode

__all__ = ["ID_KEY", "MASK_KEY", "OBS_KEY", "OPTIONS", "EnvFn", "env_config"]

OBS_KEY = "observations"
"""Key of the agent's padded features (flat ``float32``) or image (channels first, env dtype)."""
MASK_KEY = "action_mask"
"""Key of the valid-action mask (RLlib's convention)."""
ID_KEY = "agent_id"
"""Key of the agent one-hot that :class:`ps_wrappers.rllib.AgentIdOneHot` adds."""

EnvFn = Callable[[], ParallelEnv | AECEnv]
OPTIONS = ("env_fn", "pad", "aec_mode", "invalid_action", "images")
"""The keys of an ``env_config``."""


def env_config(
    env_fn: EnvFn,
    *,
    pad: bool = True,
    aec_mode: AECMode = "auto",
    invalid_action: InvalidActionMode = "raise",
    images: ImageMode = "auto",
) -> dict[str, Any]:
    """The ``env_config`` of :class:`PettingZooMultiAgentEnv` (arguments as :func:`to_rllib`).

    Pass it with the class to RLlib, ``config.environment(PettingZooMultiAgentEnv,
    env_config=env_config(env_fn))``: every env runner then builds its own env from ``env_fn``.

    Raises:
        TypeError: if ``env_fn`` is not callable (e.g. an env instance or a module).
        ValueError: for an unknown ``aec_mode``, ``invalid_action`` or ``images``.
    """
    if isinstance(env_fn, (ParallelEnv, AECEnv)) or not callable(env_fn):
        raise TypeError(
            "to_rllib expects a zero-argument callable returning a PettingZoo ParallelEnv or "
            f"AECEnv (every RLlib env runner builds its own copies), got {type(env_fn).__name__}. "
            "Pass e.g. `simple_spread_v3.parallel_env` or `lambda: simple_spread_v3.parallel_env(N=4)`."
        )
    if aec_mode not in ("auto", "parallel", "turns"):
        raise ValueError(f"to_rllib: aec_mode must be 'auto', 'parallel' or 'turns', got {aec_mode!r}")
    if invalid_action not in ("raise", "random_valid"):
        raise ValueError(f"to_rllib: invalid_action must be 'raise' or 'random_valid', got {invalid_action!r}")
    try:
        check_image_mode(images)
    except ValueError:
        raise ValueError(
            f"to_rllib: images must be 'auto', 'channels_last', 'channels_first' or 'flatten', got {images!r}"
        ) from None
    return {"env_fn": env_fn, "pad": bool(pad), "aec_mode": aec_mode, "invalid_action": invalid_action, "images": images}
