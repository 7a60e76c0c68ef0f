"""The preprocessing chain on real PettingZoo image envs, Parallel and AEC: PettingZoo's API tests
and our in-space checks on every reset and step (pistonball: RGB 457x120; knights-archers-zombies
with image observations: RGB 512x512, agents die; pursuit: float32 7x7x3 grids)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from pettingzoo.butterfly import knights_archers_zombies_v11, pistonball_v6
from pettingzoo.sisl import pursuit_v5

from ps_wrappers import color_reduction, frame_stack, resize
from ps_wrappers.testing import check_aec_env, check_parallel_env


def _pistonball(make: Callable[..., Any]) -> Any:
    return frame_stack(resize(color_reduction(make(max_cycles=40)), 84, 84), 4)


def _kaz(make: Callable[..., Any]) -> Any:
    env = make(obs_method="image", max_cycles=40, spawn_delay=2, max_zombies=30)
    return frame_stack(resize(color_reduction(env, "G"), 32, 24, linear_interp=False), 3)


def _pursuit(make: Callable[..., Any]) -> Any:
    return frame_stack(resize(make(max_cycles=40), 14, 14), 2, padding="reset")


CHAINS = {
    "pistonball": (_pistonball, pistonball_v6, (84, 84, 4), np.uint8),
    "kaz-image": (_kaz, knights_archers_zombies_v11, (24, 32, 3), np.uint8),
    "pursuit": (_pursuit, pursuit_v5, (14, 14, 6), np.float32),
}


@pytest.mark.parametrize("name", list(CHAINS))
@pytest.mark.parametrize("api", ["parallel", "aec"])
def test_chain_on_real_env(name: str, api: str) -> None:
    chain, module, shape, dtype = CHAINS[name]
    make = module.parallel_env if api == "parallel" else module.env
    env = chain(make)
    agent = env.possible_agents[0]
    space = env.observation_space(agent)
    assert space.shape == shape and space.dtype == dtype
    check = check_parallel_env if api == "parallel" else check_aec_env
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert check(lambda: chain(make), n_steps=30) > 0


def test_pistonball_chain_values_follow_the_raw_frames() -> None:
    """Newest frame = resize(luminance(raw)); the one before = the previous step's."""
    raw = pistonball_v6.parallel_env(max_cycles=40)
    env = _pistonball(lambda **kw: raw)
    reduce_resize = resize(color_reduction(pistonball_v6.parallel_env()), 84, 84)
    fns = [reduce_resize.env.transform.obs_fns["piston_3"], reduce_resize.transform.obs_fns["piston_3"]]
    obs, _ = env.reset(seed=0)
    previous = None
    for _ in range(3):
        frame = raw.unwrapped.observe("piston_3")
        expected = fns[1](fns[0](frame))
        np.testing.assert_array_equal(obs["piston_3"][..., -1], expected)
        if previous is not None:
            np.testing.assert_array_equal(obs["piston_3"][..., -2], previous)
        previous = expected
        obs, *_ = env.step({a: np.array([0.5], np.float32) for a in env.agents})
