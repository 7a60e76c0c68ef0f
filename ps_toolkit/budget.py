"""How many steps a run trains: SB3 trains whole rollouts and whole env steps, so size them to the budget.

SB3's ``learn(total_timesteps)`` counts one step per vec env slot and stops only after the
rollout (PPO, A2C) or the ``train_freq`` block (DQN) that passes the total. With PPO's default
``n_steps=2048`` and 120 slots, ``learn(100)`` trains 245,760 steps. :func:`plan_budget` picks
what honours the requested budget and says so:

* On-policy algorithms (PPO, A2C, TRPO, RecurrentPPO) without an ``n_steps`` of the user's: ``n_steps`` is sized so that whole rollouts add
  up to the budget rounded up to whole env steps (never more than the algorithm's default
  ``n_steps``), and PPO's ``batch_size`` (when not given) is the divisor of the rollout closest to
  its default, so no minibatch is truncated (likewise TRPO's and RecurrentPPO's).
* On-policy with ``n_steps`` given: kept; the budget is rounded up to whole rollouts.
* Off-policy algorithms (the DQN variants, SAC, TD3, DDPG): the budget is rounded up to whole env steps, and to whole ``train_freq`` blocks.

The planned total is what ``learn`` gets, so SB3's progress bar counts to the steps that run.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any

from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

from ps_toolkit.registry import algorithm_class

__all__ = ["Budget", "algorithm_default", "plan_budget"]


@dataclass(frozen=True)
class Budget:
    """The steps a run trains, and why."""

    requested: int
    """Steps asked for (``--steps``)."""
    total: int
    """Steps that will run (passed to ``learn``; a multiple of the slots)."""
    slots: int
    """Vec env slots (copies x agents): steps per env step."""
    copies: int
    """Env copies."""
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    """Hyperparameters chosen for the budget (``n_steps``, ``batch_size``), merged over the user's."""
    reason: str = ""
    """Why ``total`` differs from ``requested`` or what was sized (empty when nothing was)."""

    def describe(self) -> str:
        """One line for the user: what will run and why."""
        agents = self.slots // max(self.copies, 1)
        text = f"training {self.total:,} steps ({self.slots} slots = {self.copies} copies x {agents} agents)"
        return f"{text}: {self.reason}" if self.reason else text


def algorithm_default(algo: type, name: str) -> Any:
    """The default of the constructor argument ``name`` of an SB3 algorithm class (or ``None``)."""
    for cls in algo.__mro__:
        init = vars(cls).get("__init__")
        if init is None:
            continue
        parameter = inspect.signature(init).parameters.get(name)
        if parameter is not None and parameter.default is not inspect.Parameter.empty:
            return parameter.default
    return None


def _takes(algo: type, name: str) -> bool:
    """Whether an on-policy algorithm has the minibatch argument ``name`` (PPO, TRPO, RecurrentPPO; not A2C)."""
    return algorithm_default(algo, name) is not None


