"""Sharing policies for SB3's actor-critic algorithms (PPO, A2C; sb3-contrib's TRPO).

The actor and the critic are agent-conditioned networks (:mod:`policies.core.heads`) that include
their output layers, so SePS can give every cluster its own heads; SB3's ``action_net`` and
``value_net`` are identities. Everything a policy needs comes from the observation
(:class:`ps_wrappers.SlotLayout`): the agent of each row, its acting flag and its action mask.

* Invalid actions get the logit :data:`~policies.core.action_masks.MASKED_LOGIT` inside
  ``mlp_extractor.forward_actor``, which SB3's ``forward``, ``evaluate_actions``,
  ``get_distribution`` and ``_predict`` all go through, so no path samples an invalid action.
* Placeholder rows (acting flag 0) contribute no actor gradient: their log-probability and
  entropy are set to 0 in ``forward`` and ``evaluate_actions`` alike, so PPO's ratio is 1 for them.
  (With discrete actions their single-action mask already gives exactly 0; this also covers Box
  actions.) The critic still learns on them.
* Box actions: SB3's state-independent ``log_std`` is one vector for the one shared network of
  FuPS, SNP-PS, AdaPS and sparse sharing; SePS, whose clusters are separate networks, has one
  ``log_std`` per cluster (:class:`ClusterLogStd`), carried to the distribution inside the actor
  latent.
* Box actions of padded agents (agents whose Box actions are smaller than the padded Box): each
  row's log-probability and entropy sum its agent's real dimensions only
  (:class:`~policies.core.continuous.RealDimsDiagGaussian`; the row's 0/1 mask of real dimensions
  travels at the end of the actor latent), so padded dimensions never move PPO's ratio, A2C's
  policy gradient or the entropy bonus.

Example:
    >>> from stable_baselines3 import PPO
    >>> venv = ps_wrappers.make_vec_env(simple_world_comm_v3.parallel_env, n_envs=4)  # doctest: +SKIP
    >>> model = PPO(PrunedMaskPolicy, venv, policy_kwargs=dict(critic_pruning=0.5))      # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import Distribution
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from torch import nn

from policies.core.action_masks import mask_scores
from policies.core.continuous import RealActions, RealDimsDiagGaussian
from policies.core.heads import AgentConditionedMLP
from policies.core.sb3 import SharingPolicyMixin, actor_output_dim
from policies.methods.options import (
    ActorCriticPruningOptions,
    FullSharingOptions,
    LearnedMaskOptions,
    SelectiveSharingOptions,
)
from policies.sparse.mixin import SparseEvolutionMixin
from ps_wrappers.layout import SlotLayout

__all__ = [
    "FullSharingPolicy",
    "LearnedMaskPolicy",
    "PrunedMaskPolicy",
    "SelectiveSharingPolicy",
    "ClusterLogStd",
    "SharingActorCriticPolicy",
    "SlotActorCriticExtractor",
    "SparseEvolvedPolicy",
    "SparsePrunedMaskPolicy",
    "SparseSelectiveSharingPolicy",
]


class ClusterLogStd(nn.Module):
    """State-independent Gaussian ``log_std``, one vector per cluster of agents.

    Args:
        cluster_of_agent: Length-``N`` cluster index of every agent.
        action_dim: Size of the Box action.
        init: Initial value of every entry (SB3's ``log_std_init``).
    """

    cluster_of_agent: torch.Tensor

    def __init__(self, cluster_of_agent: Any, action_dim: int, init: float) -> None:
        super().__init__()
        clusters = torch.as_tensor(list(cluster_of_agent), dtype=torch.long)
        self.register_buffer("cluster_of_agent", clusters)
        self.log_std = nn.Parameter(torch.full((int(clusters.max()) + 1, action_dim), float(init)))

    def forward(self, agent_one_hot: torch.Tensor) -> torch.Tensor:
        """``log_std`` of every row's cluster, ``[B, action_dim]``."""
        return self.log_std.index_select(0, self.cluster_of_agent.index_select(0, agent_one_hot.argmax(-1)))


class SlotActorCriticExtractor(nn.Module):
    """SB3 ``mlp_extractor`` over slot observations: masked actor logits and critic values.

    ``latent_dim_pi`` is the size of the distribution parameters (logits or means, followed by
    the row's ``log_std`` when ``log_std`` is given) and ``latent_dim_vf`` is 1: the networks
    already end with their output layers.

    Args:
        layout: The slot layout.
        policy_net: Actor network ``(features, agent one-hot) -> distribution parameters``.
        value_net: Critic network ``(features, agent one-hot) -> value``.
        mask_actions: Apply the observation's action mask to the actor output.
        log_std: Per-cluster Gaussian ``log_std`` appended to the actor output (SePS, Box actions).
        real_actions: Each agent's real Box action dimensions, appended last to the actor output
            (padded Box actions only).
    """

    def __init__(
        self,
        layout: SlotLayout,
        policy_net: AgentConditionedMLP,
        value_net: AgentConditionedMLP,
        mask_actions: bool,
        log_std: ClusterLogStd | None = None,
        real_actions: RealActions | None = None,
    ) -> None:
        super().__init__()
        self.layout = layout
        self.policy_net = policy_net
        self.value_net = value_net
        self.mask_actions = mask_actions
        self.log_std = log_std
        self.real_actions = real_actions
        self.latent_dim_pi = policy_net.out_dim * (1 if log_std is None else 2) + (
            0 if real_actions is None else real_actions.action_dim
        )
        self.latent_dim_vf = value_net.out_dim

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(masked actor output, value)`` of a batch of slot observations."""
        features, one_hot, _, mask = self.layout.split(obs)
        return self._actor(features, one_hot, mask), self.value_net(features, one_hot)

    def forward_actor(self, obs: torch.Tensor) -> torch.Tensor:
        """Actor output, with invalid actions' logits set to ``MASKED_LOGIT``."""
        features, one_hot, _, mask = self.layout.split(obs)
        return self._actor(features, one_hot, mask)

    def _actor(self, features: torch.Tensor, one_hot: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = self.policy_net(features, one_hot)
        if self.mask_actions:
            out = mask_scores(out, mask)
        if self.log_std is not None:
            out = torch.cat([out, self.log_std(one_hot)], dim=-1)
        if self.real_actions is not None:
            out = torch.cat([out, self.real_actions(one_hot)], dim=-1)
        return out

    def forward_critic(self, obs: torch.Tensor) -> torch.Tensor:
        """Value ``[B, 1]``."""
        features, one_hot, _, _ = self.layout.split(obs)
        return self.value_net(features, one_hot)


def _hidden_sizes(net_arch: Any, owner: str) -> tuple[list[int], list[int]]:
    if isinstance(net_arch, dict):
        return list(net_arch.get("pi", [])), list(net_arch.get("vf", []))
    if isinstance(net_arch, (list, tuple)) and all(isinstance(w, int) for w in net_arch):
        return list(net_arch), list(net_arch)
    raise ValueError(
        f"{owner}: net_arch must be a list of hidden widths or dict(pi=[...], vf=[...]), got {net_arch!r}"
    )


class SharingActorCriticPolicy(SharingPolicyMixin, ActorCriticPolicy):
    """``ActorCriticPolicy`` whose actor and critic are agent-conditioned networks.

    Takes SB3's ``ActorCriticPolicy`` arguments (defaults: ``net_arch=dict(pi=[64, 64],
    vf=[64, 64])``, tanh, orthogonal initialisation with gains 0.01 for the actor head and 1 for
    the critic head). ``features_extractor_class`` is the trunk on the features (default: the
    identity for vectors, NatureCNN or :class:`~policies.core.cnn.GridCNN` for images; see
    :mod:`policies.core.extractor`), shared by actor and critic unless
    ``share_features_extractor=False``. ``use_sde`` is not supported.

    Raises:
        TypeError: if the observation space is not a vec env's ``SlotBox`` / ``SlotDict``.
        ValueError: for unsupported options (``use_sde``, a trunk that cannot take the features).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        use_sde: bool = False,
        features_extractor_class: type | None = None,
        features_extractor_kwargs: dict[str, Any] | None = None,
        share_features_extractor: bool = True,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        if use_sde:
            raise ValueError(f"{owner}: use_sde=True is not supported; use Gaussian exploration (use_sde=False)")
        self._setup_sharing(observation_space, action_space, features_extractor_class, features_extractor_kwargs)
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            use_sde=use_sde,
            features_extractor_class=features_extractor_class,  # type: ignore[arg-type]
            features_extractor_kwargs=features_extractor_kwargs,
            share_features_extractor=share_features_extractor,
            **kwargs,
        )

    def _build_mlp_extractor(self) -> None:
        pi_hidden, vf_hidden = _hidden_sizes(self.net_arch, type(self).__name__)
        n_out = actor_output_dim(self.action_space)
        groups = self._log_std_clusters()
        log_std = None
        if groups is not None and isinstance(self.action_space, spaces.Box):
            log_std = ClusterLogStd(groups, n_out, self.log_std_init)
        latent = self._head_layout()
        real_actions = None
        if isinstance(self.action_space, spaces.Box):
            real_actions = RealActions(latent, self.action_space, type(self).__name__)
            if real_actions.padded:
                self.action_dist = RealDimsDiagGaussian(n_out)
            else:
                real_actions = None
        self.mlp_extractor = SlotActorCriticExtractor(  # type: ignore[assignment]
            latent,
            self.sharing.head("pi", latent.feature_dim, pi_hidden, n_out, self.activation_fn),
            self.sharing.head("vf", latent.feature_dim, vf_hidden, 1, self.activation_fn),
            mask_actions=latent.n_actions > 0,
            log_std=log_std,
            real_actions=real_actions,
        )

    def _head_layout(self) -> SlotLayout:
        """Layout of the rows the heads read (the features extractor's latent rows; see recurrent)."""
        return self.latent_layout

    def _log_std_clusters(self) -> Any:
        """Cluster of each agent when each cluster has its own Box-action ``log_std``; ``None``: one."""
        return None

    def _build(self, lr_schedule: Schedule) -> None:
        super()._build(lr_schedule)
        # The networks end with their own (possibly per-cluster) output layers.
        self.action_net = nn.Identity()  # type: ignore[assignment]
        self.value_net = nn.Identity()  # type: ignore[assignment]
        extractor: SlotActorCriticExtractor = self.mlp_extractor  # type: ignore[assignment]
        if extractor.log_std is not None:
            del self.log_std  # replaced by the per-cluster table inside the actor latent
        if self.ortho_init:
            for head in extractor.policy_net.head_layers():
                self.init_weights(head, gain=0.01)
            for head in extractor.value_net.head_layers():
                self.init_weights(head, gain=1.0)
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)  # type: ignore[call-arg]
        self.sharing.after_build(self, self.optimizer)
        self._post_build()

    def _post_build(self) -> None:
        """Subclass hook called at the end of ``_build``, once ``self.optimizer`` exists."""

    @property
    def policy_network(self) -> AgentConditionedMLP:
        """The actor head network."""
        return self.mlp_extractor.policy_net  # type: ignore[return-value]

    @property
    def value_network(self) -> AgentConditionedMLP:
        """The critic head network."""
        return self.mlp_extractor.value_net  # type: ignore[return-value]

    def _get_action_dist_from_latent(self, latent_pi: torch.Tensor) -> Distribution:
        extractor: SlotActorCriticExtractor = self.mlp_extractor  # type: ignore[assignment]
        real = None
        if extractor.real_actions is not None:
            latent_pi, real = latent_pi.split([latent_pi.shape[-1] - extractor.real_actions.action_dim, extractor.real_actions.action_dim], dim=-1)
        if extractor.log_std is None:
            distribution = super()._get_action_dist_from_latent(latent_pi)
        else:
            mean, log_std = latent_pi.split(extractor.policy_net.out_dim, dim=-1)
            distribution = self.action_dist.proba_distribution(mean, log_std)  # type: ignore[call-arg]
        if real is not None:
            distribution.restrict(real)  # type: ignore[attr-defined]
        return distribution

    def _only_acting(self, obs: PyTorchObs, values: torch.Tensor) -> torch.Tensor:
        return torch.where(self._acting_mask(obs), values, 0.0)

    def forward(self, obs: PyTorchObs, deterministic: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """SB3's forward (rollouts); placeholder rows get log-probability 0.

        Raises:
            ValueError: if the batch's indicator segments are not 0/1 (:meth:`SlotLayout.check_indicators`).
        """
        self._check_acting_rows(obs)
        actions, values, log_prob = super().forward(obs, deterministic)  # type: ignore[arg-type]
        return actions, values, self._only_acting(obs, log_prob)

    def _predict(self, observation: PyTorchObs, deterministic: bool = False) -> torch.Tensor:
        self._check_acting_rows(observation)
        return super()._predict(observation, deterministic)

    def evaluate_actions(
        self, obs: PyTorchObs, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """SB3's evaluate_actions; placeholder rows get log-probability and entropy 0."""
        values, log_prob, entropy = super().evaluate_actions(obs, actions)
        if entropy is not None:
            entropy = self._only_acting(obs, entropy)
        return values, self._only_acting(obs, log_prob), entropy

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(share_features_extractor=self.share_features_extractor, **self._method_kwargs())
        return data


class FullSharingPolicy(FullSharingOptions, SharingActorCriticPolicy):
    """FuPS and FuPS+id for PPO and A2C: one actor and one critic shared by all agents.

    Args:
        agent_id: Give the network the agent one-hot (FuPS+id; Terry et al., 2020, Theorem 5).
            Default ``False`` (FuPS).
        id_input: ``"features"`` (default: the one-hot is appended to the trunk's output, i.e.
            to the observation for vectors) or ``"planes"`` (image observations: one-hot planes
            appended to the image channels before the CNN).
        *args, **kwargs: SB3 ``ActorCriticPolicy`` arguments.
    """


class SelectiveSharingPolicy(SelectiveSharingOptions, SharingActorCriticPolicy):
    """SePS for PPO and A2C (Christianos et al., 2021): ``K`` actors and ``K`` critics.

    Agent ``i`` is controlled and evaluated by the networks of its cluster ``mu(i)``; only agents
    of the same cluster share parameters.

    Args:
        clusters: ``"type"`` (default: by agent name, :func:`policies.agent_types`), ``"agent"``
            (one network per agent, NoPS), a :class:`policies.ClusterResult` from
            :func:`policies.cluster_agents` (the paper's VAE + k-means), a cluster id per agent,
            or ``{agent name: cluster id}``.
        share_trunk: With a CNN trunk (images), share one trunk across clusters; default
            ``False``: one trunk per cluster, as separate networks.
        *args, **kwargs: SB3 ``ActorCriticPolicy`` arguments.

    With Box actions every cluster also has its own Gaussian ``log_std`` (:class:`ClusterLogStd`),
    as separate networks would.
    """

    def _log_std_clusters(self) -> Any:
        return self.cluster_of_agent


class PrunedMaskPolicy(ActorCriticPruningOptions, SharingActorCriticPolicy):
    """SNP-PS and AdaPS for PPO and A2C: one actor and one critic, a neuron mask per agent or cluster.

    Args:
        method: ``"snp-ps"`` (default; Kim & Sung, 2023: a random structured mask per agent) or
            ``"adaps"`` (Li et al., 2024, Eq. 5: a mask per identity cluster from a fixed random
            mapping network, sigmoid, threshold).
        actor_pruning: SNP-PS ratio of pruned neurons per hidden layer of the actor: a float for
            all layers or one per layer. Default :func:`policies.default_pruning` (Table 1:
            ``0-0.1-...-0.1``).
        critic_pruning: The same for the critic. Default ``0-0.1-...-0.9`` (Table 1, LBF critics).
        clusters: AdaPS clusters, as for :class:`SelectiveSharingPolicy` (default ``"type"``).
        threshold: AdaPS drop threshold ``lambda`` (0.2).
        agent_id: Also concatenate the agent one-hot (SNP-PS+id).
        mask_seed: Seed of the masks (default: drawn from torch's RNG, i.e. from SB3's ``seed``).
        mask_channels: With a CNN trunk, also mask every convolution's output channels per agent
            (SNP-PS) or cluster (AdaPS).
        channel_pruning: SNP-PS ratio of masked channels per convolution (float or one per
            convolution; default 0.1).
        *args, **kwargs: SB3 ``ActorCriticPolicy`` arguments.
    """


class LearnedMaskPolicy(LearnedMaskOptions, SharingActorCriticPolicy):
    """Kaleidoscope for PPO and A2C (Li, Pan & Zhang, 2024): one actor and one critic, learned weight masks per agent.

    Every layer of the actor and of the critic has shared weights and a learnable threshold per
    agent and weight; the policy's optimizer step adds the diversity term and runs the weight
    reset (``policy.learned_masks``, a :class:`policies.KaleidoscopeRegularizer`). Pass
    ``callback=policies.LearnedMaskCallback()`` to ``learn`` (or call
    :func:`policies.set_mask_schedule`) so that resets follow ``reset_interval`` env timesteps.

    Args:
        clusters: ``"agent"`` (default: a mask per agent), ``"type"``, a
            :class:`policies.ClusterResult`, ids per agent or ``{agent: id}``.
        agent_id: Concatenate the agent one-hot to the input (default ``True``, as released).
        mask_trunk: Also mask the CNN trunk's convolutions (image observations).
        div_coef, coef_mode: Diversity coefficient ``alpha`` (0.5) and how it is scaled
            (``"grad"``, default, or ``"fixed"``).
        reset_interval, reset_ratio, reset_first_layer: Reset every 200,000 env timesteps each
            weight all agents mask out with probability 0.1, first layer excluded.
        threshold_init_scale, threshold_init_bias: Thresholds start at ``-(U(0,1) * 5 + 5)``.
        *args, **kwargs: SB3 ``ActorCriticPolicy`` arguments.
    """


class SparseEvolvedPolicy(SparseEvolutionMixin, FullSharingPolicy):
    """MAST-style sparse full sharing for PPO and A2C (90% sparse, RigL-evolved by default).

    Args:
        sparsity, density_method, evolve, update_interval, zeta, t_end, sparse_init,
            sparse_exclude: See :class:`~policies.sparse.mixin.SparseEvolutionMixin`.
        agent_id: Concatenate the agent one-hot to the input (FuPS+id). Default ``False``.
        *args, **kwargs: SB3 ``ActorCriticPolicy`` arguments.
    """


class SparsePrunedMaskPolicy(SparseEvolutionMixin, PrunedMaskPolicy):
    """SNP-PS / AdaPS neuron masks per agent on top of sparse, RigL-evolved weights (PPO, A2C)."""


class SparseSelectiveSharingPolicy(SparseEvolutionMixin, SelectiveSharingPolicy):
    """SePS (one network per cluster) with sparse, RigL-evolved weights (PPO, A2C)."""
