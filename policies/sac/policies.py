"""Sharing policies for SB3's SAC: an agent-conditioned squashed-Gaussian actor and twin Q critics.

The actor is the method's head of role ``"pi"`` with ``2 A`` outputs (mean and log-std of every
action dimension, as SB3's ``mu`` and ``log_std`` layers), the critics its heads ``"qf0"``,
``"qf1"`` on ``[trunk features, action]`` (:mod:`policies.core.continuous`), and the critic
target is built with the same roles (same masks and clusters). Everything is read from the
observation: the agent of each row, its acting flag, and which of its action dimensions are real.

Padded agents (Box actions of different sizes): the log-probability of a row sums only its
agent's real dimensions, so the entropy SAC maximises is that of the agent's own action; padded
dimensions are zeroed where the action enters the critics. Placeholder rows (dead or waiting
agents) get log-probability 0 and detached actions: no actor or temperature gradient. The
automatic entropy target of SAC is one number for the batch; :class:`policies.sac.MaskedSAC` makes
it per agent (``-real dims``, 0 for placeholders). ``use_sde`` is not supported.

Example:
    >>> from policies.sac import MaskedSAC, PrunedMaskPolicy
    >>> model = MaskedSAC(PrunedMaskPolicy, venv, seed=0).learn(50_000)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import SquashedDiagGaussianDistribution
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from stable_baselines3.sac.policies import LOG_STD_MAX, LOG_STD_MIN, Actor, SACPolicy
from torch import nn

from policies.core.continuous import RealActions, only_acting_actions
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
    "SharingSACActor",
    "SharingSACPolicy",
    "SparseEvolvedPolicy",
    "SparsePrunedMaskPolicy",
    "SparseSelectiveSharingPolicy",
]


class SharingSACActor(Actor):
    """SB3's SAC ``Actor`` over slot observations, with per-agent real action dimensions.

    Args:
        network: The agent-conditioned actor head ``(features, one-hot) -> [mean | log_std]``.
        layout: The latent layout of the features extractor's rows.
        real_actions: The agents' real action dimensions.
        (others as SB3's SAC ``Actor``)

    Attributes:
        row_target_entropy: ``-real dims`` of every row of the last :meth:`action_log_prob` call
            (0 for placeholder rows), or ``None``; :class:`~policies.sac.MaskedSAC` uses its mean
            as the entropy target of the batch.
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
        real_actions: RealActions,
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
        self.use_sde = False
        self.sde_features_extractor = None
        self.net_arch = list(net_arch)
        self.features_dim = features_dim
        self.activation_fn = activation_fn
        self.log_std_init, self.use_expln, self.full_std, self.clip_mean = -3.0, False, True, 2.0
        self.action_dim = get_action_dim(action_space)
        self.action_dist = SquashedDiagGaussianDistribution(self.action_dim)  # type: ignore[assignment]
        self.policy_net = network
        self.layout = layout
        self.real_actions = real_actions
        self.row_target_entropy: torch.Tensor | None = None

    def _params(self, obs: PyTorchObs) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        latent = self.extract_features(obs, self.features_extractor)
        features, one_hot, acting, _ = self.layout.split(latent)
        mean, log_std = self.policy_net(features, one_hot).split(self.action_dim, dim=-1)
        return mean, torch.clamp(log_std, LOG_STD_MIN, LOG_STD_MAX), one_hot, acting[..., 0] > 0.5

    def get_action_dist_params(self, obs: PyTorchObs) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Mean and (clamped) log-std of every row's Gaussian before the tanh squashing."""
        mean, log_std, _, _ = self._params(obs)
        return mean, log_std, {}

    def action_log_prob(self, obs: PyTorchObs) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterised actions and their log-probability over each row's real dimensions.

        Placeholder rows get log-probability 0 and detached actions (no actor gradient).
        """
        mean, log_std, one_hot, acting = self._params(obs)
        dist = self.action_dist.proba_distribution(mean, log_std)  # type: ignore[call-arg]
        gaussian = dist.distribution.rsample()
        actions = torch.tanh(gaussian)
        per_dim = dist.distribution.log_prob(gaussian) - torch.log(1 - actions**2 + self.action_dist.epsilon)
        if self.real_actions.padded:
            per_dim = per_dim * self.real_actions(one_hot)
        log_prob = torch.where(acting, per_dim.sum(dim=-1), 0.0)
        self.row_target_entropy = torch.where(acting, -self.real_actions.row_dims(one_hot), 0.0).detach()
        return only_acting_actions(actions, acting), log_prob

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = BasePolicy._get_constructor_parameters(self)
        data.update(
            net_arch=self.net_arch,
            features_dim=self.features_dim,
            activation_fn=self.activation_fn,
            features_extractor=self.features_extractor,
            network=self.policy_net,
            layout=self.layout,
            real_actions=self.real_actions,
        )
        return data


class SharingSACPolicy(SharingOffPolicyMixin, SACPolicy):
    """``SACPolicy`` whose actor and critics (and critic target) are agent-conditioned networks.

    Takes SB3's ``SACPolicy`` arguments (defaults: ``net_arch=[256, 256]`` for actor and critics,
    ReLU, ``n_critics=2``, ``share_features_extractor=False``). ``features_extractor_class`` is the
    trunk on the features (identity for vectors, a CNN for images; :mod:`policies.core.extractor`).

    Raises:
        TypeError: if the observation space is not a vec env's ``SlotBox`` / ``SlotDict`` or the
            actions are not a Box.
        ValueError: for ``use_sde=True``, or padded actions without agent ids.
    """

    actor: SharingSACActor

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        use_sde: bool = False,
        features_extractor_class: type | None = None,
        features_extractor_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if use_sde:
            raise ValueError(f"{type(self).__name__}: use_sde=True is not supported; use SAC's Gaussian exploration")
        self._setup_off_policy(observation_space, action_space, features_extractor_class, features_extractor_kwargs, "SAC")
        super().__init__(
            observation_space,
            action_space,  # type: ignore[arg-type]
            lr_schedule,
            use_sde=False,
            features_extractor_class=features_extractor_class,  # type: ignore[arg-type]
            features_extractor_kwargs=features_extractor_kwargs,
            **kwargs,
        )

    def make_actor(self, features_extractor: BaseFeaturesExtractor | None = None) -> SharingSACActor:  # type: ignore[override]
        """The actor: the method's ``"pi"`` head with a mean and a log-std per action dimension."""
        kwargs = {k: v for k, v in self.actor_kwargs.items() if k not in ("use_sde", "log_std_init", "use_expln", "clip_mean")}
        net_kwargs, head, latent = self._actor_parts(kwargs, features_extractor, 2 * get_action_dim(self.action_space))
        actor = SharingSACActor(network=head, layout=latent, real_actions=self.real_actions(), **net_kwargs)
        return actor.to(self.device)

    @property
    def policy_network(self) -> AgentConditionedMLP:
        """The actor's head network."""
        return self.actor.policy_net


