"""Training-time helpers for sparse policies: the RigL horizon and SB3 logging of FLOPs.

The policy does not know how long it will be trained, but RigL's cosine schedule
``zeta_t = zeta / 2 (1 + cos(pi t / T_end))`` (MAST section 4.1) needs ``T_end``. RigL ends
evolution at 75% of training; :func:`set_evolution_horizon` computes that in optimizer steps from
``total_timesteps`` for PPO, A2C and DQN-style algorithms. :class:`~policies.mast.dqn.MASTDQN`
calls it itself.

Example:
    >>> from stable_baselines3 import PPO  # doctest: +SKIP
    >>> model = PPO(SparseEvolvedPolicy, venv)  # doctest: +SKIP
    >>> set_evolution_horizon(model, total_timesteps=200_000)  # doctest: +SKIP
    >>> model.learn(200_000, callback=SparseMetricsCallback())  # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Any

from stable_baselines3 import A2C
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.type_aliases import TrainFrequencyUnit
from torch import nn

from policies.sparse.flops import flops_report
from policies.sparse.topology import SparseTopology

__all__ = [
    "SparseMetricsCallback",
    "expected_optimizer_steps",
    "set_evolution_horizon",
    "sparse_topologies_of",
    "sparse_topology_of",
]


def sparse_topology_of(model: Any) -> SparseTopology | None:
    """The :class:`~policies.sparse.SparseTopology` of an SB3 model or policy, if it has one.

    For families with several (SAC, TD3: actor and critics) it is the acting network's; see
    :func:`sparse_topologies_of`.
    """
    topology = getattr(getattr(model, "policy", model), "sparse_topology", None)
    return topology if isinstance(topology, SparseTopology) else None


def sparse_topologies_of(model: Any) -> dict[str, SparseTopology]:
    """Every :class:`~policies.sparse.SparseTopology` of an SB3 model or policy, by attribute name."""
    policy = getattr(model, "policy", model)
    if not isinstance(policy, nn.Module):
        return {}
    return {name: m for name, m in policy.named_children() if isinstance(m, SparseTopology)}


def expected_optimizer_steps(model: Any, total_timesteps: int) -> int | None:
    """Optimizer steps that ``model.learn(total_timesteps)`` will take, or None if unknowable.

    PPO: ``n_epochs * ceil(n_steps * n_envs / batch_size)`` per rollout (an upper bound when
    ``target_kl`` stops epochs early); A2C: one per rollout; off-policy algorithms with a
    step-based ``train_freq``: ``gradient_steps`` per ``train_freq * n_envs`` steps after
    ``learning_starts``. Episode-based ``train_freq`` gives None.
    """
    if isinstance(model, OnPolicyAlgorithm):
        per_rollout = model.n_steps * model.n_envs
        rollouts = math.ceil(total_timesteps / per_rollout)
        if isinstance(model, A2C):
            return rollouts
        epochs = int(getattr(model, "n_epochs", 1))
        batch = int(getattr(model, "batch_size", per_rollout))
        return rollouts * epochs * math.ceil(per_rollout / batch)
    if isinstance(model, OffPolicyAlgorithm):
        freq = model.train_freq
        if getattr(freq, "unit", None) != TrainFrequencyUnit.STEP:
            return None
        env_steps = freq.frequency * model.n_envs  # type: ignore[union-attr]
        calls = max(0, total_timesteps - model.learning_starts) // env_steps
        per_call = model.gradient_steps if model.gradient_steps > 0 else env_steps
        return calls * per_call
    return None


def set_evolution_horizon(
    model: Any, total_timesteps: int, end_fraction: float = 0.75
) -> int | None:
    """Set RigL's ``T_end`` to ``end_fraction`` of the optimizer steps of the coming training.

    Counts from the topology's current step, so it also works before a further ``learn`` call.

    Args:
        model: An SB3 algorithm whose policy has a ``sparse_topology`` (every topology of the
            policy gets its horizon: SAC / TD3 critics too).
        total_timesteps: The ``total_timesteps`` that will be passed to ``learn``.
        end_fraction: Fraction of training after which the topology is frozen (RigL: 0.75).

    Returns:
        The horizon set, or None when the model has no sparse topology or its number of optimizer
        steps cannot be known (episode-based ``train_freq``).

    Raises:
        ValueError: if ``end_fraction`` is not in ``(0, 1]``.
    """
    if not 0.0 < end_fraction <= 1.0:
        raise ValueError(
            f"set_evolution_horizon: end_fraction must be in (0, 1], got {end_fraction!r}; "
            "RigL uses 0.75."
        )
    topologies = sparse_topologies_of(model)
    steps = expected_optimizer_steps(model, total_timesteps)
    if not topologies or steps is None:
        return None
    horizons = {}
    for name, topology in topologies.items():
        # TD3 steps its actor (the acting network's topology) once every `policy_delay` critic steps.
        own = steps // int(getattr(model, "policy_delay", 1)) if name == "sparse_topology" else steps
        horizons[name] = int(topology.step) + max(1, int(end_fraction * own))
        topology.set_horizon(horizons[name])
    return horizons.get("sparse_topology", next(iter(horizons.values())))


class SparseMetricsCallback(BaseCallback):
    """Logs sparsity, FLOPs and model-size ratios (MAST appendix B.4) after every rollout.

    Records ``sparse/sparsity``, ``sparse/flops_train_ratio``, ``sparse/flops_infer_ratio``,
    ``sparse/size_ratio``, ``sparse/topology_step`` and ``sparse/update_fraction``. MASTDQN logs
    them without this callback.
    """

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        report = flops_report(self.model)
        for key, value in report.as_dict().items():
            self.logger.record(key, value)
        topology = sparse_topology_of(self.model)
        if topology is not None:
            self.logger.record("sparse/topology_step", int(topology.step))
            self.logger.record("sparse/update_fraction", topology.update_fraction())
