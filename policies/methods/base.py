"""The sharing method as an object: how the agent enters ``f(trunk(x), agent)``, written once.

A :class:`SharingMethod` is bound to an env's slot layout once (:meth:`SharingMethod.bind`:
validate the options, resolve clusters), then builds the two stages of every network that
needs it:

* :meth:`SharingMethod.trunk`: the first stage on the raw features (identity for vectors, a CNN
  for images), possibly agent-conditioned (indicator planes, routed copies, channel masks);
* :meth:`SharingMethod.head`: the MLP on the trunk's output, the agent entering as a one-hot
  input, neuron masks or cluster routing (:mod:`policies.core.heads`).

Every consumer uses these two calls: the SB3 policy families (actor and critic heads of PPO/A2C,
Q-networks and their targets of DQN, ...) through :mod:`policies.methods.options`, and RLlib
modules. A head's ``role`` names the network it is for (``"pi"`` actor, ``"vf"`` critic, ``"q"``
Q-network and its target, ``"qf0"``, ``"qf1"``, ... twin critics); methods use it to draw a
different random mask per network and to pick the papers' per-role defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from policies.core.extractor import TrunkFactory
from policies.core.heads import AgentConditionedMLP
from policies.core.trunks import Trunk
from ps_wrappers.layout import AnyLayout

__all__ = ["CRITIC_ROLES", "SharingMethod", "need_agent_ids", "role_kind", "role_seed_offset"]

CRITIC_ROLES = ("vf", "qf")
"""Role kinds of critics (value function, action-value critics)."""

_SEED_OFFSET = {"pi": 0, "vf": 1, "q": 0, "qf": 2, "trunk": 1000}


def role_kind(role: str) -> str:
    """The role without its index: ``"qf1" -> "qf"``, ``"pi" -> "pi"``."""
    return role.rstrip("0123456789") or role


def role_seed_offset(role: str) -> int:
    """Offset added to a method's seed for the network of ``role`` (a different draw per network).

    The Q-network and its target share ``"q"`` (same masks); twin critics ``"qf0"``, ``"qf1"``
    differ.
    """
    kind = role_kind(role)
    if kind not in _SEED_OFFSET:
        raise ValueError(f"unknown network role {role!r}; use one of pi, vf, q, qf<i>, trunk")
    index = role[len(kind) :]
    return _SEED_OFFSET[kind] + (10 * int(index) if index else 0)


def need_agent_ids(layout: AnyLayout, owner: str, why: str) -> None:
    """Raise if the rows carry no agent identity (vec env built with ``agent_ids=False``)."""
    if not layout.agent_ids or layout.n_agents == 0:
        raise ValueError(
            f"{owner} {why}, but the vec env was built with agent_ids=False so rows carry no agent "
            "identity; rebuild it with ps_wrappers.make_vec_env(..., agent_ids=True)"
        )


class SharingMethod:
    """Base class of the sharing methods; subclasses set :attr:`name` and override the builders.

    Attributes:
        name: The method's registry name (``"fups"``, ``"seps"``, ``"snp-ps"``, ...).
        layout: The slot layout it is bound to (after :meth:`bind`).
        owner: The class name used in error messages (after :meth:`bind`).
    """

    name: ClassVar[str] = ""
    layout: AnyLayout
    owner: str = "SharingMethod"

    def bind(self, layout: AnyLayout, owner: str) -> None:
        """Validate the options against ``layout`` and prepare what the builders need.

        Raises:
            ValueError: for options the layout cannot support.
        """
        self.layout = layout
        self.owner = owner
        self._check(layout)

    def _check(self, layout: AnyLayout) -> None:
        """Subclass hook of :meth:`bind`."""

    def trunk(self, factory: TrunkFactory) -> Trunk:
        """The method's trunk; ``factory(extra_channels)`` builds a plain one. Default: plain."""
        return factory(0)

    def head(
        self, role: str, in_dim: int, hidden: Sequence[int], out_dim: int, activation_fn: type[nn.Module]
    ) -> AgentConditionedMLP:
        """The head network of ``role`` on ``in_dim`` trunk features."""
        raise NotImplementedError

    def after_build(self, module: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Hook for methods that act during training: called once ``optimizer`` exists. Default: nothing.

        Every policy family calls it at the end of its ``_build``, after creating the optimizer,
        as ``self.sharing.after_build(self, self.optimizer)``; a family with one optimizer per
        network (SAC, TD3: ``actor.optimizer``, ``critic.optimizer``) calls it once per pair, with
        the network the optimizer trains. A method may attach submodules to ``module`` (they are
        saved and loaded with the policy) and register optimizer hooks (rebuilt on load, since
        loading builds the policy again). Target networks are never passed in: they follow
        their online network through the algorithm's target update.
        """

    def options(self) -> dict[str, Any]:
        """The method's options as keyword arguments of its constructor."""
        return {}

    def __repr__(self) -> str:
        """``Name(option=value, ...)``."""
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({opts})"
