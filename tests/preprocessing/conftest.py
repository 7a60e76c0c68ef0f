"""Helpers for the preprocessing tests: a ParallelEnv of given image spaces, Parallel or AEC."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.conversions import parallel_to_aec

from ps_wrappers.testing import SpaceMapEnv

D2 = spaces.Discrete(2)


def image_env(obs: dict[Any, spaces.Space], aec: bool = False, max_steps: int = 25) -> Any:
    """A :class:`SpaceMapEnv` whose agents observe ``obs`` (random samples), or its AEC version.

    Each env gets its own copy of the spaces, so envs built from one map sample independently.
    """
    env = SpaceMapEnv(copy.deepcopy(obs), {a: D2 for a in obs}, max_steps=max_steps)
    return parallel_to_aec(env) if aec else env


def u8(*shape: int) -> spaces.Box:
    """A uint8 image space of ``shape`` with bounds 0..255."""
    return spaces.Box(0, 255, shape, np.uint8)
