"""StarCraft Multi-Agent Challenge (SMAC, oxwhirl/smac) as a PettingZoo ParallelEnv.

An adapter over SMAC's ``StarCraft2Env`` API. SMAC is imported only when an env is created, and a
missing SMAC raises an ``ImportError`` that says how to install it. (The PyPI package ``smac`` is
SMAC3, a hyperparameter optimiser, not this.) StarCraft II itself cannot be installed everywhere;
pass ``env_factory=integrations.smac_stub.FakeStarCraft2Env`` to run the adapter against a
faithful stand-in of the ``StarCraft2Env`` interface (that is how our tests run).

* Agents ``agent_0 .. agent_{n-1}``; ``Discrete(n_actions)`` actions (0 no-op, 1 stop, 2-5 move,
  ``6 + j`` attack / heal target ``j``).
* Observations are Dicts: ``"observation"`` (SMAC's ``get_obs_agent``, float32) and
  ``"action_mask"`` (SMAC's ``get_avail_agent_actions``, int8). An action outside the mask
  raises ``ValueError`` before it reaches StarCraft.
* Reward: SMAC's team reward, given to every agent alive at the start of the step.
* Death: a unit that dies terminates (PettingZoo convention). Its last observation is SMAC's
  all-zero one with only the no-op allowed; it then leaves ``env.agents`` and the adapter sends
  SMAC the no-op for it on every later step. SMAC marks a unit dead by making no-op (0) its only
  available action; the adapter uses exactly that signal.
* Episode end: a won, lost or drawn battle is a termination. SMAC also ends the episode at its
  time limit with ``terminated=True``; the adapter reports that as a **truncation** of the agents
  still alive (detected from ``info["episode_limit"]``, or from the step count reaching
  ``episode_limit`` with the battle neither won nor lost). SMAC's connection-error restart
  (an empty ``info``) is a truncation too.
* Seeding: SMAC seeds the game when it is launched. ``reset(seed=s)`` before the first episode
  creates the game with ``seed=s``. Later seeds either relaunch StarCraft II with the new seed
  (``reseed="relaunch"``: exact, but relaunching takes seconds) or are ignored with a one-time
  warning (``reseed="first"``, the default: the game's own generator carries on).
* ``state()`` returns SMAC's global state (``state_space`` describes it).

Example:
    >>> from integrations import smac
    >>> from integrations.smac_stub import FakeStarCraft2Env
    >>> env = smac.parallel_env("3m", env_factory=FakeStarCraft2Env)
    >>> obs, infos = env.reset(seed=0)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv

from integrations._validation import check_choice, check_seed

__all__ = ["SMACEnv", "parallel_env", "import_starcraft2env"]

_ENV = "integrations.smac"
_RESEED = ("first", "relaunch")


def import_starcraft2env() -> Callable[..., Any]:
    """Return ``smac.env.StarCraft2Env``.

    Raises:
        ImportError: when StarCraft SMAC is not installed, with installation instructions.
    """
    try:
        from smac.env import StarCraft2Env
    except ImportError as err:
        raise ImportError(
            f"{_ENV} needs StarCraft SMAC (oxwhirl/smac) and StarCraft II. Install SMAC with "
            "`pip install git+https://github.com/oxwhirl/smac.git` and StarCraft II as its "
            "README explains. Note: the PyPI package `smac` is SMAC3, a hyperparameter "
            "optimiser, not StarCraft SMAC. To test without StarCraft II, pass "
            "env_factory=integrations.smac_stub.FakeStarCraft2Env."
        ) from err
    return StarCraft2Env


class SMACEnv(ParallelEnv):
    """A SMAC ``StarCraft2Env`` as a PettingZoo ParallelEnv; build it with :func:`parallel_env`.

    Args:
        env_factory: Callable creating a ``StarCraft2Env`` (or a stand-in) from keyword arguments.
        env_kwargs: Keyword arguments for ``env_factory`` (``map_name`` etc., without ``seed``).
        seed: Seed of the first game (``None``: SMAC's default).
        reseed: ``"first"`` or ``"relaunch"``; see the module docstring.
    """

    metadata: dict[str, Any] = {"name": "smac", "render_modes": [], "is_parallelizable": True}

    def __init__(
        self,
        env_factory: Callable[..., Any],
        env_kwargs: dict[str, Any],
        seed: int | None = None,
        reseed: str = "first",
    ) -> None:
        self.env_factory = env_factory
        self.env_kwargs = dict(env_kwargs)
        self.reseed = check_choice(_ENV, "reseed", reseed, _RESEED)
        self.render_mode = None
        self._seed = check_seed(_ENV, seed)
        self.env = env_factory(seed=self._seed, **self.env_kwargs)
        self._launched = False
        self._warned_seed = False
        info = self.env.get_env_info()
        self.n_agents = int(info["n_agents"])
        self.n_actions = int(info["n_actions"])
        self.episode_limit = int(info["episode_limit"])
        self.possible_agents = [f"agent_{i}" for i in range(self.n_agents)]
        self.agents: list[str] = []
        obs_space = spaces.Dict(
            {
                "observation": spaces.Box(-np.inf, np.inf, (int(info["obs_shape"]),), np.float32),
                "action_mask": spaces.Box(0, 1, (self.n_actions,), np.int8),
            }
        )
        act_space: spaces.Discrete = spaces.Discrete(self.n_actions)
        self._obs_spaces = dict.fromkeys(self.possible_agents, obs_space)
        self._act_spaces = dict.fromkeys(self.possible_agents, act_space)
        self.state_space = spaces.Box(-np.inf, np.inf, (int(info["state_shape"]),), np.float32)
        self._masks = np.zeros((self.n_agents, self.n_actions), np.int8)
        self._t = 0

    def observation_space(self, agent: str) -> spaces.Space:
        """``Dict(observation=Box, action_mask=Box(0, 1, int8))``."""
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        """``Discrete(n_actions)``."""
        return self._act_spaces[agent]

    def state(self) -> np.ndarray:
        """SMAC's global state."""
        return np.asarray(self.env.get_state(), dtype=np.float32)

    def _observe(self) -> dict[str, dict[str, np.ndarray]]:
        obs = self.env.get_obs()
        self._masks = np.asarray(self.env.get_avail_actions(), dtype=np.int8)
        return {
            agent: {
                "observation": np.asarray(obs[i], dtype=np.float32),
                "action_mask": self._masks[i].copy(),
            }
            for i, agent in enumerate(self.possible_agents)
        }

    def _apply_seed(self, seed: int | None) -> None:
        if seed is None or (seed == self._seed and not self._launched):
            return
        if not self._launched or self.reseed == "relaunch":
            self.env.close()
            self._seed = seed
            self.env = self.env_factory(seed=seed, **self.env_kwargs)
            self._launched = False
        elif not self._warned_seed:
            self._warned_seed = True
            warnings.warn(
                f"{_ENV}: StarCraft II was launched with seed {self._seed}; reset(seed={seed}) "
                "cannot reseed a running game, so later seeds are ignored. Pass "
                "reseed='relaunch' to restart the game on every new seed (slow).",
                stacklevel=3,
            )

    def reset(
        self, seed: int | None = None, options: dict | None = None
    ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, dict]]:
        """Start a battle (launching or relaunching StarCraft II when needed)."""
        self._apply_seed(check_seed(_ENV, seed))
        self.env.reset()
        self._launched = True
        self._t = 0
        self.agents = list(self.possible_agents)
        obs = self._observe()
        return obs, {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Send the live agents' actions (no-op for dead ones) and advance the battle.

        Raises:
            RuntimeError: if the episode is over.
            ValueError: for a missing action or one the agent's action mask forbids.
        """
        if not self.agents:
            raise RuntimeError(f"{_ENV}: step() called after the episode ended; call reset()")
        joint = [0] * self.n_agents
        for agent in self.agents:
            i = self.possible_agents.index(agent)
            if agent not in actions:
                raise ValueError(
                    f"{_ENV}: no action for live agent {agent!r}; step() needs one action per "
                    "agent in env.agents"
                )
            action = actions[agent]
            if not self._act_spaces[agent].contains(action) or not self._masks[i][int(action)]:
                raise ValueError(
                    f"{_ENV}: action {action!r} of agent {agent!r} is not available; its action "
                    f"mask allows {np.flatnonzero(self._masks[i]).tolist()} (sample inside "
                    "obs[agent]['action_mask'])"
                )
            joint[i] = int(action)
        reward, terminated, info = self.env.step(joint)
        self._t += 1
        obs = self._observe()
        dead = self._masks[:, 0] == 1  # SMAC: no-op is available only to dead units
        timeout = bool(terminated) and (
            bool(info.get("episode_limit", False))
            or "battle_won" not in info
            or (not info["battle_won"] and self._t >= self.episode_limit and not dead.all())
        )
        agents = self.agents
        rewards = dict.fromkeys(agents, float(reward))
        terms: dict[str, bool] = {}
        truncs: dict[str, bool] = {}
        for agent in agents:
            died = bool(dead[self.possible_agents.index(agent)])
            terms[agent] = died or (bool(terminated) and not timeout)
            truncs[agent] = timeout and not terms[agent]
        infos = {a: dict(info) for a in agents}
        self.agents = [a for a in agents if not (terms[a] or truncs[a])]
        return {a: obs[a] for a in agents}, rewards, terms, truncs, infos

    def close(self) -> None:
        """Close the game."""
        self.env.close()


def parallel_env(
    map_name: str = "3m",
    *,
    seed: int | None = None,
    reseed: str = "first",
    env_factory: Callable[..., Any] | None = None,
    **sc2_kwargs: Any,
) -> SMACEnv:
    """Create a SMAC ParallelEnv.

    Args:
        map_name: SMAC map (``"3m"``, ``"8m"``, ``"MMM2"``, ...).
        seed: Seed of the first game.
        reseed: ``"first"`` (later seeds ignored, with a warning) or ``"relaunch"``.
        env_factory: Creates the ``StarCraft2Env``; default ``smac.env.StarCraft2Env``. Pass
            ``integrations.smac_stub.FakeStarCraft2Env`` to run without StarCraft II.
        **sc2_kwargs: Other ``StarCraft2Env`` arguments (``difficulty``, ``reward_sparse``, ...).

    Raises:
        ImportError: when StarCraft SMAC is not installed and no ``env_factory`` is given.
    """
    factory = import_starcraft2env() if env_factory is None else env_factory
    return SMACEnv(factory, {"map_name": map_name, **sc2_kwargs}, seed=seed, reseed=reseed)
