"""Step one copy of a PettingZoo env and write its agents' slots into preallocated arrays.

A copy owns ``N = len(possible_agents)`` consecutive slots. What a slot emits (see
:mod:`ps_wrappers.layout`):

* a live agent whose action is applied: its observation, acting flag 1, its valid-action mask;
* a turn-based agent waiting for its turn: its current observation, acting flag 0, and a mask that
  allows only one action (the action is ignored, so the row adds no policy gradient);
* a placeholder for an agent that is done (dead) while others play on, or not yet spawned: zero
  features, acting flag 0, the one-action mask, reward 0, ``done=False``.

When an agent terminates or is truncated its slot gets ``done=True`` with the real
``terminal_observation`` (and ``TimeLimit.truncated`` for truncations, so SB3 bootstraps). When the
copy resets, slots still holding a placeholder also end (``done=True``, not truncated), so
placeholder returns never leak into real episodes. Placeholder transitions have reward 0 and a
forced action: their policy-gradient and entropy terms are exactly zero under masking, and the
value they teach (0 for a dead agent) is the true one.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import AECEnv, ParallelEnv

from ps_wrappers.encoding import FeatureEncoder
from ps_wrappers.layout import SlotLayout

__all__ = ["CopyRunner", "ParallelRunner", "TurnRunner", "reset_seed"]


def reset_seed(base: int | None, copy: int, episode: int) -> int | None:
    """The seed of a copy's ``episode``-th reset since :meth:`CopyRunner.seed`.

    Only the first reset is seeded (``base + copy``); later auto-resets pass ``None`` so the env's
    own generator carries on deterministically (Gymnasium's convention), which keeps rollouts
    reproducible without paying for a fresh generator every episode.
    """
    if base is None or episode > 0:
        return None
    return int(base) + int(copy)


class CopyRunner:
    """Shared state and row writing of one env copy (see the subclasses for stepping)."""

    def __init__(
        self,
        env: Any,
        copy: int,
        layout: SlotLayout,
        encoder: FeatureEncoder,
        obs: np.ndarray,
        static_masks: list[np.ndarray] | None,
        placeholder_masks: list[np.ndarray] | None,
        dynamic_masks: bool,
    ) -> None:
        """Bind the copy to its rows ``obs`` (a view of the vec env's observation buffer)."""
        self.env = env
        self.copy = copy
        self.agents = list(env.possible_agents)
        self.index = {a: j for j, a in enumerate(self.agents)}
        self.layout = layout
        self.encoder = encoder
        self.rows = obs
        self.static_masks = static_masks
        self.placeholder_masks = placeholder_masks
        self.dynamic_masks = dynamic_masks
        self.live = np.zeros(len(self.agents), dtype=bool)
        self.returns = np.zeros(len(self.agents), dtype=np.float64)
        self.base_seed: int | None = None
        self.episode = 0
        self.length = 0
        self.t_start = time.perf_counter()
        self._d = layout.feature_dim
        self._acting = layout.acting_index
        self._ms = layout.mask_slice
        if layout.agent_ids:
            for j in range(len(self.agents)):
                obs[j, layout.id_slice] = 0.0
                obs[j, layout.feature_dim + j] = 1.0

    # --- rows ------------------------------------------------------------------------------------

    def _write_live(self, j: int, agent: Any, o: Any, acting: bool) -> None:
        row = self.rows[j]
        self.encoder.write(o, row)
        row[self._acting] = 1.0 if acting else 0.0
        if self.static_masks is not None:
            if not acting:
                row[self._ms] = self.placeholder_masks[j]  # type: ignore[index]
            elif self.dynamic_masks:
                if isinstance(o, dict) and "action_mask" in o:  # padded by pad_actions already
                    row[self._ms] = self.static_masks[j] * np.asarray(o["action_mask"]).reshape(-1)
                else:  # the env reports masks in infos
                    row[self._ms] = self.env.action_mask(agent)
            else:
                row[self._ms] = self.static_masks[j]

    def _write_placeholder(self, j: int) -> None:
        row = self.rows[j]
        row[: self._d] = 0.0
        row[self._acting] = 0.0
        if self.placeholder_masks is not None:
            row[self._ms] = self.placeholder_masks[j]

    def _end_episode(self, j: int, infos: Any, dones: np.ndarray, truncated: bool, terminal: np.ndarray) -> None:
        """Mark slot ``j`` done with its terminal observation and, for a real agent, its stats."""
        dones[j] = True
        info = dict(infos[j])
        info["terminal_observation"] = terminal
        info["TimeLimit.truncated"] = truncated
        if self.live[j]:
            info["episode"] = {
                "r": float(self.returns[j]),
                "l": self.length,
                "t": round(time.perf_counter() - self.t_start, 6),
                "agent": self.agents[j],
            }
        infos[j] = info
        self.returns[j] = 0.0

    def _team_info(self) -> dict:
        return {
            "r": float(self._agent_returns.sum()),
            "l": self.length,
            "per_agent": dict(zip(self.agents, self._agent_returns.tolist())),
        }

    def _start_stats(self) -> None:
        self.length = 0
        self.t_start = time.perf_counter()
        self.returns[:] = 0.0
        self._agent_returns = np.zeros(len(self.agents))

    def _add_rewards(self, rewards: np.ndarray) -> None:
        self.returns += rewards
        self._agent_returns += rewards

    def _finish_copy(self, dones: np.ndarray, infos: Any) -> None:
        """All agents done: end lingering placeholders, attach team stats, reset the copy."""
        for j in range(len(self.agents)):
            if not dones[j]:
                self._end_episode(j, infos, dones, False, self.rows[j].copy())
        first = dict(infos[0])
        first["team_episode"] = self._team_info()
        infos[0] = first
        reset_infos = self.reset()
        for j, info in enumerate(reset_infos):
            infos[j] = {**infos[j], "reset_info": info}

    # --- API for the vec env -----------------------------------------------------------------------

    def seed(self, base: int | None) -> None:
        """Set the base seed used from the next reset on (episode counter restarts)."""
        self.base_seed = base
        self.episode = 0

    def reset(self, options: dict | None = None) -> list[dict]:
        """Reset the copy; returns one reset-info dict per slot."""
        raise NotImplementedError

    def step(self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, infos: Any) -> None:
        """Apply this copy's slot actions; fill ``rewards``, ``dones``, ``infos`` (length N views)."""
        raise NotImplementedError


class ParallelRunner(CopyRunner):
    """Runner for a ParallelEnv (or a parallelizable AECEnv converted to one)."""

    env: ParallelEnv

    def reset(self, options: dict | None = None) -> list[dict]:
        """Reset with this copy's next seed and write every slot."""
        seed = reset_seed(self.base_seed, self.copy, self.episode)
        self.episode += 1
        obs, env_infos = self.env.reset(seed=seed, options=options)
        if self.static_masks is not None and any("action_mask" in i for i in env_infos.values()):
            self.dynamic_masks = True
        self.live[:] = False
        for a, o in obs.items():
            j = self.index[a]
            self.live[j] = True
            self._write_live(j, a, o, True)
        for dead in np.flatnonzero(~self.live).tolist():
            self._write_placeholder(dead)
        self._start_stats()
        return [env_infos.get(a, {}) for a in self.agents]

    def step(self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, infos: Any) -> None:
        """Step live agents with their slots' actions; dead slots' actions are ignored."""
        env = self.env
        index = self.index
        agents = self.agents
        everyone = bool(self.live.all())
        acting = agents if everyone else list(env.agents)
        if everyone:  # Python ints for discrete actions: cheaper to build, and what envs expect
            act = dict(zip(agents, actions.tolist() if actions.ndim == 1 else actions))
        else:
            act = {a: actions[index[a]] for a in acting}
        obs, rew, term, trunc, env_infos = env.step(act)
        self.length += 1
        if (
            everyone
            and self.encoder.stackable
            and not self.dynamic_masks
            and len(env.agents) == len(agents)
            and not any(term.values())
            and not any(trunc.values())
        ):
            # Fast path (the common step): all agents live before and after, so acting flags and
            # masks are unchanged; write every feature row and reward in one vector operation.
            self.rows[:, : self._d] = np.stack([obs[a] for a in agents]).reshape(len(agents), -1)
            rewards[:] = [rew.get(a, 0.0) for a in agents]
            dones[:] = False
            infos[0 : len(agents)] = [env_infos.get(a) or {} for a in agents]
            self._add_rewards(rewards)
            return
        rewards[:] = 0.0
        dones[:] = False
        for j in range(len(infos)):
            infos[j] = {}
        for a in acting:
            rewards[index[a]] = rew.get(a, 0.0)
        self._add_rewards(rewards)
        still = set(env.agents)
        for a in acting:
            j = index[a]
            infos[j] = env_infos.get(a, {})
            if a in obs:
                self._write_live(j, a, obs[a], True)
            if a in still and not (term.get(a) or trunc.get(a)):
                continue
            truncated = bool(trunc.get(a)) and not term.get(a)
            self._end_episode(j, infos, dones, truncated, self.rows[j].copy())
            self.live[j] = False
            self._write_placeholder(j)
        for a in still:  # agents that (re)appeared: end their placeholder episode
            j = index[a]
            if not self.live[j] and not (term.get(a) or trunc.get(a)):
                self._end_episode(j, infos, dones, False, self.rows[j].copy())
                self.live[j] = True
                self._write_live(j, a, obs[a], True)
        if not still:
            self._finish_copy(dones, infos)


class TurnRunner(CopyRunner):
    """Runner for a turn-based AECEnv: each vec step applies the selected agent's action.

    The other live agents wait: their slots show their current observation with acting flag 0 and
    a one-action mask, and receive the reward their turn-mates' moves gave them.
    """

    env: AECEnv

    def _skip_dead(self) -> None:
        """Step ``None`` for every selected agent that is already done (PettingZoo's dead steps)."""
        env = self.env
        while env.agents:
            sel = env.agent_selection
            if not (env.terminations[sel] or env.truncations[sel]):
                return
            env.step(None)

    def _write_all(self) -> None:
        env = self.env
        sel = env.agent_selection
        for a in env.agents:
            j = self.index[a]
            self.live[j] = True
            self._write_live(j, a, env.observe(a), a == sel)

    def reset(self, options: dict | None = None) -> list[dict]:
        """Reset with this copy's next seed and write every slot."""
        seed = reset_seed(self.base_seed, self.copy, self.episode)
        self.episode += 1
        self.env.reset(seed=seed, options=options)
        if self.static_masks is not None and any("action_mask" in i for i in self.env.infos.values()):
            self.dynamic_masks = True
        self.live[:] = False
        self._skip_dead()
        self._write_all()
        for dead in np.flatnonzero(~self.live).tolist():
            self._write_placeholder(dead)
        self._start_stats()
        return [dict(self.env.infos.get(a, {})) for a in self.agents]

    def step(self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, infos: Any) -> None:
        """Apply the selected agent's action; everyone else waits."""
        env = self.env
        sel = env.agent_selection
        env.step(actions[self.index[sel]])
        self.length += 1
        rewards[:] = 0.0
        dones[:] = False
        for j in range(len(infos)):
            infos[j] = {}
        for a, r in env.rewards.items():
            rewards[self.index[a]] = r
        self._add_rewards(rewards)
        for a in list(env.agents):
            j = self.index[a]
            if env.terminations[a] or env.truncations[a]:
                infos[j] = dict(env.infos.get(a, {}))
                self._write_live(j, a, env.observe(a), False)
                self._end_episode(j, infos, dones, bool(env.truncations[a] and not env.terminations[a]), self.rows[j].copy())
                self.live[j] = False
                self._write_placeholder(j)
        self._skip_dead()
        for a in env.agents:  # agents that appeared mid-episode end their placeholder episode
            j = self.index[a]
            if not self.live[j]:
                self._end_episode(j, infos, dones, False, self.rows[j].copy())
        if not env.agents:
            self._finish_copy(dones, infos)
        else:
            self._write_all()


def discrete_masks(layout: SlotLayout, static: list[np.ndarray | None]) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
    """Float masks per agent (valid actions) and the one-action placeholder masks.

    The placeholder allows each agent's first valid action in every discrete dimension.
    """
    if layout.n_actions == 0:
        return None
    full, single = [], []
    for m in static:
        mask = np.ones(layout.n_actions, np.float32) if m is None else m.astype(np.float32)
        one = np.zeros(layout.n_actions, np.float32)
        start = 0
        for n in layout.action_nvec:
            seg = mask[start : start + n]
            one[start + int(np.argmax(seg > 0))] = 1.0
            start += n
        full.append(mask)
        single.append(one)
    return full, single


def action_nvec(space: spaces.Space) -> tuple[int, ...]:
    """Sizes of the discrete action dimensions of ``space`` (empty for continuous actions)."""
    if isinstance(space, spaces.Discrete):
        return (int(space.n),)
    if isinstance(space, spaces.MultiDiscrete):
        return tuple(int(n) for n in space.nvec.reshape(-1))
    return ()
