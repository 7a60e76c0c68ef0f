"""The mixin that makes any SB3 actor-critic or DQN policy sparse-evolved (MAST section 4.1).

:class:`SparseEvolutionMixin` goes first in the bases of a policy class. After the base class has
built its networks and optimizer (``_build``), it attaches a
:class:`~policies.sparse.SparseTopology` as ``policy.sparse_topology``: masks on every trained
``nn.Linear``, Erdos-Renyi densities, exact zeros, masked optimizer state, and RigL evolution driven
by the optimizer's step hook, so no callback is needed. For a DQN policy the target network is the
topology's mirror: it gets the same masks and is multiplied by them before each forward pass.
Families with several optimizers (SAC, TD3: actor and critics) name their parts in a
``sparse_networks()`` method (a list of :class:`SparsePart`): one topology per optimizer, each
target network the mirror of its online network.

Everything the topology needs is a constructor argument or a buffer, so ``model.save`` /
``Algorithm.load`` (and policy-only ``save`` / ``load``) restore masks and schedule position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import nn

from policies.sparse.topology import SparseTopology

__all__ = ["SPARSE_DEFAULTS", "SparseEvolutionMixin", "SparsePart", "default_sparse_networks", "sparse_evolved"]

SPARSE_DEFAULTS: dict[str, Any] = {
    "sparsity": 0.9,
    "density_method": "erdos_renyi",
    "evolve": True,
    "update_interval": 200,
    "zeta": 0.5,
    "t_end": None,
    "sparse_init": "dense",
    "sparse_exclude": (),
}
"""Defaults of the sparse policy kwargs (MAST section 4.1 and Table 4; RigL for ``T_end``)."""


class SparsePart(NamedTuple):
    """One sparse network of a policy: a root module, its optimizer, and the copies that mirror it.

    Attributes:
        attribute: Policy attribute the :class:`SparseTopology` is stored in (``"sparse_topology"``
            for the acting network, e.g. ``"critic_sparse_topology"`` for SAC's critics).
        root: Module whose layers become sparse.
        optimizer: Its optimizer (drives masking and evolution).
        mirrors: Target networks with the same layer names (same masks, masked before forward).
        exclude: Layer-name substrings left to another part (e.g. a features extractor shared
            with the actor).
    """

    attribute: str
    root: nn.Module
    optimizer: torch.optim.Optimizer
    mirrors: tuple[nn.Module, ...] = ()
    exclude: tuple[str, ...] = ()


def default_sparse_networks(policy: nn.Module) -> list[SparsePart]:
    """The sparse part of an SB3 policy with one optimizer: the Q-network (mirrored by its target) or the whole policy."""
    q_net = getattr(policy, "q_net", None)
    q_target = getattr(policy, "q_net_target", None)
    optimizer = policy.optimizer  # type: ignore[union-attr]
    if isinstance(q_net, nn.Module) and isinstance(q_target, nn.Module):
        return [SparsePart("sparse_topology", q_net, optimizer, (q_target,))]  # type: ignore[arg-type]
    return [SparsePart("sparse_topology", policy, optimizer)]  # type: ignore[arg-type]


class SparseEvolutionMixin:
    """Adds sparse, RigL-evolved weights to an SB3 policy class (put it first in the bases).

    Policy kwargs (all optional):

    Args:
        sparsity: Global fraction of zero weights over the trained linear layers (default 0.9).
        density_method: ``"erdos_renyi"`` (MAST) or ``"uniform"`` layer densities.
        evolve: ``True``: RigL topology evolution; ``False``: static random sparse network.
        update_interval: Optimizer steps between topology updates (MAST Table 4: 200).
        zeta: Initial update fraction (MAST Table 4: 0.5).
        t_end: Optimizer step at which evolution stops; ``None`` until
            :func:`policies.sparse.training.set_evolution_horizon` (called by ``MASTDQN.learn``)
            sets it, ``100 * update_interval`` meanwhile.
        sparse_init: ``"dense"`` (default): the policy's own initialisation, masked;
            ``"fan_in"``: each unit's initial weights rescaled to its active fan-in (see
            :class:`~policies.sparse.SparseTopology`).
        sparse_exclude: Substrings of layer names that stay dense.
    """

    sparse_topology: SparseTopology

    def __init__(
        self,
        *args: Any,
        sparsity: float = 0.9,
        density_method: str = "erdos_renyi",
        evolve: bool = True,
        update_interval: int = 200,
        zeta: float = 0.5,
        t_end: int | None = None,
        sparse_init: str = "dense",
        sparse_exclude: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        self.sparse_options: dict[str, Any] = {
            "sparsity": sparsity,
            "density_method": density_method,
            "evolve": evolve,
            "update_interval": update_interval,
            "zeta": zeta,
            "t_end": t_end,
            "sparse_init": sparse_init,
            "sparse_exclude": tuple(sparse_exclude),
        }
        super().__init__(*args, **kwargs)

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)  # type: ignore[misc]
        self._build_sparse_topology()

    def _build_sparse_topology(self) -> None:
        options = dict(self.sparse_options)
        exclude = tuple(options.pop("sparse_exclude"))
        family = getattr(self, "sparse_networks", None)
        parts = family() if callable(family) else default_sparse_networks(self)  # type: ignore[arg-type]
        for part in parts:
            setattr(
                self,
                part.attribute,
                SparseTopology(
                    part.root,
                    part.optimizer,
                    exclude=exclude + part.exclude,
                    mirrors=part.mirrors,
                    owner=type(self).__name__,
                    **options,
                ),
            )

    def sparse_topologies(self) -> dict[str, SparseTopology]:
        """Every topology of the policy by attribute name (``sparse_topology`` first)."""
        children = self.named_children()  # type: ignore[attr-defined]
        return {name: m for name, m in children if isinstance(m, SparseTopology)}

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()  # type: ignore[misc]
        data.update(self.sparse_options)
        return data


def sparse_evolved(policy_class: type[Any], name: str | None = None) -> type[Any]:
    """A subclass of ``policy_class`` with sparse, RigL-evolved linear layers.

    Works for any SB3 ``ActorCriticPolicy`` or ``DQNPolicy`` subclass whose optimizer is created
    in ``_build``. Assign the result to a module-level name (the default class name is
    ``"Sparse" + policy_class.__name__``) so that saved models can find it again.

    Raises:
        TypeError: if ``policy_class`` is not a class or is already sparse-evolved.
    """
    if not isinstance(policy_class, type):
        raise TypeError(f"sparse_evolved: expected a policy class, got {policy_class!r}.")
    if issubclass(policy_class, SparseEvolutionMixin):
        raise TypeError(
            f"sparse_evolved: {policy_class.__name__} is already sparse-evolved; pass its base class."
        )
    cls_name = name or f"Sparse{policy_class.__name__}"
    return type(cls_name, (SparseEvolutionMixin, policy_class), {"__doc__": policy_class.__doc__})
