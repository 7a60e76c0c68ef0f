"""Coloured Multi-Robot Warehouse (C-RWARE), the SePS paper's task, built on rware 2.0.

Christianos et al. (2021), "Scaling Multi-Agent RL with Selective Parameter Sharing", section 4.1
and Table 1 (C-RWARE(1-3): 4, 8, 16 agents in 2 colours): robots have different functionalities,
are rewarded (1.0) only for delivering a *requested* shelf of *their own colour* to a goal, and
have different action spaces. The paper gives no further detail; the choices made here are:

* Colours: ``agents_per_colour[c]`` robots of colour ``c`` (named ``colour{c}_{k}``); every shelf
  gets a colour drawn uniformly at every reset from the env's seeded generator.
* Delivery: a requested shelf at a goal counts only when the robot carrying it has the shelf's
  colour. Then the robot gets 1.0 and rware replaces the request as usual. A wrong-colour robot at
  a goal gets nothing and the request stays open.
* Action types (one per colour, ``action_types``), so action padding matters:

  - ``"relative"``: ``Discrete(5)``, rware's own: no-op, forward, turn left, turn right,
    toggle load.
  - ``"absolute"``: ``Discrete(6)``: no-op, north, south, west, east, toggle load; a move first
    faces the robot that way, then drives forward one cell (if the cell is free).

  The same index means different things for the two types (1 is "forward" or "north", 4 is
  "toggle load" or "east").
* Observation: rware's flattened 3x3 (``sensor_range=1``) view, then for each sensor cell the
  colour one-hot of the shelf there (zeros if none), then the colour one-hot of the carried
  shelf. A robot does not observe its own colour.
* rware has no terminal state: the step limit and the inactivity limit are truncations.

Example:
    >>> from integrations import crware
    >>> env = crware.parallel_env(agents_per_colour=(2, 2))   # C-RWARE(1)
    >>> obs, infos = env.reset(seed=0)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from integrations._tuple_adapter import TupleEnvAdapter
from integrations._validation import check_choice, check_int, check_int_sequence
from integrations.rware import DIFFICULTIES, SIZES, task_kwargs

__all__ = ["ACTION_TYPES", "ColouredRwareEnv", "parallel_env"]

_ENV = "integrations.crware"
#: Meaning of each action index, per action type.
ACTION_TYPES: dict[str, tuple[str, ...]] = {
    "relative": ("noop", "forward", "left", "right", "toggle_load"),
    "absolute": ("noop", "north", "south", "west", "east", "toggle_load"),
}
_LAYOUT_KWARGS = (
    "shelf_columns",
    "column_height",
    "shelf_rows",
    "sensor_range",
    "request_queue_size",
    "max_inactivity_steps",
    "max_steps",
    "layout",
)


@functools.cache
def _coloured_warehouse_class() -> type:
    """The rware ``Warehouse`` subclass implementing colours, colour-matched delivery and types."""
    from rware.warehouse import (
        _LAYER_AGENTS,
        _LAYER_SHELFS,
        Action,
        Direction,
        ObservationType,
        RewardType,
        Warehouse,
    )

    absolute_dirs = {1: Direction.UP, 2: Direction.DOWN, 3: Direction.LEFT, 4: Direction.RIGHT}

    class ColouredWarehouse(Warehouse):  # type: ignore[misc, valid-type]
        def __init__(
            self, *, agent_colours: Sequence[int], agent_action_types: Sequence[str], n_colours: int,
            **kwargs: Any,
        ) -> None:
            super().__init__(
                n_agents=len(agent_colours),
                msg_bits=0,
                reward_type=RewardType.INDIVIDUAL,
                observation_type=ObservationType.FLATTENED,
                **kwargs,
            )
            self.n_colours = n_colours
            self.agent_colours = np.asarray(agent_colours, dtype=np.int64)
            self.agent_action_types = tuple(agent_action_types)
            self.shelf_colours = np.zeros(0, dtype=np.int64)
            rware: Any = self  # rware is untyped
            rware_space = rware.observation_space  # rware's flattened Box per agent
            self._base_dim = spaces.flatdim(rware_space[0])
            cells = (1 + 2 * self.sensor_range) ** 2
            dim = self._base_dim + cells * n_colours + n_colours
            self.observation_space = spaces.Tuple(
                tuple(
                    spaces.Box(-np.inf, np.inf, (dim,), np.float32) for _ in agent_colours
                )
            )
            self.action_space = spaces.Tuple(
                tuple(spaces.Discrete(len(ACTION_TYPES[t])) for t in agent_action_types)
            )
            self._defer_obs = False
            self._colour_window: np.ndarray | None = None

        # --- observations -------------------------------------------------------------

        def _make_obs(self, agent: Any) -> Any:
            if self._defer_obs:
                return None
            obs = super()._make_obs(agent)  # fills the first _base_dim entries
            r = self.sensor_range
            assert self._colour_window is not None
            window = self._colour_window[agent.y : agent.y + 2 * r + 1, agent.x : agent.x + 2 * r + 1]
            one_hot = np.eye(self.n_colours + 1, dtype=np.float32)[window.reshape(-1)][:, 1:]
            start = self._base_dim
            obs[start : start + one_hot.size] = one_hot.reshape(-1)
            if agent.carrying_shelf is not None:
                colour = self.shelf_colours[agent.carrying_shelf.id - 1]
                obs[start + one_hot.size + colour] = 1.0
            return obs

        def _all_obs(self) -> tuple[Any, ...]:
            lookup = np.concatenate([[0], self.shelf_colours + 1])
            colour_grid = lookup[self.grid[_LAYER_SHELFS]]
            self._colour_window = np.pad(colour_grid, self.sensor_range)
            return tuple(self._make_obs(agent) for agent in self.agents)

        # --- episode ------------------------------------------------------------------

        def reset(self, seed: int | None = None, options: dict | None = None) -> tuple:
            self._defer_obs = True
            try:
                _, info = super().reset(seed=seed, options=options)
            finally:
                self._defer_obs = False
            self.shelf_colours = self.np_random.integers(0, self.n_colours, len(self.shelfs))
            return self._all_obs(), info

        def step(self, actions: Sequence[int]) -> tuple:
            rware_actions = []
            for agent, action_type, action in zip(self.agents, self.agent_action_types, actions):
                action = int(action)
                if action_type == "absolute":
                    if action in absolute_dirs:
                        agent.dir = absolute_dirs[action]
                        action = Action.FORWARD.value
                    elif action == 5:
                        action = Action.TOGGLE_LOAD.value
                rware_actions.append(action)
            # rware delivers at its goals inside step(); hide them and deliver below instead.
            rware: Any = self  # rware is untyped
            goals, rware.goals = rware.goals, []
            self._defer_obs = True
            try:
                _, _, _, truncated, info = super().step(rware_actions)
            finally:
                rware.goals = goals
                self._defer_obs = False
            rewards = self._deliver()
            if rewards.any():
                self._cur_inactive_steps = 0
            done = bool(
                (self.max_inactivity_steps and self._cur_inactive_steps >= self.max_inactivity_steps)
                or (self.max_steps and self._cur_steps >= self.max_steps)
            )
            return self._all_obs(), list(rewards), done, truncated, info

        def _deliver(self) -> np.ndarray:
            rewards = np.zeros(self.n_agents)
            for x, y in self.goals:
                shelf_id = self.grid[_LAYER_SHELFS, y, x]
                agent_id = self.grid[_LAYER_AGENTS, y, x]
                if not shelf_id or not agent_id:
                    continue
                shelf = self.shelfs[shelf_id - 1]
                if shelf not in self.request_queue:
                    continue
                if self.shelf_colours[shelf_id - 1] != self.agent_colours[agent_id - 1]:
                    continue  # wrong colour: no reward, the request stays open
                candidates = [s for s in self.shelfs if s not in self.request_queue]
                self.request_queue[self.request_queue.index(shelf)] = self.np_random.choice(
                    candidates
                )
                rewards[agent_id - 1] += 1.0
            return rewards

    return ColouredWarehouse


class ColouredRwareEnv(TupleEnvAdapter):
    """C-RWARE as a PettingZoo ParallelEnv; build it with :func:`parallel_env`.

    Attributes:
        agent_colours: Agent name -> colour index.
        agent_action_types: Agent name -> action type (a key of :data:`ACTION_TYPES`).
    """

    def __init__(self, env: Any) -> None:
        counts: dict[int, int] = {}
        names = []
        for colour in env.agent_colours.tolist():
            names.append(f"colour{colour}_{counts.get(colour, 0)}")
            counts[colour] = counts.get(colour, 0) + 1
        super().__init__(env, names, name="crware")
        self.agent_colours = dict(zip(names, env.agent_colours.tolist()))
        self.agent_action_types = dict(zip(names, env.agent_action_types))

    @property
    def shelf_colours(self) -> np.ndarray:
        """Colour of every shelf in the current episode (indexed by rware shelf id - 1)."""
        return self.env.shelf_colours.copy()

    def _episode_end(self, done: bool) -> tuple[bool, bool]:
        return False, done


def parallel_env(
    agents_per_colour: Sequence[int] = (2, 2),
    action_types: Sequence[str] | None = None,
    *,
    size: str = "tiny",
    difficulty: str = "normal",
    max_steps: int = 500,
    render_mode: str | None = None,
    **warehouse_kwargs: Any,
) -> ColouredRwareEnv:
    """Create a C-RWARE ParallelEnv.

    The default is C-RWARE(1): 4 robots in 2 colours of 2, on rware's tiny layout, one open
    request per robot, 500 steps. ``(4, 4)`` and ``(8, 8)`` give C-RWARE(2) and (3).

    Args:
        agents_per_colour: Number of robots of each colour (the number of colours is its length).
        action_types: Action type of each colour; defaults to alternating ``"relative"`` and
            ``"absolute"``.
        size: rware layout: ``"tiny"``, ``"small"``, ``"medium"`` or ``"large"``.
        difficulty: ``"easy"`` (2 open requests per robot), ``"normal"`` (1) or ``"hard"`` (0.5).
        max_steps: Time limit, reported as truncation.
        render_mode: ``"human"``, ``"rgb_array"`` or ``None`` (shelf colours are not drawn).
        **warehouse_kwargs: Layout arguments of ``rware.warehouse.Warehouse``: ``shelf_columns``,
            ``column_height``, ``shelf_rows``, ``sensor_range``, ``request_queue_size``,
            ``max_inactivity_steps``, ``layout``.

    Raises:
        TypeError: for an argument of the wrong type or one C-RWARE fixes (``reward_type``, ...).
        ValueError: for inconsistent values.
    """
    sizes = check_int_sequence(_ENV, "agents_per_colour", agents_per_colour, 1)
    n_colours = len(sizes)
    if action_types is None:
        types = tuple(("relative", "absolute")[c % 2] for c in range(n_colours))
    else:
        if isinstance(action_types, str) or len(action_types) != n_colours:
            raise ValueError(
                f"{_ENV}: action_types must give one type per colour ({n_colours}), got "
                f"{action_types!r}"
            )
        types = tuple(
            check_choice(_ENV, f"action_types[{c}]", t, list(ACTION_TYPES))
            for c, t in enumerate(action_types)
        )
    unknown = sorted(set(warehouse_kwargs) - set(_LAYOUT_KWARGS))
    if unknown:
        raise TypeError(
            f"{_ENV}: unsupported argument(s) {unknown}; C-RWARE fixes rewards, observations and "
            f"messages, and accepts the layout arguments {list(_LAYOUT_KWARGS)}"
        )
    check_choice(_ENV, "size", size, SIZES)
    check_choice(_ENV, "difficulty", difficulty, list(DIFFICULTIES))
    n_agents = sum(sizes)
    kwargs = task_kwargs(f"rware-{size}-{min(n_agents, 19)}ag{DIFFICULTIES[difficulty]}-v2")
    for fixed in ("n_agents", "msg_bits", "reward_type"):
        kwargs.pop(fixed)
    ratio = {"easy": 2.0, "normal": 1.0, "hard": 0.5}[difficulty]
    kwargs["request_queue_size"] = max(1, int(n_agents * ratio))
    kwargs["max_steps"] = check_int(_ENV, "max_steps", max_steps, 1)
    kwargs.update(warehouse_kwargs)
    colours = np.repeat(np.arange(n_colours), sizes).tolist()
    env = _coloured_warehouse_class()(
        agent_colours=colours,
        agent_action_types=[types[c] for c in colours],
        n_colours=n_colours,
        render_mode=render_mode,
        **kwargs,
    )
    return ColouredRwareEnv(env)
