"""Level-Based Foraging (lbforaging 2.0) as a PettingZoo ParallelEnv.

Any registered task (``"Foraging-8x8-2p-2f-v3"``, ``"Foraging-2s-10x10-3p-3f-coop-v3"``, grid
tasks such as ``"Foraging-grid-8x8-2p-2f-v3"``) or a custom size, player count and food count.
lbforaging reports its time limit as termination; here it is a truncation, and only "all food
collected" terminates. lbforaging draws (and shuffles) player levels on every reset;
``player_levels`` fixes one level per agent for the whole life of the env, as the SePS and SNP-PS
experiments need.

Example:
    >>> from integrations import lbforaging
    >>> env = lbforaging.parallel_env(  # SNP-PS "LBF1"
    ...     field_size=10, players=6, max_num_food=6,
    ...     player_levels=(1, 1, 1, 2, 2, 2), food_level=3, max_episode_steps=50)
    >>> obs, infos = env.reset(seed=0)
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from integrations._tuple_adapter import TupleEnvAdapter
from integrations._validation import check_bool, check_choice, check_int, check_int_sequence

__all__ = ["LBForagingEnv", "parallel_env", "DEFAULT_TASK"]

DEFAULT_TASK = "Foraging-8x8-2p-2f-v3"
_ENV = "integrations.lbforaging"
_REWARDS = ("individual", "shared")


def _import_foraging_env() -> type:
    try:
        from lbforaging.foraging.environment import ForagingEnv
    except ImportError as err:  # pragma: no cover - lbforaging is a declared extra
        raise ImportError(
            f"{_ENV} needs lbforaging 2.0: pip install 'ps-toolkit[lbforaging]'"
        ) from err
    return ForagingEnv


@functools.cache
def _foraging_class() -> type:
    """lbforaging's ``ForagingEnv`` with optional fixed per-agent levels and a grid-space fix."""
    base = _import_foraging_env()

    class ForagingEnv(base):  # type: ignore[misc, valid-type]
        def __init__(self, *, player_levels: Sequence[int] | None = None, **kwargs: Any) -> None:
            self.fixed_player_levels = None if player_levels is None else tuple(player_levels)
            super().__init__(**kwargs)

        def spawn_players(self, min_player_levels: Any, max_player_levels: Any) -> None:
            # Positions are drawn by lbforaging as usual; fixed levels are then put back in agent
            # order (lbforaging permutes them) before food levels are derived from them.
            super().spawn_players(min_player_levels, max_player_levels)
            if self.fixed_player_levels is not None:
                for player, level in zip(self.players, self.fixed_player_levels):
                    player.level = level

        def _get_observation_space(self) -> spaces.Box:
            # lbforaging 2.0.0 passes shape=(3,) for the (3, 2s+1, 2s+1) grid bounds and fails to
            # build grid tasks at all; the bounds below are its own, with the shape they have.
            if not self._grid_observation:
                return super()._get_observation_space()
            side = 1 + 2 * self.sight
            top_levels = sorted(self.max_player_level)[:3]
            max_food = (
                max(self.max_food_level) if self.max_food_level is not None else sum(top_levels)
            )
            max_agent = max(self.max_player_level) if self._observe_agent_levels else 1
            high = np.stack(
                [np.full((side, side), v, np.float32) for v in (max_agent, max_food, 1.0)]
            )
            return spaces.Box(np.zeros_like(high), high, dtype=np.float32)

    return ForagingEnv


_GRID_ID = re.compile(r"Foraging-grid(?:-(\d+)s)?-(\d+)x(\d+)-(\d+)p-(\d+)f(-coop)?-v3")


