"""``RLModuleSpec`` helpers: every sharing method as an RLlib module, in SB3's policy kwargs.

:func:`sharing_module` takes the PPO policy class of :mod:`policies.ppo` and its policy kwargs as SB3
takes them, so a method's options are written once for both backends::

    sharing_module(PrunedMaskPolicy, actor_pruning=0.2)      # = PPO(PrunedMaskPolicy, venv,
                                                              #       policy_kwargs=dict(actor_pruning=0.2))

The per-method helpers are shorthands: :func:`fups_module` (FuPS, FuPS+id), :func:`seps_module`,
:func:`snp_ps_module`, :func:`adaps_module`, :func:`sparse_module` (MAST-style sparse-evolved) and
:func:`kaleidoscope_module`. A :class:`policies.ClusterResult` (from :func:`policies.cluster_agents`)
is stored as data in the spec, like any other option.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from torch import nn

from policies.clustering import ClusterSpec
from policies.ppo import (
    FullSharingPolicy,
    LearnedMaskPolicy,
    PrunedMaskPolicy,
    SelectiveSharingPolicy,
    SparseEvolvedPolicy,
    SparsePrunedMaskPolicy,
    SparseSelectiveSharingPolicy,
)
from policies.rllib.build import encode_kwargs, method_of, policy_classes, seeded
from policies.rllib.module import SharingRLModule

__all__ = [
    "ACTIVATIONS",
    "adaps_module",
    "fups_module",
    "kaleidoscope_module",
    "seps_module",
    "sharing_module",
    "snp_ps_module",
    "sparse_module",
]

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU}
"""Names accepted by the ``activation`` argument of the helpers."""

_SPARSE = {FullSharingPolicy: SparseEvolvedPolicy, PrunedMaskPolicy: SparsePrunedMaskPolicy,
           SelectiveSharingPolicy: SparseSelectiveSharingPolicy}


def sharing_module(policy: type | str = FullSharingPolicy, *, init_seed: int | None = None, **policy_kwargs: Any) -> RLModuleSpec:
    """The ``RLModuleSpec`` of a :class:`~policies.rllib.SharingRLModule` with ``policy``'s method and networks.

    Args:
        policy: A PPO policy class of :mod:`policies.ppo` (``FullSharingPolicy``,
            ``SelectiveSharingPolicy``, ``PrunedMaskPolicy``, ``LearnedMaskPolicy``,
            ``SparseEvolvedPolicy``, ``SparsePrunedMaskPolicy``, ``SparseSelectiveSharingPolicy``)
            or its name.
        init_seed: Seed of the initial weights and random masks, so every process builds the same
            module; :func:`policies.rllib.shared_ppo_config` sets it from its ``seed`` when ``None``.
        **policy_kwargs: The policy's kwargs as for SB3: method options (``agent_id``, ``clusters``,
            ``actor_pruning``, ``sparsity``, ...) and ``net_arch``, ``activation_fn``, ``ortho_init``,
            ``log_std_init``, ``features_extractor_class``, ``features_extractor_kwargs``,
            ``share_features_extractor``.

    Raises:
        ValueError: for a class that is not a sharing PPO policy.
        TypeError: for a kwarg the policy does not take or a value that cannot be stored as data.

    Example:
        >>> from policies.ppo import PrunedMaskPolicy
        >>> spec = sharing_module(PrunedMaskPolicy, actor_pruning=0.2, mask_seed=1)
        >>> spec.model_config["policy"], spec.model_config["policy_kwargs"]["kwargs"]["actor_pruning"]
        ('PrunedMaskPolicy', 0.2)
    """
    classes = policy_classes()
    name = policy if isinstance(policy, str) else getattr(policy, "__name__", repr(policy))
    if name not in classes or (not isinstance(policy, str) and classes[name] is not policy):
        raise ValueError(f"sharing_module: policy must be one of {sorted(classes)} (policies.ppo), got {policy!r}")
    with seeded(0):  # unknown kwargs fail here, not on a runner; the user's RNG is left alone
        method_of(classes[name], policy_kwargs, "sharing_module")
    config: dict[str, Any] = {"policy": name, "policy_kwargs": encode_kwargs(policy_kwargs, "sharing_module")}
    if init_seed is not None:
        config["init_seed"] = int(init_seed)
    return RLModuleSpec(module_class=SharingRLModule, model_config=config)


def _network(hidden: Sequence[int], activation: str, kwargs: dict[str, Any], owner: str) -> dict[str, Any]:
    if activation not in ACTIVATIONS:
        raise ValueError(f"{owner}: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if isinstance(hidden, (str, bytes)) or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in hidden):
        raise ValueError(f"{owner}: hidden must be a sequence of positive ints, got {hidden!r}")
    return {"net_arch": list(hidden), "activation_fn": ACTIVATIONS[activation], **kwargs}


def fups_module(
    *, agent_id: bool = False, hidden: Sequence[int] = (64, 64), activation: str = "tanh", **policy_kwargs: Any
) -> RLModuleSpec:
    """FuPS (``agent_id=False``) or FuPS+id (``agent_id=True``): :class:`policies.ppo.FullSharingPolicy`.

    Example:
        >>> spec = fups_module(agent_id=True, hidden=(128, 128))
        >>> spec.module_class.__name__, spec.model_config["policy_kwargs"]["kwargs"]["agent_id"]
        ('SharingRLModule', True)
    """
    return sharing_module(FullSharingPolicy, agent_id=agent_id, **_network(hidden, activation, policy_kwargs, "fups_module"))


def seps_module(
    clusters: ClusterSpec = "type", *, hidden: Sequence[int] = (64, 64), activation: str = "tanh", **policy_kwargs: Any
) -> RLModuleSpec:
    """SePS: one network per cluster (``"type"``, ``"agent"`` = NoPS, ids, ``{agent: id}`` or a ClusterResult)."""
    return sharing_module(SelectiveSharingPolicy, clusters=clusters, **_network(hidden, activation, policy_kwargs, "seps_module"))


def snp_ps_module(
    *, mask_seed: int | None = None, hidden: Sequence[int] = (64, 64), activation: str = "tanh", **policy_kwargs: Any
) -> RLModuleSpec:
    """SNP-PS: a fixed random neuron mask per agent (``actor_pruning``, ``critic_pruning``, ``agent_id``, ...)."""
    return sharing_module(PrunedMaskPolicy, mask_seed=mask_seed, **_network(hidden, activation, policy_kwargs, "snp_ps_module"))


def adaps_module(
    clusters: ClusterSpec = "type", *, mask_seed: int | None = None, hidden: Sequence[int] = (64, 64),
    activation: str = "tanh", **policy_kwargs: Any,
) -> RLModuleSpec:
    """AdaPS: a neuron mask per identity cluster (pass a ClusterResult from :func:`policies.cluster_agents`)."""
    return sharing_module(
        PrunedMaskPolicy, method="adaps", clusters=clusters, mask_seed=mask_seed,
        **_network(hidden, activation, policy_kwargs, "adaps_module"),
    )


def sparse_module(
    method: type = FullSharingPolicy, *, sparsity: float = 0.9, hidden: Sequence[int] = (64, 64),
    activation: str = "tanh", **policy_kwargs: Any,
) -> RLModuleSpec:
    """MAST-style sparse-evolved weights (RigL) on FuPS(+id), SNP-PS / AdaPS or SePS.

    Args:
        method: ``FullSharingPolicy`` (default), ``PrunedMaskPolicy`` or ``SelectiveSharingPolicy``.
        sparsity: Fraction of zero weights (0.9).
        **policy_kwargs: ``agent_id``, ``update_interval``, ``zeta``, ``t_end``, ... as for
            :class:`policies.ppo.SparseEvolvedPolicy`.

    Raises:
        ValueError: for another ``method``.
    """
    if method not in _SPARSE:
        raise ValueError(
            f"sparse_module: method must be one of {[c.__name__ for c in _SPARSE]}, got {getattr(method, '__name__', method)!r}"
        )
    return sharing_module(_SPARSE[method], sparsity=sparsity, **_network(hidden, activation, policy_kwargs, "sparse_module"))


def kaleidoscope_module(*, hidden: Sequence[int] = (64, 64), activation: str = "tanh", **policy_kwargs: Any) -> RLModuleSpec:
    """Kaleidoscope: learned weight masks per agent, diversity term and reset (:class:`policies.ppo.LearnedMaskPolicy`)."""
    return sharing_module(LearnedMaskPolicy, **_network(hidden, activation, policy_kwargs, "kaleidoscope_module"))
