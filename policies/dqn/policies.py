"""Sharing policies for SB3's DQN.

The Q-network is an agent-conditioned network (:mod:`policies.core.heads`) whose Q-values of invalid
actions are set to :data:`~policies.core.action_masks.MASKED_LOGIT`: the greedy action (acting and
evaluation) and the target ``max_a' Q_target(o', a')`` (DQN's ``train``, on the next observation's
mask) only ever consider valid actions. The target network is built like the online one and
carries the same masks and cluster map.

Random actions are the algorithm's business: SB3's ``DQN`` draws warm-up and epsilon actions with
``action_space.sample()``, which ignores masks. Use :class:`policies.MaskedDQN`, which samples
uniformly among each row's valid actions with one epsilon coin per row. When a stock ``DQN``
trains one of these policies on an env whose masks exclude actions, the policy emits a
:class:`MaskedExplorationWarning` on its first training batch.

Example:
    >>> model = MaskedDQN(SelectiveSharingQPolicy, venv, learning_starts=1000)  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork
from torch import nn

from policies.core.action_masks import mask_scores
from policies.core.extractor import SlotFeaturesExtractor
from policies.core.heads import AgentConditionedMLP
from policies.core.sb3 import SharingPolicyMixin
from policies.methods.options import (
    FullSharingOptions,
    LearnedMaskOptions,
    SelectiveSharingOptions,
    ValuePruningOptions,
)
from policies.sparse.mixin import SparseEvolutionMixin
from ps_wrappers.layout import SlotLayout

__all__ = [
    "AgentQNetwork",
    "ExplorationCheck",
    "FullSharingQPolicy",
    "LearnedMaskQPolicy",
    "MaskedExplorationWarning",
    "PrunedMaskQPolicy",
    "SelectiveSharingQPolicy",
    "SharingQPolicy",
    "SparseEvolvedQPolicy",
    "SparsePrunedMaskQPolicy",
    "SparseSelectiveSharingQPolicy",
    "ValueSharingMixin",
]


class MaskedExplorationWarning(UserWarning):
    """A DQN without masked exploration trains a policy on an env whose masks exclude actions."""


class ExplorationCheck:
    """Warns once when a training batch shows that the algorithm explores without masks.

    Mixed into the value networks (Q-network, quantile network): ``masked_exploration`` is set
    by :class:`policies.MaskedDQN` / :class:`policies.dqn.MaskedQRDQN`; a forward pass in
    training mode with autograd on (a gradient step) whose acting rows have masked-out actions
    emits a :class:`MaskedExplorationWarning` otherwise.
    """

    owner: str
    training: bool
    masked_exploration: bool = False
    _warned: bool = False
    algorithm_hint: str = "MaskedDQN"

    def _check_batch(self, acting: torch.Tensor, mask: torch.Tensor) -> None:
        if not self.training or not torch.is_grad_enabled() or self.masked_exploration or self._warned:
            return
        if bool((mask[acting[:, 0] > 0.5] < 0.5).any()):
            self._warned = True
            warnings.warn(
                f"{self.owner} is being trained by an algorithm that explores with action_space.sample(), "
                "which ignores the action masks of this env: its warm-up and epsilon-greedy actions "
                f"include invalid (padded or masked) actions. Train with policies.{self.algorithm_hint} "
                f"instead, e.g. {self.algorithm_hint.rsplit('.', 1)[-1]}({self.owner}, venv).",
                MaskedExplorationWarning,
                stacklevel=3,
            )


class AgentQNetwork(ExplorationCheck, QNetwork):
    """SB3 ``QNetwork`` over slot observations: ``Q(o, agent, .)`` with invalid actions masked.

    Args:
        network: The agent-conditioned network ``(features, agent one-hot) -> Q-values``.
        layout: The slot layout.
        owner: Policy class name (for messages).
        (others as SB3's ``QNetwork``)
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        network: AgentConditionedMLP,
        layout: SlotLayout,
        owner: str = "SharingQPolicy",
        net_arch: list[int] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
    ) -> None:
        BasePolicy.__init__(
            self, observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
        )
        self.net_arch = list(net_arch or [])
        self.activation_fn = activation_fn
        self.features_dim = features_dim
        self.q_net = network  # type: ignore[assignment]
        self.layout = layout
        self.owner = owner
        self.masked_exploration = False
        self._warned = False

    def forward(self, obs: PyTorchObs) -> torch.Tensor:
        """Q-values ``[B, n]``; invalid actions get ``MASKED_LOGIT``."""
        features, one_hot, acting, mask = self.layout.split(self.extract_features(obs, self.features_extractor))
        self._check_batch(acting, mask)  # a forward pass in training mode with autograd on is a gradient step
        return mask_scores(self.q_net(features, one_hot), mask)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(network=self.q_net, layout=self.layout, owner=self.owner)
        return data


