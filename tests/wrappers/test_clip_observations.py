"""``clip_observations``: the explicit fix for envs that overshoot their Box bounds.

Without it the vec env refuses the observation and its message points at the wrapper; with it
the values are clipped (dtype kept, counted per agent), NaN is still refused, and ``max_excess``
keeps a gross overshoot an error. Parallel and AEC alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo.utils.conversions import parallel_to_aec
from pettingzoo.utils.env import ParallelEnv

import ps_wrappers
from ps_wrappers import clip_observations
from ps_wrappers.errors import ObservationError


class Overshoot(ParallelEnv):
    """Two agents observing a Box in [-1, 1] (or a Dict of it and a Discrete).

    Step ``t`` gives ``a`` the value ``values[t]`` in entry 1 of its Box (0 elsewhere); ``b`` sees zeros.
    """

    metadata = {"name": "overshoot_v0"}

    def __init__(self, values: list[float], as_dict: bool = False, dtype: Any = np.float32) -> None:
        self.values, self.as_dict, self.dtype = values, as_dict, dtype
        self.possible_agents = ["a", "b"]
        box = spaces.Box(-1.0, 1.0, (3,), dtype)
        space = spaces.Dict({"x": box, "n": spaces.Discrete(2)}) if as_dict else box
        self._spaces = {"a": space, "b": space}

    def observation_space(self, agent: Any) -> spaces.Space:
        return self._spaces[agent]

    def action_space(self, agent: Any) -> spaces.Space:
        return spaces.Discrete(2)

    def _obs(self) -> dict:
        x = np.zeros(3, self.dtype)
        x[1] = self.values[min(self.t, len(self.values) - 1)]
        zeros = np.zeros(3, self.dtype)
        if self.as_dict:
            return {"a": {"x": x, "n": 1}, "b": {"x": zeros, "n": 0}}
        return {"a": x, "b": zeros}

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        self.agents, self.t = list(self.possible_agents), 0
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        self.t += 1
        done = self.t >= len(self.values)
        obs = self._obs()
        flags = {a: done for a in self.agents}
        if done:
            self.agents = []
        return obs, {a: 0.0 for a in obs}, flags, {a: False for a in obs}, {a: {} for a in obs}


VALUES = [0.5, -1.0028, 1.004, 0.25]


def _run(env_fn: Any) -> list[np.ndarray]:
    venv = ps_wrappers.make_vec_env(env_fn, seed=0)
    rows = [venv.reset()[0, :3].copy()]
    for _ in range(len(VALUES) - 1):
        rows.append(venv.step(np.zeros(venv.num_envs, dtype=np.int64))[0][0, :3].copy())
    return rows


def test_the_vec_env_refuses_an_overshoot_and_points_at_the_wrapper() -> None:
    with pytest.raises(ObservationError, match=r"agent 'a'.*-1\.0028.*outside the bounds.*clip_observations"):
        _run(lambda: Overshoot(VALUES))


@pytest.mark.parametrize("kind", ["parallel", "aec"])
def test_clipped_values_reach_the_slots_and_are_counted(kind: str) -> None:
    made = []

    def env_fn() -> Any:
        env = clip_observations(Overshoot(VALUES), max_excess=0.01)
        made.append(env)
        return env if kind == "parallel" else parallel_to_aec(env)

    rows = _run(env_fn)
    assert [float(r[1]) for r in rows] == [0.5, -1.0, 1.0, 0.25]
    assert made[0].clipped == {"a": 2}


def test_values_inside_pass_untouched_and_dtypes_and_dicts_are_kept() -> None:
    env = clip_observations(Overshoot([0.25, 3.0], as_dict=True, dtype=np.float64))
    obs, _ = env.reset()
    assert obs["a"]["x"].dtype == np.float64 and obs["a"]["x"][1] == 0.25 and obs["b"]["n"] == 0
    obs, *_ = env.step({"a": 0, "b": 0})
    assert obs["a"]["x"][1] == 1.0 and obs["a"]["n"] == 1 and env.observation_space("a")["n"] == spaces.Discrete(2)
    assert env.clipped == {"a": 1}


def test_max_excess_keeps_a_gross_overshoot_an_error_and_nan_is_still_refused() -> None:
    env = clip_observations(Overshoot([0.0, 7.5]), max_excess=0.01)
    env.reset()
    with pytest.raises(ObservationError, match=r"clip_observations: .*agent 'a' holds 7\.5 at index \(1,\), 6\.5 outside.*max_excess=0\.01"):
        env.step({"a": 0, "b": 0})
    with pytest.raises(ObservationError, match=r"agent 'a'.*nan"):
        _run(lambda: clip_observations(Overshoot([0.0, float("nan"), 0.0, 0.0])))


@pytest.mark.parametrize("bad", [-0.1, "0.1", True, float("nan")])
def test_bad_max_excess_is_refused(bad: Any) -> None:
    with pytest.raises(ValueError, match="clip_observations: max_excess must be a number >= 0 or None"):
        clip_observations(Overshoot(VALUES), max_excess=bad)
