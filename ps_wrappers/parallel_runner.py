"""``ParallelRunner``: one ParallelEnv copy (or a parallelizable AECEnv converted to one) in its slots.

The common step (the same agents live before and after, nobody done) writes every live row at
once and checks it with a few vectorised reductions. Steps where agents come or go check the env's
bookkeeping agent by agent: an agent reported done but kept in ``env.agents`` (which would loop
for ever), one removed without being reported done, one not in ``possible_agents``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pettingzoo.utils.env import ParallelEnv

from ps_wrappers.copy_runner import CopyRunner, reset_seed

__all__ = ["ParallelRunner"]


class ParallelRunner(CopyRunner):
    """Runner for a ParallelEnv (see :mod:`ps_wrappers.copy_runner` for what a slot emits)."""

    env: ParallelEnv

    def _set_live(self, agents: list) -> None:
        self.live_agents = agents
        self.all_live = len(agents) == self.n
        self.live_rows: slice | list[int] = slice(None) if self.all_live else [self.index[a] for a in agents]

    def _env_agents(self, when: str) -> list:
        agents = list(self.env.agents)
        self.slots_of(agents, f"has in env.agents ({when}) the agent")
        agents.sort(key=self.index.__getitem__)  # slot order, which the common step compares with
        return agents

    def reset(self, options: dict | None = None) -> list[dict]:
        """Reset with this copy's next seed and write every slot."""
        seed = reset_seed(self.base_seed, self.copy, self.episode)
        self.episode += 1
        out = self.env.reset(seed=seed, options=options)
        if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], dict)):
            raise self.contract(f"returned {type(out).__name__} from reset; a ParallelEnv returns (observations, infos), two dicts")
        obs, env_infos = out
        if not isinstance(env_infos, dict):
            raise self.contract(
                f"returned infos {env_infos!r} from reset; return a dict agent -> info dict ({{}} when "
                "there is nothing to report), e.g. `return obs, {a: {} for a in self.agents}`"
            )
        live = self._env_agents("after reset")
        if not live:
            raise self.contract("has no agents after reset (env.agents is empty); reset must start an episode")
        writer = self.writer
        self._set_live(live)
        rows = self.live_rows
        self.live[:] = self.all_live
        if not self.all_live:
            self.live[rows] = True
            for j in np.flatnonzero(~self.live).tolist():
                writer.set_placeholder(j, j)
        observations = self.observations_of(obs, live)
        info_list = _infos_of(env_infos, live)
        writer.write_observations(rows, rows, observations)
        writer.set_live(rows, rows)
        writer.write_masks(rows, rows, observations, info_list)
        self.start_stats()
        return [env_infos.get(a) or {} for a in self.agents]

    def step(self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, infos: Any) -> None:
        """Step the live agents with their slots' actions; other slots' actions are ignored."""
        env = self.env
        acting = self.live_agents
        rows = self.live_rows
        chosen = actions if self.all_live else actions[rows]
        act = dict(zip(acting, chosen.tolist() if chosen.ndim == 1 else list(chosen)))
        self.finish_step(env.step(act), rewards, dones, infos)

    def finish_step(self, out: Any, rewards: np.ndarray, dones: np.ndarray, infos: Any) -> None:
        """Check and write what ``env.step`` returned for the live agents (``out``, five dicts)."""
        env = self.env
        acting = self.live_agents
        rows = self.live_rows
        try:
            obs, rew, term, trunc, env_infos = out
            ended = any(term.values()) or any(trunc.values())
        except (TypeError, ValueError, AttributeError):
            raise self.contract(
                f"returned {type(out).__name__} from step; a ParallelEnv returns five dicts "
                "(observations, rewards, terminations, truncations, infos)"
            ) from None
        if not isinstance(env_infos, dict):
            raise self.contract(f"returned infos {env_infos!r} from step; return a dict agent -> info dict")
        self.length += 1
        dones[:] = False
        if not ended and env.agents == acting:
            self._steady(acting, rows, obs, rew, env_infos, rewards, infos)
        else:
            self._changed(acting, obs, rew, term, trunc, env_infos, rewards, dones, infos)

    def _steady(self, acting: list, rows: Any, obs: Any, rew: Any, env_infos: dict, rewards: np.ndarray, infos: Any) -> None:
        """The same agents live before and after the step, none done: vectorised writes."""
        observations = self.observations_of(obs, acting)
        info_list = _infos_of(env_infos, acting)
        writer = self.writer
        writer.write_observations(rows, rows, observations)
        writer.write_masks(rows, rows, observations, info_list)
        if self.all_live:
            self.write_rewards(rewards, rows, acting, rew)
            infos[0 : self.n] = info_list
        else:
            rewards[:] = 0.0
            self.write_rewards(rewards, rows, acting, rew)
            infos[0 : self.n] = [{} for _ in range(self.n)]
            for k, info in zip(rows, info_list):
                infos[k] = info
        self.add_rewards(rewards)

    def _changed(
        self, acting: list, obs: Any, rew: Any, term: dict, trunc: dict, env_infos: dict,
        rewards: np.ndarray, dones: np.ndarray, infos: Any,
    ) -> None:
        """Agents came, went or finished: check the env's bookkeeping, end and start episodes."""
        live_set = set(acting)
        still = self._env_agents("after a step")
        still_set = set(still)
        done = [a for a in acting if term.get(a) or trunc.get(a)]
        for a in done:
            if a in still_set:
                flag = "terminated" if term.get(a) else "truncated"
                raise self.contract(
                    f"reported agent {a!r} {flag} but kept it in env.agents, so it would be stepped for "
                    "ever; remove done agents after each step, e.g. `self.agents = [a for a in "
                    "self.agents if not (terminations[a] or truncations[a])]`"
                )
        done_set = set(done)
        for a in acting:
            if a not in still_set and a not in done_set:
                raise self.contract(
                    f"removed agent {a!r} from env.agents without reporting it terminated or truncated; "
                    "set terminations[agent] (or truncations[agent]) to True on the step it leaves"
                )
        new = [a for a in still if a not in live_set]
        new_rows = [self.index[a] for a in new]
        starts = [self.buffers.row(j) for j in new_rows]  # terminal rows of the placeholder episodes
        written = acting + new
        rows = [self.index[a] for a in written]
        observations = self.observations_of(obs, written)
        writer = self.writer
        writer.write_observations(rows, rows, observations)
        if new_rows:
            writer.set_live(new_rows, new_rows)
        info_list = _infos_of(env_infos, written)
        going = [k for k, a in enumerate(written) if a not in done_set]
        writer.write_masks(
            [rows[k] for k in going], [rows[k] for k in going],
            [observations[k] for k in going], [info_list[k] for k in going],
        )
        rewards[:] = 0.0
        self.write_rewards(rewards, self.live_rows, acting, rew, live_set)  # the rows of `acting`
        self.add_rewards(rewards)
        infos[0 : self.n] = [{} for _ in range(self.n)]
        for k, info in zip(rows, info_list):
            infos[k] = info
        for a in done:
            j = self.index[a]
            truncated = bool(trunc.get(a)) and not term.get(a)
            self.end_episode(j, infos, dones, truncated, self.buffers.row(j))
            self.live[j] = False
            if still:  # else the copy resets below and rewrites every row
                writer.set_placeholder(j, j)
        for j, start in zip(new_rows, starts):  # agents that (re)appeared end their placeholder episode
            self.end_episode(j, infos, dones, False, start)
            self.live[j] = True
        self._set_live(still)
        if not still:
            self.finish_copy(dones, infos)


def _infos_of(env_infos: dict, agents: list) -> list[dict]:
    """Each agent's info dict (the env's own objects; ``{}`` where it gave none or ``None``)."""
    try:
        infos = [env_infos[a] for a in agents]
    except KeyError:
        return [env_infos.get(a) or {} for a in agents]
    if None in infos:
        return [i if i is not None else {} for i in infos]
    return infos
