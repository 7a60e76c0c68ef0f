"""A stand-in for StarCraft SMAC's ``StarCraft2Env``, for testing without StarCraft II.

StarCraft II cannot be installed everywhere (CI, laptops); :class:`FakeStarCraft2Env` reproduces
the interface and conventions of ``smac.env.StarCraft2Env`` (oxwhirl/smac) that
:mod:`integrations.smac` relies on, with a tiny deterministic numpy battle instead of the game:

* ``StarCraft2Env(map_name=..., seed=..., continuing_episode=..., reward_*=...)``; the seed is
  fixed at construction, as SMAC passes it to the game when it is launched.
* ``reset() -> (obs, state)``, ``step(actions) -> (reward, terminated, info)`` with
  ``info["battle_won"]``, ``info["dead_allies"]``, ``info["dead_enemies"]`` and, only when
  ``continuing_episode=True``, ``info["episode_limit"]`` at the time limit (as SMAC does).
* ``get_obs()``, ``get_obs_agent(i)``, ``get_state()``, ``get_avail_actions()``,
  ``get_avail_agent_actions(i)``, ``get_env_info()`` (``n_agents``, ``n_actions``, ``obs_shape``,
  ``state_shape``, ``episode_limit``), ``get_total_actions()``, ``close()``.
* Actions: 0 no-op (available **only** to dead units), 1 stop, 2-5 move north/south/east/west,
  ``6 + j`` attack enemy ``j`` (alive and within shooting range). A dead unit's observation is
  all zeros and its only available action is 0. An unavailable action raises ``AssertionError``
  as SMAC's ``get_agent_action`` does.
* Observation layout of SMAC with ``obs_all_health=True`` and no unit-type bits: move features
  (4), per enemy (available, distance, dx, dy, health), per ally (visible, distance, dx, dy,
  health), own health; all relative values divided by the sight range.
* Reward: SMAC's default shaped reward (damage dealt + 10 per kill + 200 for a win, only
  positive), scaled so the maximum episode reward is 20.

The battle itself (marines on an open 32x32 map; enemies walk to the nearest ally and shoot) is
not StarCraft: use it to test plumbing (spaces, masks, deaths, time limits), not to benchmark
learning.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["FakeStarCraft2Env", "MAPS"]

#: map name -> (n_agents, n_enemies, episode_limit), as in SMAC's map registry.
MAPS: dict[str, tuple[int, int, int]] = {
    "3m": (3, 3, 60),
    "8m": (8, 8, 120),
    "5m_vs_6m": (5, 6, 70),
    "2s3z": (5, 5, 120),
    "MMM2": (10, 12, 180),
}

_N_NO_ATTACK = 6
_SIGHT, _SHOOT, _MOVE = 9.0, 6.0, 2.0
_HEALTH, _DAMAGE, _MAP = 45.0, 6.0, 32.0
_DIRS = np.array([[0.0, 1.0], [0.0, -1.0], [1.0, 0.0], [-1.0, 0.0]])  # N, S, E, W


class FakeStarCraft2Env:
    """Deterministic stand-in for ``smac.env.StarCraft2Env`` (see the module docstring).

    Args:
        map_name: A key of :data:`MAPS`.
        seed: Seed of the start positions (fixed for the env's lifetime, as in SMAC).
        continuing_episode: Report ``info["episode_limit"]`` at the time limit.
        reward_death_value: Reward per enemy killed.
        reward_win: Reward for winning.
        reward_scale: Scale rewards so the maximum episode reward is ``reward_scale_rate``.
        reward_scale_rate: See ``reward_scale``.
        episode_limit: Override the map's time limit (stub only, for tests).
        **kwargs: Other ``StarCraft2Env`` arguments are accepted and ignored.
    """

    def __init__(
        self,
        map_name: str = "3m",
        seed: int | None = None,
        continuing_episode: bool = False,
        reward_death_value: float = 10.0,
        reward_win: float = 200.0,
        reward_scale: bool = True,
        reward_scale_rate: float = 20.0,
        episode_limit: int | None = None,
        **kwargs: Any,
    ) -> None:
        if map_name not in MAPS:
            raise ValueError(
                f"FakeStarCraft2Env: unknown map_name {map_name!r}; the stand-in knows {sorted(MAPS)}"
            )
        self.map_name = map_name
        self.n_agents, self.n_enemies, limit = MAPS[map_name]
        self.episode_limit = limit if episode_limit is None else int(episode_limit)
        self.n_actions = _N_NO_ATTACK + self.n_enemies
        self.continuing_episode = continuing_episode
        self.reward_death_value = reward_death_value
        self.reward_win = reward_win
        self.reward_scale = reward_scale
        self.reward_scale_rate = reward_scale_rate
        self.max_reward = self.n_enemies * reward_death_value + reward_win
        self._seed = seed
        self._rng = np.random.default_rng(seed)
        self.ally_pos = np.zeros((self.n_agents, 2))
        self.enemy_pos = np.zeros((self.n_enemies, 2))
        self.ally_health = np.zeros(self.n_agents)
        self.enemy_health = np.zeros(self.n_enemies)
        self.received_actions: list[list[int]] = []
        self._episode_steps = 0
        self.closed = False

    # --- SMAC API ---------------------------------------------------------------------------

    def get_env_info(self) -> dict[str, int]:
        """Sizes of the task, as SMAC's ``get_env_info``."""
        return {
            "state_shape": self.get_state_size(),
            "obs_shape": self.get_obs_size(),
            "n_actions": self.n_actions,
            "n_agents": self.n_agents,
            "episode_limit": self.episode_limit,
        }

    def get_obs_size(self) -> int:
        """Length of one agent's observation."""
        return 4 + 5 * self.n_enemies + 5 * (self.n_agents - 1) + 1

    def get_state_size(self) -> int:
        """Length of the global state."""
        return 3 * (self.n_agents + self.n_enemies)

    def get_total_actions(self) -> int:
        """Number of actions of every agent."""
        return self.n_actions

    def seed(self) -> int | None:
        """The seed given at construction."""
        return self._seed

    def reset(self) -> tuple[list[np.ndarray], np.ndarray]:
        """Start a battle: allies on the left, enemies on the right. Returns (obs, state)."""
        self._episode_steps = 0
        jitter = self._rng.uniform(-1.0, 1.0, (self.n_agents + self.n_enemies, 2))
        self.ally_pos = np.stack([np.full(self.n_agents, 12.0), 16.0 + np.arange(self.n_agents) - self.n_agents / 2], 1)
        self.enemy_pos = np.stack([np.full(self.n_enemies, 20.0), 16.0 + np.arange(self.n_enemies) - self.n_enemies / 2], 1)
        self.ally_pos += jitter[: self.n_agents]
        self.enemy_pos += jitter[self.n_agents :]
        self.ally_health = np.full(self.n_agents, _HEALTH)
        self.enemy_health = np.full(self.n_enemies, _HEALTH)
        self.received_actions = []
        return self.get_obs(), self.get_state()

    def get_avail_agent_actions(self, agent_id: int) -> list[int]:
        """SMAC's availability vector: only no-op for dead units."""
        avail = [0] * self.n_actions
        if self.ally_health[agent_id] <= 0:
            avail[0] = 1
            return avail
        avail[1] = 1
        pos = self.ally_pos[agent_id]
        for d, step in enumerate(_DIRS):
            target = pos + step * _MOVE / 2
            avail[2 + d] = int(bool(np.all((target >= 0) & (target < _MAP))))
        dist = np.linalg.norm(self.enemy_pos - pos, axis=1)
        for j in np.flatnonzero((self.enemy_health > 0) & (dist <= _SHOOT)):
            avail[_N_NO_ATTACK + j] = 1
        return avail

    def get_avail_actions(self) -> list[list[int]]:
        """Availability vectors of all agents."""
        return [self.get_avail_agent_actions(i) for i in range(self.n_agents)]

    def get_obs_agent(self, agent_id: int) -> np.ndarray:
        """One agent's observation (all zeros when dead)."""
        obs = np.zeros(self.get_obs_size(), dtype=np.float32)
        if self.ally_health[agent_id] <= 0:
            return obs
        avail = self.get_avail_agent_actions(agent_id)
        pos = self.ally_pos[agent_id]
        obs[:4] = avail[2:6]
        i = 4
        for j in range(self.n_enemies):
            delta = self.enemy_pos[j] - pos
            dist = float(np.linalg.norm(delta))
            if dist < _SIGHT and self.enemy_health[j] > 0:
                obs[i : i + 5] = (avail[_N_NO_ATTACK + j], dist / _SIGHT, *(delta / _SIGHT), self.enemy_health[j] / _HEALTH)
            i += 5
        for k in range(self.n_agents):
            if k == agent_id:
                continue
            delta = self.ally_pos[k] - pos
            dist = float(np.linalg.norm(delta))
            if dist < _SIGHT and self.ally_health[k] > 0:
                obs[i : i + 5] = (1.0, dist / _SIGHT, *(delta / _SIGHT), self.ally_health[k] / _HEALTH)
            i += 5
        obs[i] = self.ally_health[agent_id] / _HEALTH
        return obs

    def get_obs(self) -> list[np.ndarray]:
        """Observations of all agents."""
        return [self.get_obs_agent(i) for i in range(self.n_agents)]

    def get_state(self) -> np.ndarray:
        """Global state: health and position of every unit, normalised."""
        units = [
            (self.ally_health, self.ally_pos),
            (self.enemy_health, self.enemy_pos),
        ]
        parts = [np.concatenate([(h / _HEALTH)[:, None], p / _MAP], 1).reshape(-1) for h, p in units]
        return np.concatenate(parts).astype(np.float32)

    def step(self, actions: Any) -> tuple[float, bool, dict[str, Any]]:
        """One step of the battle: ``(reward, terminated, info)`` as SMAC returns them."""
        actions = [int(a) for a in actions]
        for a_id, action in enumerate(actions):
            avail = self.get_avail_agent_actions(a_id)
            if not avail[action]:
                raise AssertionError(f"Agent {a_id} cannot perform action {action}")
        self.received_actions.append(actions)
        enemy_before = self.enemy_health.copy()
        for a_id, action in enumerate(actions):
            if 2 <= action < _N_NO_ATTACK:
                self.ally_pos[a_id] += _DIRS[action - 2] * _MOVE / 2
            elif action >= _N_NO_ATTACK:
                j = action - _N_NO_ATTACK
                self.enemy_health[j] = max(0.0, self.enemy_health[j] - _DAMAGE)
        self._enemies_act()
        self._episode_steps += 1
        dealt = float((enemy_before - self.enemy_health).sum())
        kills = int(((enemy_before > 0) & (self.enemy_health <= 0)).sum())
        reward = dealt + self.reward_death_value * kills
        info: dict[str, Any] = {"battle_won": False}
        terminated = False
        if not (self.enemy_health > 0).any():
            terminated = True
            info["battle_won"] = True
            reward += self.reward_win
        elif not (self.ally_health > 0).any():
            terminated = True
        elif self._episode_steps >= self.episode_limit:
            terminated = True
            if self.continuing_episode:
                info["episode_limit"] = True
        info["dead_allies"] = int((self.ally_health <= 0).sum())
        info["dead_enemies"] = int((self.enemy_health <= 0).sum())
        if self.reward_scale:
            reward /= self.max_reward / self.reward_scale_rate
        return reward, terminated, info

    def _enemies_act(self) -> None:
        alive = np.flatnonzero(self.ally_health > 0)
        if alive.size == 0:
            return
        for j in np.flatnonzero(self.enemy_health > 0):
            dist = np.linalg.norm(self.ally_pos[alive] - self.enemy_pos[j], axis=1)
            target = alive[int(np.argmin(dist))]
            if dist.min() <= _SHOOT:
                self.ally_health[target] = max(0.0, self.ally_health[target] - _DAMAGE)
            else:
                delta = self.ally_pos[target] - self.enemy_pos[j]
                self.enemy_pos[j] += delta / np.linalg.norm(delta) * _MOVE / 2

    def close(self) -> None:
        """Release the (imaginary) game."""
        self.closed = True
