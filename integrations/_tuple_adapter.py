"""A PettingZoo ParallelEnv over a Gymnasium env whose observations and actions are Tuples.

lbforaging 2.0 and rware 2.0 are such envs: one Tuple entry per agent, a list of per-agent rewards,
and a single ``done`` flag that also fires at the time limit (they report it as termination).
:class:`TupleEnvAdapter` maps them to PettingZoo; subclasses decide, through
:meth:`TupleEnvAdapter._episode_end`, which ``done`` is a real termination and which a truncation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv

__all__ = ["TupleEnvAdapter"]


class TupleEnvAdapter(ParallelEnv):
    """Expose a Tuple-spaced multi-agent Gymnasium env as a PettingZoo ParallelEnv.

    Args:
        env: The Gymnasium env; its observation and action spaces must be Tuples with one entry
            per agent.
        agent_names: One name per Tuple entry, in order.
        name: Env name used in ``metadata`` and in error messages.
    """

    metadata: dict[str, Any] = {"name": "tuple_adapter", "render_modes": [], "is_parallelizable": True}

    def __init__(self, env: gym.Env, agent_names: Sequence[str], name: str) -> None:
        obs_space, act_space = env.observation_space, env.action_space
        if not isinstance(obs_space, spaces.Tuple) or not isinstance(act_space, spaces.Tuple):
            raise TypeError(
                f"{name}: the wrapped env must have Tuple observation and action spaces, got "
                f"{obs_space} and {act_space}"
            )
        if not len(obs_space.spaces) == len(act_space.spaces) == len(agent_names):
            raise ValueError(
                f"{name}: {len(agent_names)} agent names for {len(obs_space.spaces)} observation "
                f"and {len(act_space.spaces)} action entries"
            )
        self.env: Any = env
        self.name = name
        self.metadata = {
            "name": name,
            "render_modes": list(env.metadata.get("render_modes", [])),
            "is_parallelizable": True,
        }
        self.render_mode = getattr(env, "render_mode", None)
        self.possible_agents: list[str] = list(agent_names)
        self.agents: list[str] = []
        self._obs_spaces = dict(zip(self.possible_agents, obs_space.spaces))
        self._act_spaces = dict(zip(self.possible_agents, act_space.spaces))

    def observation_space(self, agent: str) -> spaces.Space:
        """The agent's observation space (the same object on every call)."""
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        """The agent's action space (the same object on every call)."""
        return self._act_spaces[agent]

    def reset(
        self, seed: int | None = None, options: dict | None = None
    ) -> tuple[dict[str, Any], dict[str, dict]]:
        """Start an episode; ``seed`` seeds the wrapped env's generator."""
        obs, _ = self.env.reset(seed=seed, options=options)
        self.agents = list(self.possible_agents)
        return dict(zip(self.agents, obs)), self._infos()

    def step(
        self, actions: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, float], dict[str, bool], dict[str, bool], dict[str, dict]]:
        """Step every agent; all agents end together (termination or truncation).

        Raises:
            RuntimeError: if the episode is over (call ``reset``).
            ValueError: if an action is missing or outside the agent's action space.
        """
        if not self.agents:
            raise RuntimeError(f"{self.name}: step() called after the episode ended; call reset()")
        joint = tuple(self._check_action(agent, actions) for agent in self.possible_agents)
        obs, rewards, done, truncated, _ = self.env.step(self._convert_actions(joint))
        terminated, truncated = self._episode_end(bool(done) or bool(truncated))
        agents = self.agents
        rew = self._rewards(np.asarray(rewards, dtype=np.float64))
        obs_d = dict(zip(agents, obs))
        rew_d = {a: float(r) for a, r in zip(agents, rew)}
        term_d = dict.fromkeys(agents, terminated)
        trunc_d = dict.fromkeys(agents, truncated)
        infos = self._infos()
        if terminated or truncated:
            self.agents = []
        return obs_d, rew_d, term_d, trunc_d, infos

    def render(self) -> Any:
        """Render the wrapped env (needs its ``render_mode``)."""
        return self.env.render()

    def close(self) -> None:
        """Close the wrapped env."""
        self.env.close()

    # --- hooks for subclasses -------------------------------------------------------------

    def _episode_end(self, done: bool) -> tuple[bool, bool]:
        """Split the wrapped env's ``done`` into ``(terminated, truncated)``."""
        return done, False

    def _rewards(self, rewards: np.ndarray) -> np.ndarray:
        """Per-agent rewards in ``possible_agents`` order (identity by default)."""
        return rewards

    def _convert_actions(self, joint: tuple[Any, ...]) -> tuple[Any, ...]:
        """Joint action as the wrapped env expects it (identity by default)."""
        return joint

    def _infos(self) -> dict[str, dict]:
        """Per-agent info dicts (empty by default)."""
        return {a: {} for a in self.agents}

    # --- helpers --------------------------------------------------------------------------

    def _check_action(self, agent: str, actions: dict[str, Any]) -> Any:
        if agent not in actions:
            raise ValueError(
                f"{self.name}: no action for live agent {agent!r}; step() needs one action per "
                f"agent in env.agents ({self.agents})"
            )
        action = actions[agent]
        space = self._act_spaces[agent]
        if not space.contains(action):
            raise ValueError(
                f"{self.name}: action {action!r} of agent {agent!r} is outside its action space "
                f"{space}"
            )
        return action