class FullSharingPolicy(FullSharingOptions, SharingSACPolicy):
    """FuPS and FuPS+id for SAC: one actor and one set of critics shared by all agents.

    Args:
        agent_id: Give actor and critics the agent one-hot (FuPS+id). Default ``False`` (FuPS).
        *args, **kwargs: SB3 ``SACPolicy`` arguments.
    """


class SelectiveSharingPolicy(SelectiveSharingOptions, SharingSACPolicy):
    """SePS for SAC: ``K`` actors and ``K`` copies of each critic, rows routed by cluster.

    Args:
        clusters: As for :class:`policies.ppo.SelectiveSharingPolicy` (default ``"type"``).
        *args, **kwargs: SB3 ``SACPolicy`` arguments.
    """


class PrunedMaskPolicy(ActorCriticPruningOptions, SharingSACPolicy):
    """SNP-PS and AdaPS for SAC: a neuron mask per agent (or cluster) in the actor and every critic.

    Args:
        actor_pruning: SNP-PS ratios of the actor (default ``0-0.1-...-0.1``).
        critic_pruning: SNP-PS ratios of every critic (default ``0-0.1-...-0.9``); each critic
            (and the target of each) draws its own masks.
        method, clusters, threshold, agent_id, mask_seed: As for
            :class:`policies.ppo.PrunedMaskPolicy`.
        *args, **kwargs: SB3 ``SACPolicy`` arguments.
    """

    _critic_role = "qf"


class SparseEvolvedPolicy(SparseEvolutionMixin, FullSharingPolicy):
    """MAST-style sparse full sharing for SAC: actor and critics sparse, critic target mirrored.

    Args:
        sparsity, density_method, evolve, update_interval, zeta, t_end, sparse_init,
            sparse_exclude: See :class:`~policies.sparse.mixin.SparseEvolutionMixin`; they apply
            to the actor (``policy.sparse_topology``) and the critics
            (``policy.critic_sparse_topology``) alike.
        agent_id: FuPS+id. Default ``False``.
        *args, **kwargs: SB3 ``SACPolicy`` arguments.
    """


class SparsePrunedMaskPolicy(SparseEvolutionMixin, PrunedMaskPolicy):
    """SNP-PS / AdaPS neuron masks on top of sparse, RigL-evolved actor and critics (SAC)."""


class SparseSelectiveSharingPolicy(SparseEvolutionMixin, SelectiveSharingPolicy):
    """SePS (actor and critics per cluster) with sparse, RigL-evolved weights (SAC)."""


class LearnedMaskPolicy(LearnedMaskOptions, SharingSACPolicy):
    """Kaleidoscope learned weight masks per agent for SAC: every head (actor and critics) masked.

    Options as :class:`policies.LearnedMaskPolicy`; the diversity term and weight reset run on each
    network's own optimizer (``actor.learned_masks`` / ``critic.learned_masks`` or
    ``policy.learned_masks``). Args: *args, **kwargs: SB3 ``SACPolicy`` arguments (train with :class:`policies.sac.MaskedSAC`).
    """
