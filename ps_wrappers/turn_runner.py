"""``TurnRunner``: one turn-based AECEnv copy in its slots, one move per vec step.

The selected agent acts; the other live agents wait: their slots show their current observation
with acting flag 0 and a one-action mask, and receive the reward their turn-mates' moves gave them.
Dead agents are stepped with ``None`` (PettingZoo's dead steps), at most once each: an env that
keeps a done agent selected raises instead of looping for ever.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pettingzoo.utils.env import AECEnv

from ps_wrappers.copy_runner import CopyRunner, reset_seed

__all__ = ["TurnRunner"]


class TurnRunner(CopyRunner):
    """Runner for a turn-based AECEnv (see :mod:`ps_wrappers.copy_runner` for what a slot emits)."""

    env: AECEnv

    def _skip_dead(self) -> None:
        """Step ``None`` for every selected agent that is already done (PettingZoo's dead steps)."""
        env = self.env
        for _ in range(len(env.agents) + 1):
            if not env.agents:
                return
            sel = env.agent_selection
            if not (env.terminations[sel] or env.truncations[sel]):
                return
            env.step(None)
        raise self.contract(
            f"still selects the done agent {env.agent_selection!r} after a dead step for every agent "
            f"(env.agents = {list(env.agents)}); a done agent must leave env.agents on its dead step "
            "(PettingZoo's AECEnv._was_dead_step does this), so the episode can end"
        )

    def _write_all(self) -> None:
        env = self.env
        sel = env.agent_selection
        agents = list(env.agents)
        rows = self.slots_of(agents, "has in env.agents the agent")
        observations = [env.observe(a) for a in agents]
        writer = self.writer
        writer.write_observations(rows, rows, observations)
        for a, j in zip(agents, rows):
            self.live[j] = True
            if a != sel:
                writer.set_waiting(j, j)
        if sel in self.index and sel in agents:
            j = self.index[sel]
            writer.set_live([j], [j])
            writer.write_masks([j], [j], [observations[agents.index(sel)]], [env.infos.get(sel) or {}])

    def reset(self, options: dict | None = None) -> list[dict]:
        """Reset with this copy's next seed and write every slot."""
        seed = reset_seed(self.base_seed, self.copy, self.episode)
        self.episode += 1
        self.env.reset(seed=seed, options=options)
        if not isinstance(self.env.infos, dict):
            raise self.contract(f"has infos {self.env.infos!r} after reset; env.infos must be a dict agent -> info dict")
        self.live[:] = False
        for j in range(self.n):
            self.writer.set_placeholder(j, j)
        self._skip_dead()
        if not self.env.agents:
            raise self.contract("has no agents after reset (env.agents is empty); reset must start an episode")
        self._write_all()
        self.start_stats()
        return [dict(self.env.infos.get(a) or {}) for a in self.agents]

    def step(self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, infos: Any) -> None:
        """Apply the selected agent's action; everyone else waits."""
        env = self.env
        sel = env.agent_selection
        env.step(actions[self.index[sel]])
        self.length += 1
        rewards[:] = 0.0
        dones[:] = False
        infos[0 : self.n] = [{} for _ in range(self.n)]
        scored = list(env.rewards)
        self.write_rewards(rewards, self.slots_of(scored, "gives a reward to the agent"), scored, env.rewards)
        self.add_rewards(rewards)
        for a in list(env.agents):
            j = self.slots_of([a], "has in env.agents the agent")[0]
            if env.terminations[a] or env.truncations[a]:
                infos[j] = dict(env.infos.get(a) or {})
                self.writer.write_observations([j], [j], [env.observe(a)])
                self.writer.set_waiting(j, j)
                self.end_episode(j, infos, dones, bool(env.truncations[a] and not env.terminations[a]), self.buffers.row(j))
                self.live[j] = False
                self.writer.set_placeholder(j, j)
        self._skip_dead()
        for a in env.agents:  # agents that appeared mid-episode end their placeholder episode
            j = self.index[a]
            if not self.live[j]:
                self.end_episode(j, infos, dones, False, self.buffers.row(j))
        if not env.agents:
            self.finish_copy(dones, infos)
        else:
            self._write_all()