def _grid_task_kwargs(task: str) -> dict[str, Any] | None:
    """Kwargs of an ``lbforaging.register_grid_envs`` id, parsed without registering them all.

    Registering every grid id takes seconds; the id spells out all of its arguments.
    """
    match = _GRID_ID.fullmatch(task)
    if match is None or match[2] != match[3]:
        return None
    size, players, food = int(match[2]), int(match[4]), int(match[5])
    return {
        "players": players,
        "min_player_level": 1,
        "max_player_level": 2,
        "field_size": (size, size),
        "min_food_level": 1,
        "max_food_level": None,
        "max_num_food": food,
        "sight": size if match[1] is None else int(match[1]),
        "max_episode_steps": 50,
        "force_coop": match[6] is not None,
        "grid_observation": True,
    }


def _task_kwargs(task: str) -> dict[str, Any]:
    import gymnasium as gym
    import lbforaging  # noqa: F401  (registers the Foraging-* ids)

    if task not in gym.registry:
        grid = _grid_task_kwargs(task)
        if grid is not None:
            return grid
        raise ValueError(
            f"{_ENV}: unknown task {task!r}; use a registered lbforaging id such as "
            f"{DEFAULT_TASK!r}, 'Foraging-2s-10x10-3p-3f-coop-v3' or 'Foraging-grid-8x8-2p-2f-v3', "
            "or task=None with field_size/players/max_num_food"
        )
    spec = gym.spec(task)
    if spec.entry_point != "lbforaging.foraging:ForagingEnv":
        raise ValueError(
            f"{_ENV}: task {task!r} is not an lbforaging task (entry point {spec.entry_point!r})"
        )
    return dict(spec.kwargs)


class LBForagingEnv(TupleEnvAdapter):
    """Level-Based Foraging as a PettingZoo ParallelEnv; build it with :func:`parallel_env`.

    Agents are ``agent_0 .. agent_{n-1}``; each observes lbforaging's Box vector (or grid) and
    acts with ``Discrete(6)`` (none, north, south, west, east, load). An episode terminates when
    all food is collected and is truncated at ``max_episode_steps``.

    Args:
        env: The lbforaging ``ForagingEnv``.
        reward: ``"individual"`` (lbforaging's own) or ``"shared"`` (every agent gets the sum).
        action_mask: Put lbforaging's valid actions in ``info["action_mask"]`` (int8, one entry
            per action) on reset and step.
    """

    def __init__(self, env: Any, reward: str = "individual", action_mask: bool = False) -> None:
        names = [f"agent_{i}" for i in range(len(env.players))]
        super().__init__(env, names, name="lbforaging")
        self.reward = check_choice(_ENV, "reward", reward, _REWARDS)
        self.action_mask = check_bool(_ENV, "action_mask", action_mask)

    @property
    def player_levels(self) -> dict[str, int]:
        """Each agent's level in the current episode."""
        return {a: int(p.level) for a, p in zip(self.possible_agents, self.env.players)}

    def _episode_end(self, done: bool) -> tuple[bool, bool]:
        if not done:
            return False, False
        all_food_collected = int(self.env.field.sum()) == 0
        return all_food_collected, not all_food_collected

    def _rewards(self, rewards: np.ndarray) -> np.ndarray:
        if self.reward == "shared":
            return np.full_like(rewards, rewards.sum())
        return rewards

    def _infos(self) -> dict[str, dict]:
        if not self.action_mask:
            return {a: {} for a in self.agents}
        infos = {}
        for agent, player in zip(self.agents, self.env.players):
            mask = np.zeros(6, dtype=np.int8)
            mask[[action.value for action in self.env._valid_actions[player]]] = 1
            infos[agent] = {"action_mask": mask}
        return infos