class ValueSharingMixin(SharingPolicyMixin):
    """What the sharing policies of value-based algorithms (DQN, QR-DQN) have in common.

    Discrete actions, the indicator check where the policy acts, ``masked_exploration`` on the
    online and target networks, and the method options saved with the policy.
    """

    def _setup_value_sharing(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        features_extractor_class: type | None,
        features_extractor_kwargs: dict[str, Any] | None,
        algorithm: str,
    ) -> None:
        if not isinstance(action_space, spaces.Discrete):
            raise TypeError(
                f"{type(self).__name__}: {algorithm} needs a Discrete action space, got {action_space!r}; use the "
                "actor-critic policies (policies.ppo, policies.sac, policies.td3) for MultiDiscrete or Box actions"
            )
        self._setup_sharing(observation_space, action_space, features_extractor_class, features_extractor_kwargs)

    def _value_networks(self) -> tuple[ExplorationCheck, ...]:
        """The online and target value networks."""
        raise NotImplementedError

    def _predict(self, obs: PyTorchObs, deterministic: bool = True) -> torch.Tensor:
        # Acting (``predict``, rollouts): refuse rescaled indicator segments here; batches
        # drawn from the replay buffer are the same rows, already checked when they were acted on.
        self._check_acting_rows(obs)
        return super()._predict(obs, deterministic)  # type: ignore[misc]

    @property
    def masked_exploration(self) -> bool:
        """Whether the training algorithm samples random actions among valid ones only."""
        return self._value_networks()[0].masked_exploration

    @masked_exploration.setter
    def masked_exploration(self, value: bool) -> None:
        for network in self._value_networks():
            network.masked_exploration = bool(value)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()  # type: ignore[misc]
        data.update(self._method_kwargs())
        return data


class SharingQPolicy(ValueSharingMixin, DQNPolicy):
    """``DQNPolicy`` whose Q-network (and target) is an agent-conditioned network.

    Takes SB3's ``DQNPolicy`` arguments (defaults: ``net_arch=[64, 64]``, ReLU). The action space
    must be Discrete (padded); the features extractor is the identity on the slot observation.

    Attributes:
        masked_exploration: Set by :class:`policies.MaskedDQN`. When False and a training batch
            (a forward pass in training mode with autograd on, as in DQN's ``train``) has acting
            rows with masked-out actions, a :class:`MaskedExplorationWarning` is emitted once.

    Raises:
        TypeError: if the observation space is not a vec env's ``SlotBox`` or actions are not
            Discrete.
        ValueError: for another features extractor.
    """

    q_net: AgentQNetwork
    q_net_target: AgentQNetwork

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        features_extractor_class: type | None = None,
        features_extractor_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._setup_value_sharing(
            observation_space, action_space, features_extractor_class, features_extractor_kwargs, "DQN"
        )
        super().__init__(
            observation_space,
            action_space,  # type: ignore[arg-type]
            lr_schedule,
            features_extractor_class=features_extractor_class,  # type: ignore[arg-type]
            features_extractor_kwargs=features_extractor_kwargs,
            **kwargs,
        )

    def _make_agent_q_net(self, role: str) -> AgentQNetwork:
        net_args = self._update_features_extractor(self.net_args, features_extractor=None)
        extractor: SlotFeaturesExtractor = net_args["features_extractor"]
        latent = extractor.latent_layout
        network = self.sharing.head(role, latent.feature_dim, list(self.net_arch), int(self.action_space.n), self.activation_fn)  # type: ignore[attr-defined]
        return AgentQNetwork(network=network, layout=latent, owner=type(self).__name__, **net_args).to(self.device)

    def make_q_net(self) -> AgentQNetwork:
        """A fresh online Q-network (role ``"q"``)."""
        return self._make_agent_q_net("q")

    def _build(self, lr_schedule: Schedule) -> None:
        self.q_net = self._make_agent_q_net("q")
        self.q_net_target = self._make_agent_q_net("q")  # same masks and cluster map
        self.q_net_target.load_state_dict(self.q_net.state_dict())
        self.q_net_target.set_training_mode(False)
        self.optimizer = self.optimizer_class(  # type: ignore[call-arg]
            self.q_net.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )
        self.sharing.after_build(self, self.optimizer)
        self._post_build()

    def _post_build(self) -> None:
        """Subclass hook called at the end of ``_build``, once ``self.optimizer`` exists."""

    def _value_networks(self) -> tuple[ExplorationCheck, ...]:
        return (self.q_net, self.q_net_target)

    @property
    def q_network(self) -> AgentConditionedMLP:
        """The online agent-conditioned network."""
        return self.q_net.q_net  # type: ignore[return-value]


