"""One copy of a PettingZoo env stepped into its slots: what a slot emits, episode ends, env checks.

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

What the env returns is checked where it is cheap (on reset, on steps where agents come or go, and
vectorised on every step): an env that breaks the PettingZoo contract raises
:class:`~ps_wrappers.errors.EnvContractError` naming the env, the agent, the value and the fix,
instead of training on a wrong row or looping for ever. The subclasses
(:mod:`ps_wrappers.parallel_runner`, :mod:`ps_wrappers.turn_runner`) do the stepping.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ps_wrappers.errors import EnvContractError
from ps_wrappers.slot_writer import SlotBuffers, SlotSpec, SlotWriter

__all__ = ["CopyRunner", "env_name", "reset_runners", "reset_seed", "step_runners"]


def reset_seed(base: int | None, copy: int, episode: int) -> int | None:
    """The seed of a copy's ``episode``-th reset since :meth:`CopyRunner.seed`.

    Only the first reset is seeded (``base + copy``); later auto-resets pass ``None`` so the env's
    own generator carries on deterministically (Gymnasium's convention), which keeps rollouts
    reproducible without paying for a fresh generator every episode.
    """
    if base is None or episode > 0:
        return None
    return int(base) + int(copy)


def env_name(env: Any) -> str:
    """A short name of a (wrapped) env for error messages: its metadata name, else its class."""
    inner = getattr(env, "unwrapped", env)
    name = getattr(inner, "metadata", {}).get("name") if isinstance(getattr(inner, "metadata", None), dict) else None
    return str(name or type(inner).__name__)


class CopyRunner:
    """Shared state, episode bookkeeping and env checks of one env copy."""

    def __init__(self, env: Any, copy: int, spec: SlotSpec, buffers: SlotBuffers) -> None:
        """Bind the copy to its rows ``buffers`` (views of the vec env's observation buffers)."""
        self.env = env
        self.copy = copy
        self.spec = spec
        self.agents = list(spec.agents)
        self.n = len(self.agents)
        self.index = {a: j for j, a in enumerate(self.agents)}
        self.buffers = buffers
        self.writer = SlotWriter(spec, buffers)
        self.live = np.zeros(self.n, dtype=bool)
        self.returns = np.zeros(self.n, dtype=np.float64)
        self._agent_returns = np.zeros(self.n, dtype=np.float64)
        self.base_seed: int | None = None
        self.episode = 0
        self.length = 0
        self.t_start = time.perf_counter()
        buffers.set_ids(slice(None), slice(None))
        self.name = env_name(env)

    # --- env contract --------------------------------------------------------------------------------

    def contract(self, what: str) -> EnvContractError:
        """An :class:`EnvContractError` naming this env."""
        return EnvContractError(f"make_vec_env: the environment {self.name!r} (copy {self.copy}) {what}")

    def slots_of(self, agents: list, what: str) -> list[int]:
        """Slot indices of ``agents``, refusing any that is not in ``possible_agents``."""
        try:
            return [self.index[a] for a in agents]
        except (KeyError, TypeError):
            bad = next(a for a in agents if not _hashable(a) or a not in self.index)
            raise self.contract(
                f"{what} {bad!r}, which is not in its possible_agents {self.agents}; list every agent "
                "that can ever appear in possible_agents"
            ) from None

    def write_rewards(self, rewards: np.ndarray, rows: slice | list[int], acting: list, rew: Any, live: set | None = None) -> None:
        """Write the acting agents' rewards into ``rewards[rows]``, checking every value.

        Rewards must be finite real numbers, one per acting agent; a reward for an agent that did
        not act is refused unless it is 0 (some envs report 0 for every possible agent).
        """
        if not isinstance(rew, dict):
            raise self.contract(f"returned rewards {rew!r}; step must return a dict agent -> reward")
        try:
            values = [rew[a] for a in acting]
        except KeyError:
            missing = next(a for a in acting if a not in rew)
            raise self.contract(f"returned no reward for the live agent {missing!r}; give every acting agent a reward") from None
        try:
            # A full slice refuses arrays and strings; an index list (some agents dead) may take a
            # 1-element array, so that case goes through np.asarray and a shape check.
            if isinstance(rows, slice):
                rewards[rows] = values
            else:
                array = np.asarray(values)
                if array.shape != (len(acting),) or array.dtype.kind not in "biuf":
                    raise ValueError
                rewards[rows] = array
            finite = math.isfinite(sum(values))  # None, NaN and inf fail here, in plain Python
        except (TypeError, ValueError):
            finite = False
        if not finite:
            self._bad_reward(acting, rew)
        if len(rew) != len(acting):
            live = set(acting) if live is None else live
            for a, r in rew.items():
                if a not in live and (not isinstance(r, numbers.Real) or r != 0):
                    raise self.contract(
                        f"returned the reward {r!r} for agent {a!r}, which did not act this step (it was "
                        "not in env.agents); rewards belong to the agents that acted"
                    )

    def _bad_reward(self, acting: list, rew: dict) -> None:
        for a in acting:
            r = rew[a]
            if isinstance(r, np.ndarray) and r.size == 1:
                fix = f"return a scalar, e.g. float(r[0]), not the array {r!r}"
            elif not isinstance(r, (numbers.Real, np.number)) or isinstance(r, np.ndarray):
                fix = f"return a real number, not {r!r} ({type(r).__name__})"
            elif not np.isfinite(float(r)):
                fix = "return a finite number; NaN or inf rewards poison every update"
            else:
                continue
            raise self.contract(f"returned the reward {r!r} for agent {a!r}: {fix}")

    def observations_of(self, obs: Any, agents: list) -> list:
        """``[obs[a] for a in agents]``, refusing a missing observation by name."""
        try:
            return [obs[a] for a in agents]
        except (KeyError, TypeError):
            if not isinstance(obs, dict):
                raise self.contract(f"returned observations {obs!r}; expected a dict agent -> observation") from None
            missing = next(a for a in agents if a not in obs)
            raise self.contract(
                f"returned no observation for agent {missing!r}; every agent that acted this step or is "
                "in env.agents needs one (for an agent that just terminated, its terminal observation)"
            ) from None

    # --- episodes ------------------------------------------------------------------------------------

    def end_episode(self, j: int, infos: Any, dones: np.ndarray, truncated: bool, terminal: Any) -> None:
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

    def start_stats(self) -> None:
        """Restart the episode statistics (after a reset)."""
        self.length = 0
        self.t_start = time.perf_counter()
        self.returns[:] = 0.0
        self._agent_returns = np.zeros(self.n)

    def add_rewards(self, rewards: np.ndarray) -> None:
        """Accumulate one step's rewards into the agents' and the team's returns."""
        self.returns += rewards
        self._agent_returns += rewards

    def finish_copy(self, dones: np.ndarray, infos: Any) -> None:
        """All agents done: end lingering placeholders, attach team stats, reset the copy."""
        for j in range(self.n):
            if not dones[j]:
                self.end_episode(j, infos, dones, False, self.buffers.row(j))
        first = dict(infos[0])
        first["team_episode"] = {
            "r": float(self._agent_returns.sum()),
            "l": self.length,
            "per_agent": dict(zip(self.agents, self._agent_returns.tolist())),
        }
        infos[0] = first
        reset_infos = self.reset()
        for j, info in enumerate(reset_infos):
            infos[j] = {**infos[j], "reset_info": info}

    # --- API for the vec env -------------------------------------------------------------------------

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


def _hashable(x: Any) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


def reset_runners(runners: Sequence[CopyRunner], seeds: Sequence[int | None], options: Sequence[dict]) -> list[dict]:
    """Reset each runner (seeding it first when its seed is given); returns per-slot reset infos."""
    infos: list[dict] = []
    for runner, seed, opts in zip(runners, seeds, options):
        if seed is not None:
            runner.seed(seed)
        infos.extend(runner.reset(options=opts or None))
    return infos


def step_runners(runners: Sequence[CopyRunner], actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray, infos: list[dict]) -> None:
    """Step each runner on its block of slots, writing rewards, dones and infos in place."""
    for c, runner in enumerate(runners):
        n = runner.n
        s = slice(c * n, (c + 1) * n)
        runner.step(actions[s], rewards[s], dones[s], _ListView(infos, s))


class _ListView:
    """A list slice that writes through to the underlying list."""

    __slots__ = ("_data", "_start", "_len")

    def __init__(self, data: list, s: slice) -> None:
        self._data, self._start, self._len = data, s.start, s.stop - s.start

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, j: int) -> Any:
        return self._data[self._start + j]

    def __setitem__(self, j: int | slice, value: Any) -> None:
        if isinstance(j, slice):
            start, stop, _ = j.indices(self._len)
            self._data[self._start + start : self._start + stop] = value
        else:
            self._data[self._start + j] = value