def _batch_size(rollout: int, default: int) -> int:
    """PPO minibatch size for a sized rollout: the whole rollout when it is smaller than
    ``default``, else the divisor of the rollout closest to ``default`` if within a factor 2 of it
    (no truncated minibatch), else ``default``."""
    if rollout <= default:
        return rollout
    divisors: set[int] = set()
    for d in range(1, math.isqrt(rollout) + 1):
        if rollout % d == 0:
            divisors.update((d, rollout // d))
    best = min(divisors, key=lambda d: (abs(d - default), -d))
    return best if default / 2 <= best <= 2 * default else default


def plan_budget(algorithm: str, steps: int, slots: int, copies: int, algo_kwargs: dict[str, Any]) -> Budget:
    """Plan the steps of a run of ``steps`` on a vec env with ``slots`` slots.

    Args:
        algorithm: A name of :data:`ps_toolkit.registry.ALGORITHMS`.
        steps: Requested budget, counted per slot.
        slots: Slots of the vec env (``venv.num_envs``).
        copies: Env copies (for the message).
        algo_kwargs: The user's hyperparameters (``n_steps``, ``batch_size``, ``train_freq`` are read).

    Raises:
        ValueError: if ``steps`` is below one step of every slot, or ``n_steps`` / ``train_freq``
            is not a positive integer.
    """
    if steps < slots:
        raise ValueError(
            f"--steps {steps:,} is fewer than one env step ({slots} slots = {copies} copies x "
            f"{slots // max(copies, 1)} agents, one step each); pass --steps {slots} or more, or fewer --n-envs"
        )
    algo = algorithm_class(algorithm)
    env_steps = math.ceil(steps / slots)
    if issubclass(algo, OnPolicyAlgorithm):
        return _plan_on_policy(algo, steps, slots, copies, env_steps, algo_kwargs)
    freq = algo_kwargs.get("train_freq", algorithm_default(algo, "train_freq"))
    every, unit = (freq, "step") if not isinstance(freq, (tuple, list)) else tuple(freq)
    if not isinstance(every, int) or isinstance(every, bool) or every < 1:
        raise ValueError(f"train_freq must be a positive integer (or [n, 'step' | 'episode']), got {freq!r}")
    reason = ""
    if unit == "step" and env_steps % every:
        env_steps = math.ceil(env_steps / every) * every
        reason = f"SB3 collects whole blocks of train_freq={every} env steps"
    elif unit != "step":
        reason = "train_freq counts episodes, so the last block may pass the total"
    total = env_steps * slots
    if total != steps and not reason:
        reason = f"--steps {steps:,} rounded up to whole env steps"
    elif total != steps:
        reason = f"--steps {steps:,} rounded up: {reason}"
    return Budget(steps, total, slots, copies, {}, reason)


def _plan_on_policy(
    algo: type, steps: int, slots: int, copies: int, env_steps: int, algo_kwargs: dict[str, Any]
) -> Budget:
    given = algo_kwargs.get("n_steps")
    if given is not None:
        if not isinstance(given, int) or isinstance(given, bool) or given < 1:
            raise ValueError(f"n_steps must be a positive integer, got {given!r}")
        rollouts = math.ceil(env_steps / given)
        total = rollouts * given * slots
        reason = "" if total == steps else (
            f"--steps {steps:,} rounded up to {rollouts:,} whole rollout{'s' * (rollouts > 1)} "
            f"of n_steps={given} x {slots} slots"
        )
        return Budget(steps, total, slots, copies, {}, reason)
    default = int(algorithm_default(algo, "n_steps"))
    rollouts = math.ceil(env_steps / default)
    n_steps = math.ceil(env_steps / rollouts)
    total = rollouts * n_steps * slots
    sized: dict[str, Any] = {"n_steps": n_steps}
    reason = f"{rollouts:,} rollout{'s' * (rollouts > 1)} of n_steps={n_steps} (sized to --steps {steps:,})"
    if _takes(algo, "batch_size") and n_steps * slots < 2:
        raise ValueError(f"{algo.__name__} needs a rollout of at least 2 steps; pass --steps 2 or more ({slots} slot)")
    if _takes(algo, "batch_size") and "batch_size" not in algo_kwargs:
        default_batch = int(algorithm_default(algo, "batch_size"))
        batch = _batch_size(n_steps * slots, default_batch)
        if batch != default_batch:
            sized["batch_size"] = batch
            reason += f", batch_size={batch} (divides the {n_steps * slots:,}-step rollout)"
    if total != steps:
        whole = "whole env steps and rollouts" if rollouts > 1 else "whole env steps"
        reason += f"; {total - steps:,} steps more than asked, to fill {whole}"
    reason += "; pass --algo-kwargs '{\"n_steps\": N}' to choose"
    return Budget(steps, total, slots, copies, sized, reason)
