"""Trainable-parameter counts of the sharing methods (the SNP-PS paper's Table 2).

The SNP-PS paper (Kim & Sung, 2023, Table 2) reports for LBF (36 features, 6 agents, 6 actions,
actor and critic with three hidden layers of 128): FuPS 76k, FuPS+id 78k, SePS (K = 3) 229k and
SNP-PS 76k. :func:`parameter_table` builds each method's policy for a vec env and counts them the
same way (actor + critic, or the online Q-network; masks and cluster maps are buffers, not
parameters). Kaleidoscope's thresholds are trainable parameters (``N`` per weight, on top of
FuPS+id's weights) and are counted; at test time they reduce to one binary mask per agent.

Example:
    >>> rows = parameter_table(venv, net_arch=[128, 128, 128])   # doctest: +SKIP
    >>> print(format_parameter_table(rows))                      # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.dqn.policies import DQNPolicy
from torch import nn

from policies.clustering.clustering import ClusterSpec
from policies.dqn.policies import (
    FullSharingQPolicy,
    LearnedMaskQPolicy,
    PrunedMaskQPolicy,
    SelectiveSharingQPolicy,
)
from policies.ppo.policies import (
    FullSharingPolicy,
    LearnedMaskPolicy,
    PrunedMaskPolicy,
    SelectiveSharingPolicy,
)

__all__ = ["ParameterCount", "count_parameters", "format_parameter_table", "parameter_table"]


def count_parameters(model_or_policy: BaseAlgorithm | nn.Module) -> int:
    """Number of trainable parameters of an SB3 model or policy.

    For DQN policies only the online Q-network counts (the target network is a copy).
    """
    policy = model_or_policy.policy if isinstance(model_or_policy, BaseAlgorithm) else model_or_policy
    module: nn.Module = policy.q_net if isinstance(policy, DQNPolicy) else policy
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@dataclass(frozen=True)
class ParameterCount:
    """One row of :func:`parameter_table`."""

    method: str
    policy: str
    parameters: int


def parameter_table(
    venv: Any,
    *,
    algorithm: str = "ppo",
    net_arch: Any = None,
    clusters: ClusterSpec = "type",
    policy_kwargs: dict[str, Any] | None = None,
) -> list[ParameterCount]:
    """Build every sharing method's policy for ``venv`` and count its trainable parameters.

    Args:
        venv: Anything with the ``observation_space`` and ``action_space`` of a vec env from
            :func:`ps_wrappers.make_vec_env`.
        algorithm: ``"ppo"`` / ``"a2c"`` (actor + critic) or ``"dqn"`` (Q-network).
        net_arch: Hidden layers (SB3 format); the SB3 defaults when ``None``.
        clusters: Clusters of SePS and AdaPS (see :class:`policies.SelectiveSharingPolicy`).
        policy_kwargs: Extra keyword arguments for every policy.

    Returns:
        Rows for FuPS, FuPS+id, SePS, SNP-PS, AdaPS and Kaleidoscope (learned masks).

    Raises:
        ValueError: for an unknown ``algorithm``.
    """
    if algorithm.lower() in ("ppo", "a2c"):
        classes: tuple[type, ...] = (FullSharingPolicy, SelectiveSharingPolicy, PrunedMaskPolicy, LearnedMaskPolicy)
    elif algorithm.lower() == "dqn":
        classes = (FullSharingQPolicy, SelectiveSharingQPolicy, PrunedMaskQPolicy, LearnedMaskQPolicy)
    else:
        raise ValueError(f"parameter_table: algorithm must be 'ppo', 'a2c' or 'dqn', got {algorithm!r}")
    full, selective, pruned, learned = classes
    base = dict(policy_kwargs or {})
    if net_arch is not None:
        base["net_arch"] = net_arch
    methods: list[tuple[str, type, dict[str, Any]]] = [
        ("FuPS", full, {}),
        ("FuPS+id", full, {"agent_id": True}),
        ("SePS", selective, {"clusters": clusters}),
        ("SNP-PS", pruned, {}),
        ("AdaPS", pruned, {"method": "adaps", "clusters": clusters}),
        ("Kaleidoscope", learned, {}),
    ]
    rows = []
    for name, cls, extra in methods:
        policy = cls(venv.observation_space, venv.action_space, lambda _: 3e-4, **base, **extra)
        rows.append(ParameterCount(name, cls.__name__, count_parameters(policy)))
    return rows


def format_parameter_table(rows: list[ParameterCount]) -> str:
    """A Markdown table of :func:`parameter_table` rows."""
    lines = ["| method | policy | parameters |", "|---|---|---:|"]
    lines += [f"| {r.method} | {r.policy} | {r.parameters:,} |" for r in rows]
    return "\n".join(lines)