class FullSharingQPolicy(FullSharingOptions, SharingQPolicy):
    """FuPS and FuPS+id for DQN: one Q-network shared by all agents.

    Args:
        agent_id: Give the network the agent one-hot (FuPS+id). Default ``False``.
        id_input: ``"features"`` or ``"planes"``, as for :class:`policies.FullSharingPolicy`.
        *args, **kwargs: SB3 ``DQNPolicy`` arguments.
    """


class SelectiveSharingQPolicy(SelectiveSharingOptions, SharingQPolicy):
    """SePS for DQN (Christianos et al., 2021): one Q-network per cluster.

    Args:
        clusters: As for :class:`policies.SelectiveSharingPolicy` (default ``"type"``).
        share_trunk: Share one CNN trunk across clusters (default ``False``).
        *args, **kwargs: SB3 ``DQNPolicy`` arguments.
    """


class PrunedMaskQPolicy(ValuePruningOptions, SharingQPolicy):
    """SNP-PS and AdaPS for DQN: one Q-network, a neuron mask per agent or per cluster.

    Args:
        method: ``"snp-ps"`` (default) or ``"adaps"``.
        pruning: SNP-PS ratio of pruned neurons per hidden layer (float or one per layer).
            Default :func:`policies.default_pruning` (Table 1, SMAC with QMIX: ``0-0.1``).
        clusters, threshold, agent_id, mask_seed, mask_channels, channel_pruning: As for
            :class:`policies.PrunedMaskPolicy`.
        *args, **kwargs: SB3 ``DQNPolicy`` arguments.
    """


class LearnedMaskQPolicy(LearnedMaskOptions, SharingQPolicy):
    """Kaleidoscope for DQN: one Q-network, learned weight masks per agent (released MPE agents: QMIX).

    The target network is built like the online one; its thresholds are parameters, so SB3's
    target update copies them. The diversity term and reset act on the online network only.

    Args:
        clusters, agent_id, mask_trunk, div_coef, coef_mode, reset_interval, reset_ratio,
            reset_first_layer, threshold_init_scale, threshold_init_bias: As for
            :class:`policies.LearnedMaskPolicy`.
        *args, **kwargs: SB3 ``DQNPolicy`` arguments.
    """


class SparseEvolvedQPolicy(SparseEvolutionMixin, FullSharingQPolicy):
    """MAST-style sparse full sharing for DQN; the target network carries the same masks.

    Args:
        sparsity, density_method, evolve, update_interval, zeta, t_end, sparse_init,
            sparse_exclude: See :class:`~policies.sparse.mixin.SparseEvolutionMixin`.
        agent_id: Concatenate the agent one-hot to the input (FuPS+id). Default ``False``.
        *args, **kwargs: SB3 ``DQNPolicy`` arguments.
    """


class SparsePrunedMaskQPolicy(SparseEvolutionMixin, PrunedMaskQPolicy):
    """SNP-PS / AdaPS neuron masks per agent on top of sparse, RigL-evolved weights (DQN)."""


class SparseSelectiveSharingQPolicy(SparseEvolutionMixin, SelectiveSharingQPolicy):
    """SePS (one Q-network per cluster) with sparse, RigL-evolved weights (DQN)."""
