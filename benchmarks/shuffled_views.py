"""Does a trained policy use what it sees? Evaluate it on observations shuffled in time.

A policy can raise its return without looking at anything (in KAZ, attacking about half the time
doubles the random return; ``benchmarks.kaz_baselines``). To tell that apart from seeing, the same
policy is evaluated twice on the same seeded episodes: on its real observations, and with every
observation replaced by one drawn at random from the observations the env produced earlier in the
evaluation (any agent, any earlier step or episode). The shuffled observations come from the same
distribution as the real ones, so a policy that ignores its input acts exactly as before (same
action frequencies, same return up to episode noise); a policy that uses its input now acts on
views unrelated to its situation, and its return falls toward that of a blind policy.

Used by ``benchmarks.image_learning`` at the end of a run; usable on any saved model::

    from benchmarks.shuffled_views import time_shuffled
    ps_wrappers.evaluate(model, lambda: time_shuffled(env_fn(), seed=0), n_episodes=20, seed=10_000)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pettingzoo.utils.env import ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper


class TimeShuffled(BaseParallelWrapper):
    """ParallelEnv whose agents each observe a random earlier observation instead of their own.

    Every observation the inner env emits joins a pool (the newest ``memory``); each agent is then
    given an observation drawn uniformly from the pool. Early in the first episode the pool is
    small, so the first few observations are often the agents' own or near in time.

    Args:
        env: The ParallelEnv (its observations already preprocessed as the policy expects).
        seed: Seed of the draws.
        memory: Observations kept in the pool.
    """

    def __init__(self, env: ParallelEnv, seed: int = 0, memory: int = 5_000) -> None:
        if not isinstance(env, ParallelEnv):
            raise TypeError(
                f"time_shuffled expects a PettingZoo ParallelEnv, got {type(env).__name__}"
            )
        if memory < 1:
            raise ValueError(f"time_shuffled: memory must be >= 1, got {memory}")
        super().__init__(env)
        self.pool: list[Any] = []
        self.memory = memory
        self.rng = np.random.default_rng(seed)
        self.written = 0

    def _shuffle(self, obs: dict[Any, Any]) -> dict[Any, Any]:
        for o in obs.values():
            item = np.array(o, copy=True)
            if len(self.pool) < self.memory:
                self.pool.append(item)
            else:
                self.pool[self.written % self.memory] = item
            self.written += 1
        return {a: self.pool[int(self.rng.integers(len(self.pool)))] for a in obs}

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict, dict]:
        """Reset the inner env; observations shuffled."""
        obs, infos = self.env.reset(seed=seed, options=options)
        return self._shuffle(obs), infos

    def step(self, actions: dict[Any, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Step the inner env; observations shuffled."""
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        return self._shuffle(obs), rewards, terminations, truncations, infos


def time_shuffled(env: ParallelEnv, seed: int = 0, memory: int = 5_000) -> TimeShuffled:
    """``env`` with every observation replaced by a random earlier one (:class:`TimeShuffled`)."""
    return TimeShuffled(env, seed=seed, memory=memory)
