"""Sparse-evolved sharing policies (MAST): every sharing method with RigL-evolved sparse weights.

:class:`SparseEvolvedPolicy` (PPO, A2C) and :class:`SparseEvolvedQPolicy` (DQN) are full sharing
(FuPS, or FuPS+id with ``agent_id=True``) whose linear layers are sparse at ``sparsity`` (default
90%), with Erdos-Renyi layer densities and RigL topology evolution inside training (MAST section
4.1, Algorithm 1). Sparsity composes with the other methods: :class:`SparsePrunedMaskPolicy` is
SNP-PS / AdaPS with sparse weights, :class:`SparseSelectiveSharingPolicy` is SePS with sparse
weights, and :func:`sparse_evolved` adds sparsity to any other SB3 policy class.

The sparse kwargs (``sparsity``, ``density_method``, ``evolve``, ``update_interval``, ``zeta``,
``t_end``, ``sparse_exclude``) are documented on
:class:`~policies.sparse_mixin.SparseEvolutionMixin`; ``evolve=False`` gives a static random
sparse network. The method's own kwargs pass through unchanged.

Example:
    >>> import ps_wrappers
    >>> from stable_baselines3 import PPO
    >>> from ps_wrappers.testing import AgentIdentityEnv
    >>> venv = ps_wrappers.make_vec_env(AgentIdentityEnv, n_envs=2, seed=0)
    >>> model = PPO(SparseEvolvedPolicy, venv, n_steps=32, batch_size=32,
    ...             policy_kwargs=dict(sparsity=0.8, agent_id=True))
    >>> round(model.policy.sparse_topology.sparsity(), 2)
    0.8
"""

from __future__ import annotations

from typing import Any

from policies.actor_critic import FullSharingPolicy, PrunedMaskPolicy, SelectiveSharingPolicy
from policies.q_policies import FullSharingQPolicy, PrunedMaskQPolicy, SelectiveSharingQPolicy
from policies.sparse_mixin import SparseEvolutionMixin

__all__ = [
    "SparseEvolvedPolicy",
    "SparseEvolvedQPolicy",
    "SparsePrunedMaskPolicy",
    "SparsePrunedMaskQPolicy",
    "SparseSelectiveSharingPolicy",
    "SparseSelectiveSharingQPolicy",
    "sparse_evolved",
]


class SparseEvolvedPolicy(SparseEvolutionMixin, FullSharingPolicy):
    """MAST-style sparse full sharing for PPO and A2C (90% sparse, RigL-evolved by default).

    Args:
        sparsity, density_method, evolve, update_interval, zeta, t_end, sparse_exclude: See
            :class:`~policies.sparse_mixin.SparseEvolutionMixin`.
        agent_id: Concatenate the agent one-hot to the input (FuPS+id). Default ``False``.
        *args, **kwargs: SB3 ``ActorCriticPolicy`` arguments.
    """


class SparseEvolvedQPolicy(SparseEvolutionMixin, FullSharingQPolicy):
    """MAST-style sparse full sharing for DQN; the target network carries the same masks.

    Args:
        sparsity, density_method, evolve, update_interval, zeta, t_end, sparse_exclude: See
            :class:`~policies.sparse_mixin.SparseEvolutionMixin`.
        agent_id: Concatenate the agent one-hot to the input (FuPS+id). Default ``False``.
        *args, **kwargs: SB3 ``DQNPolicy`` arguments.
    """


class SparsePrunedMaskPolicy(SparseEvolutionMixin, PrunedMaskPolicy):
    """SNP-PS / AdaPS neuron masks per agent on top of sparse, RigL-evolved weights (PPO, A2C)."""


class SparsePrunedMaskQPolicy(SparseEvolutionMixin, PrunedMaskQPolicy):
    """SNP-PS / AdaPS neuron masks per agent on top of sparse, RigL-evolved weights (DQN)."""


class SparseSelectiveSharingPolicy(SparseEvolutionMixin, SelectiveSharingPolicy):
    """SePS (one network per cluster) with sparse, RigL-evolved weights (PPO, A2C)."""


class SparseSelectiveSharingQPolicy(SparseEvolutionMixin, SelectiveSharingQPolicy):
    """SePS (one Q-network per cluster) with sparse, RigL-evolved weights (DQN)."""


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
