"""benchmarks.shuffled_views: observations replaced by earlier ones, drawn from the env's own."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv

from benchmarks.shuffled_views import TimeShuffled, time_shuffled


class _Counter(ParallelEnv):
    """Agent ``i`` observes ``[t, i]`` at step ``t`` (one reused buffer per agent, like many envs)."""

    metadata = {"name": "counter_v0"}

    def __init__(self, n: int = 3) -> None:
        self.possible_agents = [f"a{i}" for i in range(n)]
        self.buffers = {a: np.zeros(2, np.float32) for a in self.possible_agents}
        self.t = 0

    def observation_space(self, agent: Any) -> spaces.Box:
        return spaces.Box(0, 1e6, (2,), np.float32)

    def action_space(self, agent: Any) -> spaces.Discrete:
        return spaces.Discrete(2)

    def _obs(self) -> dict[str, np.ndarray]:
        for i, a in enumerate(self.agents):
            self.buffers[a][:] = (self.t, i)
        return {a: self.buffers[a] for a in self.agents}

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        self.agents, self.t = list(self.possible_agents), 0
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        self.t += 1
        no = dict.fromkeys(self.agents, False)
        return self._obs(), dict.fromkeys(self.agents, 1.0), no, no, {a: {} for a in self.agents}


def _run(env: TimeShuffled, steps: int) -> list[dict[str, np.ndarray]]:
    seen = [dict(env.reset(seed=0)[0])]
    for _ in range(steps):
        obs, rewards, *_ = env.step({a: 0 for a in env.agents})
        assert rewards == dict.fromkeys(env.possible_agents, 1.0)  # only observations change
        seen.append({a: o.copy() for a, o in obs.items()})
    return seen


def test_every_observation_is_an_earlier_one_and_most_are_not_current() -> None:
    env = time_shuffled(_Counter(), seed=1)
    assert env.observation_space("a0") == spaces.Box(0, 1e6, (2,), np.float32)
    seen = _run(env, 200)
    current = 0
    for t, obs in enumerate(seen):
        for a, o in obs.items():
            step, agent = int(o[0]), int(o[1])
            assert 0 <= step <= t and 0 <= agent < 3
            current += step == t and f"a{agent}" == a
    assert current < 0.1 * 3 * len(seen)  # drawn from ~3t observations, rarely the agent's own


def test_pool_keeps_copies_and_is_bounded_and_seeded() -> None:
    env = TimeShuffled(_Counter(), seed=2, memory=10)
    a = _run(env, 50)
    assert len(env.pool) == 10 and {int(o[0]) for o in env.pool} <= set(range(46, 51))  # the newest 10
    b = _run(TimeShuffled(_Counter(), seed=2, memory=10), 50)
    assert all(np.array_equal(x[k], y[k]) for x, y in zip(a, b) for k in x)


def test_errors() -> None:
    with pytest.raises(TypeError, match="time_shuffled expects a PettingZoo ParallelEnv"):
        TimeShuffled(object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="memory must be >= 1"):
        TimeShuffled(_Counter(), memory=0)
