"""Learned masks in training: find the networks, attach the regulariser, set its schedule, log it.

A learned-mask policy attaches a :class:`~policies.learned.regularizer.KaleidoscopeRegularizer`
to itself once its optimizer exists (:meth:`policies.methods.SharingMethod.after_build`), over the
learned-mask networks that optimizer trains (:func:`learned_mask_networks`: actor and critic, or
the online Q-network; never a target network, whose thresholds are copied by the target update).

The paper's reset interval is in environment steps, but the regulariser counts optimizer steps,
and the policy cannot know how many optimizer steps a timestep makes. :func:`set_mask_schedule`
converts it, and sets the training horizon (no reset within the last interval), from the
algorithm's rollout and batch sizes, as :func:`policies.set_evolution_horizon` does for RigL.
:class:`LearnedMaskCallback` calls it when training starts and logs the masks' statistics.

Example:
    >>> model = PPO(LearnedMaskPolicy, venv, seed=0)                   # doctest: +SKIP
    >>> model.learn(600_000, callback=LearnedMaskCallback())           # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from torch import nn

from policies.learned.layers import LearnedMaskLayer
from policies.learned.regularizer import KaleidoscopeRegularizer
from policies.learned.stats import mask_statistics
from policies.sparse.training import expected_optimizer_steps

__all__ = [
    "LearnedMaskCallback",
    "learned_mask_networks",
    "regularizers_of",
    "set_mask_schedule",
]


def _is_network(module: nn.Module) -> bool:
    listed = getattr(module, "mask_layers", None)
    return (
        callable(listed)
        and not isinstance(module, LearnedMaskLayer)
        and any(isinstance(layer, LearnedMaskLayer) for layer in listed())
    )


def learned_mask_networks(module: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> list[nn.Module]:
    """The outermost learned-mask networks in ``module`` (those with ``mask_layers()``), each once.

    Args:
        module: A policy, or a part of one.
        optimizer: If given, only the networks whose thresholds it trains (a target network,
            which no optimizer trains, is left out).

    Raises:
        ValueError: if ``optimizer`` trains the thresholds of only some layers of a network.
    """
    found: list[nn.Module] = []
    seen: set[int] = set()

    def visit(current: nn.Module) -> None:
        if id(current) in seen or isinstance(current, KaleidoscopeRegularizer):
            return
        seen.add(id(current))
        if _is_network(current):
            found.append(current)
            return
        for child in current.children():
            visit(child)

    visit(module)
    if optimizer is None:
        return found
    trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
    kept = []
    for network in found:
        inside = [id(layer.thresholds) in trained for layer in network.mask_layers()]  # type: ignore[operator]
        if all(inside):
            kept.append(network)
        elif any(inside):
            raise ValueError(
                f"learned_mask_networks: the optimizer trains the thresholds of only some layers of "
                f"{type(network).__name__}; build it over all the network's parameters"
            )
    return kept


def regularizers_of(model: Any) -> list[KaleidoscopeRegularizer]:
    """The :class:`KaleidoscopeRegularizer` s of an SB3 model or policy (none for other methods)."""
    policy = getattr(model, "policy", model)
    if not isinstance(policy, nn.Module):
        return []
    return [m for m in policy.modules() if isinstance(m, KaleidoscopeRegularizer)]


def _steps_for(model: Any, timesteps: int) -> int | None:
    """Optimizer steps per ``timesteps`` of training (warm-up excluded for off-policy algorithms)."""
    if isinstance(model, OffPolicyAlgorithm):
        return expected_optimizer_steps(model, timesteps + int(model.learning_starts))
    return expected_optimizer_steps(model, timesteps)


def set_mask_schedule(model: Any, total_timesteps: int) -> list[tuple[int | None, int]] | None:
    """Convert the reset interval to optimizer steps and set the horizon of the coming training.

    The horizon counts from each regulariser's current step, so this also works before a further
    ``learn(total_timesteps, reset_num_timesteps=False)`` of a loaded model.

    Args:
        model: An SB3 algorithm whose policy has learned masks.
        total_timesteps: The ``total_timesteps`` the coming ``learn`` call will train.

    Returns:
        ``(reset interval, horizon)`` in optimizer steps for every regulariser, or ``None`` when the
        model has none or its optimizer steps cannot be known (episode-based ``train_freq``).

    Raises:
        ValueError: if ``total_timesteps`` is not a positive int.
    """
    if isinstance(total_timesteps, bool) or not isinstance(total_timesteps, int) or total_timesteps < 1:
        raise ValueError(f"set_mask_schedule: total_timesteps must be a positive int, got {total_timesteps!r}")
    regularizers = regularizers_of(model)
    total = expected_optimizer_steps(model, total_timesteps)
    if not regularizers or total is None:
        return None
    # TD3 and DDPG step their actor once every `policy_delay` critic steps: the actor's masks count
    # their own (fewer) optimizer steps.
    delay = int(getattr(model, "policy_delay", 1) or 1)
    actor = getattr(getattr(model, "policy", model), "actor", None)
    delayed = {id(m) for m in actor.modules()} if delay > 1 and isinstance(actor, nn.Module) else set()
    result = []
    for regularizer in regularizers:
        own = delay if id(regularizer) in delayed else 1
        horizon = int(regularizer.step) + max(1, total // own)
        interval = None
        if regularizer.reset_timesteps is not None:
            interval = max(1, (_steps_for(model, regularizer.reset_timesteps) or 1) // own)
        regularizer.set_schedule(reset_interval=interval, horizon=horizon)
        result.append((interval, horizon))
    return result


class LearnedMaskCallback(BaseCallback):
    """Sets the reset schedule when training starts and logs the learned masks during training.

    After every ``every`` rollouts it records, for each learned-mask network of the policy (named
    by its attribute, e.g. ``policy_net``, ``value_net``, ``q_net``, ``trunk``):
    ``masks/<net>/density``, ``overlap`` (mean pairwise Jaccard), ``distance``, ``dead_fraction``
    and ``density/<agent>``; and ``masks/div_loss``, ``masks/div_coef``, ``masks/last_reset``
    (optimizer step). :attr:`history` keeps the same numbers for plotting
    (:func:`ps_toolkit.plots.plot_mask_history`).

    Args:
        set_schedule: Call :func:`set_mask_schedule` at the start of every ``learn``.
        every: Rollouts between records (off-policy algorithms end a "rollout" every
            ``train_freq``; raise it there).

    Raises:
        ValueError: if ``every`` is not a positive int.
    """

    def __init__(self, set_schedule: bool = True, every: int = 1, verbose: int = 0) -> None:
        super().__init__(verbose)
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"LearnedMaskCallback: every must be a positive int of rollouts, got {every!r}")
        self.set_schedule = bool(set_schedule)
        self.every = every
        self.history: list[dict[str, Any]] = []
        self._rollouts = 0

    def _on_training_start(self) -> None:
        if self.set_schedule:
            remaining = int(self.model._total_timesteps) - int(self.model.num_timesteps)
            if remaining > 0:
                set_mask_schedule(self.model, remaining)

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self._rollouts += 1
        if self._rollouts % self.every == 0:
            self.record()

    def record(self) -> list[dict[str, Any]]:
        """Log the statistics of the current masks now; returns the records added to :attr:`history`."""
        policy = self.model.policy
        names = {id(m): name.rpartition(".")[2] or name for name, m in policy.named_modules()}
        agents = [str(a) for a in getattr(getattr(policy, "layout", None), "agents", ())]
        added = []
        for regularizer in regularizers_of(policy):
            for network in regularizer.networks:
                name = names.get(id(network), type(network).__name__)
                stats = mask_statistics(network)
                summary = stats.as_dict()
                record: dict[str, Any] = {"timesteps": int(self.num_timesteps), "network": name}
                for key, value in summary.items():
                    field = key.rpartition("/")[2]
                    record[field] = value
                    self.logger.record(f"masks/{name}/{field}", value)
                if len(agents) == len(stats.density):
                    for agent, value in zip(agents, stats.density):
                        self.logger.record(f"masks/{name}/density/{agent}", float(value))
                record["agent_density"] = [float(v) for v in stats.density]
                added.append(record)
            last = regularizer.last
            for key in ("div_loss", "div_coef"):
                if key in last:
                    self.logger.record(f"masks/{key}", last[key])
            self.logger.record("masks/last_reset", int(regularizer.last_reset))
        self.history.extend(added)
        return added