def parallel_env(
    task: str | None = None,
    *,
    field_size: int | tuple[int, int] | None = None,
    players: int | None = None,
    max_num_food: int | None = None,
    sight: int | None = None,
    max_episode_steps: int | None = None,
    force_coop: bool | None = None,
    player_levels: Sequence[int] | None = None,
    food_level: int | None = None,
    reward: str = "individual",
    action_mask: bool = False,
    render_mode: str | None = None,
    **lbf_kwargs: Any,
) -> LBForagingEnv:
    """Create a Level-Based Foraging ParallelEnv.

    Every argument left as ``None`` keeps the task's value. With ``task=None`` the base is
    ``"Foraging-8x8-2p-2f-v3"`` (8x8 field, 2 players of level 1-2, 2 foods, 50 steps), except
    that ``sight`` defaults to the whole field.

    Args:
        task: A registered lbforaging id, or ``None``.
        field_size: Side of a square field, or ``(rows, cols)``.
        players: Number of agents.
        max_num_food: Number of food items spawned per episode.
        sight: Observation radius (partial observability when smaller than the field).
        max_episode_steps: Time limit, reported as truncation.
        force_coop: Every food needs all adjacent agents' levels (lbforaging's coop mode).
        player_levels: Fixed level of each agent, kept across resets (one entry per player).
        food_level: Fixed level of every food (sets lbforaging's min and max food level).
        reward: ``"individual"`` or ``"shared"`` (each agent receives the team sum).
        action_mask: Also report valid actions in ``info["action_mask"]``.
        render_mode: ``"human"`` or ``None``.
        **lbf_kwargs: Any other ``ForagingEnv`` argument (``min_player_level``, ``penalty``,
            ``grid_observation``, ``observe_agent_levels``, ``normalize_reward``, ...).

    Raises:
        TypeError: for an unknown keyword or an argument of the wrong type.
        ValueError: for an unknown task or inconsistent values.
    """
    allowed = set(inspect.signature(_import_foraging_env()).parameters)
    unknown = sorted(set(lbf_kwargs) - allowed)
    if unknown:
        raise TypeError(
            f"{_ENV}: unknown argument(s) {unknown}; ForagingEnv accepts {sorted(allowed)}"
        )
    kwargs = _task_kwargs(DEFAULT_TASK if task is None else task)
    if task is None:
        kwargs["sight"] = None  # resolved to the field size below
    kwargs.update(lbf_kwargs)
    if field_size is not None:
        if isinstance(field_size, tuple | list):
            if len(field_size) != 2:
                raise ValueError(
                    f"{_ENV}: field_size must be an int or (rows, cols), got {field_size!r}"
                )
            rows = check_int(_ENV, "field_size[0]", field_size[0], 3)
            cols = check_int(_ENV, "field_size[1]", field_size[1], 3)
        else:
            rows = cols = check_int(_ENV, "field_size", field_size, 3)
        kwargs["field_size"] = (rows, cols)
    if players is not None:
        kwargs["players"] = check_int(_ENV, "players", players, 1)
    if max_num_food is not None:
        kwargs["max_num_food"] = check_int(_ENV, "max_num_food", max_num_food, 1)
    if max_episode_steps is not None:
        kwargs["max_episode_steps"] = check_int(_ENV, "max_episode_steps", max_episode_steps, 1)
    if force_coop is not None:
        kwargs["force_coop"] = check_bool(_ENV, "force_coop", force_coop)
    if sight is not None:
        kwargs["sight"] = check_int(_ENV, "sight", sight, 1)
    elif kwargs["sight"] is None:
        kwargs["sight"] = max(kwargs["field_size"])
    if food_level is not None:
        if {"min_food_level", "max_food_level"} & set(lbf_kwargs):
            raise ValueError(
                f"{_ENV}: give either food_level or min_food_level/max_food_level, not both"
            )
        kwargs["min_food_level"] = kwargs["max_food_level"] = check_int(
            _ENV, "food_level", food_level, 1
        )
    kwargs["render_mode"] = render_mode
    if player_levels is not None:
        if {"min_player_level", "max_player_level"} & set(lbf_kwargs):
            raise ValueError(
                f"{_ENV}: give either player_levels or min_player_level/max_player_level, not both"
            )
        levels = check_int_sequence(
            _ENV, "player_levels", player_levels, 1, length=kwargs["players"]
        )
        kwargs["min_player_level"] = kwargs["max_player_level"] = list(levels)
        kwargs["player_levels"] = levels
    env = _foraging_class()(**kwargs)
    return LBForagingEnv(env, reward=reward, action_mask=action_mask)

