"""Sharing policies for SB3's TD3 and DDPG: an agent-conditioned deterministic actor and Q critics.

The actor is the method's head of role ``"pi"`` followed by ``tanh`` (SB3's TD3 actor), the critics
its heads ``"qf0"``, ``"qf1"`` on ``[trunk features, action]`` (:mod:`policies.core.continuous`;
DDPG uses one). ``actor_target`` and ``critic_target`` are built with the same roles, hence the
same masks and cluster maps; sparse variants mirror the actor's topology on the actor target and
the critics' on the critic target.

Padded agents (Box actions of different sizes): the actor outputs every padded dimension, and
SB3 adds exploration noise (and TD3's target-policy smoothing noise) to all of them, but that
noise never matters: the env side drops the padded dimensions (:func:`ps_wrappers.pad_actions`)
and the critics see them as 0, so they change neither a reward nor a Q-value nor an actor
gradient. Placeholder rows (dead or waiting agents) have detached actions: the actor loss
``-Q_0(o, pi(o))`` gets no gradient from them.

Example:
    >>> from stable_baselines3 import TD3
    >>> from policies.td3 import PrunedMaskPolicy
    >>> model = TD3(PrunedMaskPolicy, venv, seed=0).learn(50_000)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from stable_baselines3.td3.policies import Actor, TD3Policy
from torch import nn

from policies.core.continuous import only_acting_actions
from policies.core.heads import AgentConditionedMLP
from policies.core.off_policy import SharingOffPolicyMixin
from policies.methods.options import (
    ActorCriticPruningOptions,
    FullSharingOptions,
    LearnedMaskOptions,
    SelectiveSharingOptions,
)
from policies.sparse.mixin import SparseEvolutionMixin
from ps_wrappers.layout import SlotLayout

__all__ = [
    "LearnedMaskPolicy",
    "FullSharingPolicy",
    "PrunedMaskPolicy",
    "SelectiveSharingPolicy",
    "SharingTD3Actor",
    "SharingTD3Policy",
    "SparseEvolvedPolicy",
    "SparsePrunedMaskPolicy",
    "SparseSelectiveSharingPolicy",
]


class SharingTD3Actor(Actor):
    """SB3's TD3 ``Actor`` over slot observations: ``tanh(head(trunk(o), i))``.

    Args:
        network: The agent-conditioned actor head ``(features, one-hot) -> A`` pre-tanh outputs.
        layout: The latent layout of the features extractor's rows.
        (others as SB3's TD3 ``Actor``)
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        net_arch: list[int],
        features_extractor: nn.Module,
        features_dim: int,
        network: AgentConditionedMLP,
        layout: SlotLayout,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
    ) -> None:
        BasePolicy.__init__(
            self,
            observation_space,
            action_space,
            features_extractor=features_extractor,
            normalize_images=normalize_images,
            squash_output=True,
        )
        self.net_arch = list(net_arch)
        self.features_dim = features_dim
        self.activation_fn = activation_fn
        self.mu = network  # type: ignore[assignment]
        self.layout = layout

    def forward(self, obs: PyTorchObs) -> torch.Tensor:
        """Actions in ``[-1, 1]``; detached on placeholder rows."""
        latent = self.extract_features(obs, self.features_extractor)
        features, one_hot, acting, _ = self.layout.split(latent)
        return only_acting_actions(torch.tanh(self.mu(features, one_hot)), acting)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = BasePolicy._get_constructor_parameters(self)
        data.update(
            net_arch=self.net_arch,
            features_dim=self.features_dim,
            activation_fn=self.activation_fn,
            features_extractor=self.features_extractor,
            network=self.mu,
            layout=self.layout,
        )
        return data


