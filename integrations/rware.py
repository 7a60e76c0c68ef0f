"""Multi-Robot Warehouse (rware 2.0) as a PettingZoo ParallelEnv.

Every registered task works (``"rware-tiny-2ag-v2"``, ``"rware-small-4ag-hard-v2"``, the image
and custom-height ids of rware's ``image_registration`` / ``full_registration``), as do the
size / difficulty shorthands. rware has no terminal state: its step limit (``max_steps``) and its
optional inactivity limit end the episode as a truncation, never as a termination.

Example:
    >>> from integrations import rware
    >>> env = rware.parallel_env(size="tiny", n_agents=2, difficulty="easy")
    >>> obs, infos = env.reset(seed=0)
"""

from __future__ import annotations

from typing import Any

from integrations._tuple_adapter import TupleEnvAdapter
from integrations._validation import check_choice, check_int

__all__ = ["RwareEnv", "parallel_env", "SIZES", "DIFFICULTIES"]

_ENV = "integrations.rware"
SIZES = ("tiny", "small", "medium", "large")
DIFFICULTIES = {"easy": "-easy", "normal": "", "hard": "-hard"}


def _import_rware() -> Any:
    try:
        import rware
    except ImportError as err:  # pragma: no cover - rware is a declared extra
        raise ImportError(f"{_ENV} needs rware 2.0: pip install 'ps-toolkit[rware]'") from err
    return rware


def task_kwargs(task: str) -> dict[str, Any]:
    """The ``Warehouse`` constructor arguments of a registered rware task id.

    Raises:
        ValueError: if ``task`` is not a registered rware id.
    """
    import gymnasium as gym

    rware = _import_rware()
    if task not in gym.registry and task.startswith("rware-img"):
        rware.image_registration()
    if task not in gym.registry:
        raise ValueError(
            f"{_ENV}: unknown task {task!r}; use a registered rware id such as "
            "'rware-tiny-2ag-v2' or 'rware-img-small-4ag-hard-v2', or task=None with "
            "size/n_agents/difficulty (ids of rware.full_registration() work after you call it)"
        )
    spec = gym.spec(task)
    if spec.entry_point != "rware.warehouse:Warehouse":
        raise ValueError(f"{_ENV}: task {task!r} is not an rware task ({spec.entry_point!r})")
    return dict(spec.kwargs)


class RwareEnv(TupleEnvAdapter):
    """RWARE as a PettingZoo ParallelEnv; build it with :func:`parallel_env`.

    Agents are ``agent_0 .. agent_{n-1}`` and act with ``Discrete(5)`` (no-op, forward, left,
    right, toggle load), or MultiDiscrete when ``msg_bits > 0``. Episodes never terminate; they are
    truncated by the step or inactivity limit.
    """

    def __init__(self, env: Any) -> None:
        super().__init__(env, [f"agent_{i}" for i in range(env.n_agents)], name="rware")

    def _episode_end(self, done: bool) -> tuple[bool, bool]:
        return False, done


def parallel_env(
    task: str | None = None,
    *,
    size: str | None = None,
    n_agents: int | None = None,
    difficulty: str | None = None,
    max_steps: int | None = None,
    render_mode: str | None = None,
    **warehouse_kwargs: Any,
) -> RwareEnv:
    """Create an RWARE ParallelEnv.

    Either name a registered ``task`` or describe one with ``size``, ``n_agents`` and
    ``difficulty`` (the default is ``"rware-tiny-2ag-v2"``: tiny layout, 2 agents, normal
    difficulty, 500 steps).

    Args:
        task: A registered rware id (mutually exclusive with ``size``/``difficulty``).
        size: ``"tiny"``, ``"small"``, ``"medium"`` or ``"large"``.
        n_agents: Number of robots (1-19 for registered tasks; any positive number otherwise).
        difficulty: ``"easy"`` (2 requests per agent), ``"normal"`` (1) or ``"hard"`` (0.5).
        max_steps: Time limit, reported as truncation.
        render_mode: ``"human"``, ``"rgb_array"`` or ``None``.
        **warehouse_kwargs: Other ``rware.warehouse.Warehouse`` arguments (``sensor_range``,
            ``msg_bits``, ``reward_type``, ``max_inactivity_steps``, ``observation_type``, ...).

    Raises:
        TypeError: for an argument of the wrong type or an unknown keyword.
        ValueError: for an unknown task, size or difficulty.
    """
    rware = _import_rware()
    if task is not None and (size is not None or difficulty is not None):
        raise ValueError(
            f"{_ENV}: give either task={task!r} or size/difficulty, not both (the task fixes them)"
        )
    if task is None:
        size = check_choice(_ENV, "size", "tiny" if size is None else size, SIZES)
        difficulty = check_choice(
            _ENV, "difficulty", "normal" if difficulty is None else difficulty, list(DIFFICULTIES)
        )
        agents = 2 if n_agents is None else check_int(_ENV, "n_agents", n_agents, 1)
        base_agents = min(agents, 19)
        kwargs = task_kwargs(f"rware-{size}-{base_agents}ag{DIFFICULTIES[difficulty]}-v2")
        ratio = {"easy": 2.0, "normal": 1.0, "hard": 0.5}[difficulty]
        kwargs["n_agents"] = agents
        kwargs["request_queue_size"] = max(1, int(agents * ratio))
    else:
        kwargs = task_kwargs(task)
        if n_agents is not None:
            kwargs["n_agents"] = check_int(_ENV, "n_agents", n_agents, 1)
    if max_steps is not None:
        kwargs["max_steps"] = check_int(_ENV, "max_steps", max_steps, 1)
    kwargs.update(warehouse_kwargs)
    kwargs["render_mode"] = render_mode
    try:
        env = rware.warehouse.Warehouse(**kwargs)
    except TypeError as err:
        raise TypeError(f"{_ENV}: invalid Warehouse argument: {err}") from err
    return RwareEnv(env)