class SharingTD3Policy(SharingOffPolicyMixin, TD3Policy):
    """``TD3Policy`` (TD3, DDPG) whose actor, critics and both targets are agent-conditioned networks.

    Takes SB3's ``TD3Policy`` arguments (defaults: ``net_arch=[400, 300]``, ReLU, ``n_critics=2``
    (DDPG passes 1), ``share_features_extractor=False``). ``features_extractor_class`` is the
    trunk on the features (:mod:`policies.core.extractor`).

    Raises:
        TypeError: if the observation space is not a vec env's ``SlotBox`` / ``SlotDict`` or the
            actions are not a Box.
        ValueError: for padded actions without agent ids.
    """

    actor: SharingTD3Actor
    actor_target: SharingTD3Actor

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        features_extractor_class: type | None = None,
        features_extractor_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._setup_off_policy(observation_space, action_space, features_extractor_class, features_extractor_kwargs, "TD3")
        super().__init__(
            observation_space,
            action_space,  # type: ignore[arg-type]
            lr_schedule,
            features_extractor_class=features_extractor_class,  # type: ignore[arg-type]
            features_extractor_kwargs=features_extractor_kwargs,
            **kwargs,
        )

    def make_actor(self, features_extractor: BaseFeaturesExtractor | None = None) -> SharingTD3Actor:  # type: ignore[override]
        """The actor: the method's ``"pi"`` head (one output per action dimension) and ``tanh``."""
        net_kwargs, head, latent = self._actor_parts(self.actor_kwargs, features_extractor, get_action_dim(self.action_space))
        return SharingTD3Actor(network=head, layout=latent, **net_kwargs).to(self.device)

    @property
    def policy_network(self) -> AgentConditionedMLP:
        """The actor's head network."""
        return self.actor.mu  # type: ignore[return-value]


class FullSharingPolicy(FullSharingOptions, SharingTD3Policy):
    """FuPS and FuPS+id for TD3 and DDPG: one actor and one set of critics shared by all agents.

    Args:
        agent_id: Give actor and critics the agent one-hot (FuPS+id). Default ``False`` (FuPS).
        *args, **kwargs: SB3 ``TD3Policy`` arguments.
    """


class SelectiveSharingPolicy(SelectiveSharingOptions, SharingTD3Policy):
    """SePS for TD3 and DDPG: ``K`` actors and ``K`` copies of each critic, rows routed by cluster.

    Args:
        clusters: As for :class:`policies.ppo.SelectiveSharingPolicy` (default ``"type"``).
        *args, **kwargs: SB3 ``TD3Policy`` arguments.
    """


class PrunedMaskPolicy(ActorCriticPruningOptions, SharingTD3Policy):
    """SNP-PS and AdaPS for TD3 and DDPG: a neuron mask per agent (or cluster) in actor and critics.

    Args:
        actor_pruning: SNP-PS ratios of the actor (default ``0-0.1-...-0.1``).
        critic_pruning: SNP-PS ratios of every critic (default ``0-0.1-...-0.9``); each critic
            draws its own masks, its target shares them.
        method, clusters, threshold, agent_id, mask_seed: As for
            :class:`policies.ppo.PrunedMaskPolicy`.
        *args, **kwargs: SB3 ``TD3Policy`` arguments.
    """

    _critic_role = "qf"


class SparseEvolvedPolicy(SparseEvolutionMixin, FullSharingPolicy):
    """MAST-style sparse full sharing for TD3 and DDPG: actor and critics sparse, targets mirrored.

    Args:
        sparsity, density_method, evolve, update_interval, zeta, t_end, sparse_init,
            sparse_exclude: See :class:`~policies.sparse.mixin.SparseEvolutionMixin` (actor:
            ``policy.sparse_topology``, critics: ``policy.critic_sparse_topology``).
        agent_id: FuPS+id. Default ``False``.
        *args, **kwargs: SB3 ``TD3Policy`` arguments.
    """


class SparsePrunedMaskPolicy(SparseEvolutionMixin, PrunedMaskPolicy):
    """SNP-PS / AdaPS neuron masks on top of sparse, RigL-evolved actor and critics (TD3, DDPG)."""


class SparseSelectiveSharingPolicy(SparseEvolutionMixin, SelectiveSharingPolicy):
    """SePS (actor and critics per cluster) with sparse, RigL-evolved weights (TD3, DDPG)."""


class LearnedMaskPolicy(LearnedMaskOptions, SharingTD3Policy):
    """Kaleidoscope learned weight masks per agent for TD3 and DDPG: every head (actor and critics) masked.

    Options as :class:`policies.LearnedMaskPolicy`; the diversity term and weight reset run on each
    network's own optimizer (``actor.learned_masks`` / ``critic.learned_masks`` or
    ``policy.learned_masks``). Args: *args, **kwargs: SB3 ``TD3Policy`` arguments. The actor steps once per ``policy_delay`` critic steps; :func:`policies.set_mask_schedule` counts
    its reset interval and horizon in the actor's own optimizer steps, so actor and critics reset at
    the same env steps.
    """
