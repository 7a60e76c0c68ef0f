"""Box actions of padded agents and the agent-conditioned Q critics of SAC, TD3 and DDPG.

When agents' Box action spaces differ, :func:`ps_wrappers.pad_actions` pads them to one larger Box
and drops the extra dimensions of each agent's action before the env sees it (the layout records
each agent's own shape, :meth:`ps_wrappers.SlotLayout.real_action_mask`). The off-policy
actor-critics keep those padded dimensions out of learning:

* :class:`RealActions` gives each row the 0/1 mask of its agent's real dimensions;
* :class:`AgentContinuousCritic` multiplies the action by that mask where it enters the critic, so
  a padded dimension (whatever the actor, its exploration noise or TD3's target smoothing put
  there) never changes a Q-value, and the actor gets no gradient through it;
* SAC's log-probability sums the real dimensions only (:mod:`policies.sac`);
* the on-policy families (PPO, A2C, TRPO, RecurrentPPO) use :class:`RealDimsDiagGaussian`, whose
  log-probability and entropy sum each row's real dimensions only, so a padded dimension neither
  moves PPO's ratio nor earns entropy bonus, and its mean and ``log_std`` get no gradient from it.

**Where the action enters a critic**: at the input of the critic's head, as in SB3's
``ContinuousCritic``: ``Q_k(o, a, i) = head_k([trunk(o), a ⊙ real_i], i)``, where ``head_k`` is the
method's agent-conditioned MLP of role ``"qf<k>"`` (one-hot appended for +id, neuron masks for
SNP-PS / AdaPS, cluster routing for SePS). The action therefore passes through every (masked or
routed) hidden layer, like the observation.

Placeholder rows (acting flag 0: dead or waiting agents) are learned by the critics (their value
is the true one, 0 for a dead agent) but teach the actor nothing: :func:`only_acting_actions`
detaches their actions, so the actor loss ``-Q(o, pi(o))`` of those rows has no actor gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import DiagGaussianDistribution, sum_independent_dims
from stable_baselines3.common.policies import BaseModel, ContinuousCritic
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn
from torch.distributions import Normal

from policies.core.heads import AgentConditionedMLP
from ps_wrappers.layout import AnyLayout, SlotLayout

__all__ = ["AgentContinuousCritic", "RealActions", "RealDimsDiagGaussian", "only_acting_actions"]


class RealActions(nn.Module):
    """Each agent's real Box action dimensions: ``forward(one_hot) -> [B, A]`` 0/1 per row.

    Args:
        layout: The slot layout (its ``action_shapes``).
        action_space: The vec env's (padded) Box action space.
        owner: Class name for messages.

    Attributes:
        padded: Whether some agent has padded dimensions (otherwise every dimension is real and
            callers skip the mask).
        dims: ``[N]`` number of real dimensions of every agent.

    Raises:
        TypeError: if the action space is not a Box.
        ValueError: if agents have padded dimensions but rows carry no agent identity.
    """

    table: torch.Tensor
    dims: torch.Tensor

    def __init__(self, layout: AnyLayout, action_space: spaces.Space, owner: str) -> None:
        super().__init__()
        if not isinstance(action_space, spaces.Box):
            raise TypeError(f"{owner} needs a Box action space, got {action_space!r}")
        table = torch.as_tensor(layout.real_action_mask(tuple(action_space.shape)), dtype=torch.float32)
        self.padded = bool((table < 0.5).any())
        if self.padded and not layout.agent_ids:
            raise ValueError(
                f"{owner}: the agents have Box actions of different sizes {list(layout.action_shapes)}, padded "
                "to one Box, but the vec env was built with agent_ids=False, so a row does not say which of "
                "its action dimensions are real; rebuild it with ps_wrappers.make_vec_env(..., agent_ids=True)"
            )
        self.register_buffer("table", table, persistent=False)
        self.register_buffer("dims", table.sum(1), persistent=False)
        self.action_dim = int(table.shape[1])

    def forward(self, agent_one_hot: torch.Tensor) -> torch.Tensor:
        """``[B, A]`` mask of every row's real dimensions (all ones when nothing is padded)."""
        if not self.padded:
            return agent_one_hot.new_ones(agent_one_hot.shape[0], self.action_dim)
        return agent_one_hot.to(self.table.dtype) @ self.table

    def row_dims(self, agent_one_hot: torch.Tensor) -> torch.Tensor:
        """``[B]`` number of real dimensions of every row's agent."""
        if not self.padded:
            return agent_one_hot.new_full((agent_one_hot.shape[0],), float(self.action_dim))
        return agent_one_hot.to(self.dims.dtype) @ self.dims


class RealDimsDiagGaussian(DiagGaussianDistribution):
    """SB3's diagonal Gaussian whose log-probability and entropy sum each row's real dimensions.

    ``log pi(a | o, i) = sum_d real_i[d] * log N(a_d; mu_d, sigma_d)`` and likewise the entropy,
    where ``real_i`` is agent ``i``'s 0/1 mask of real action dimensions (:class:`RealActions`).
    The policy calls :meth:`restrict` right after :meth:`proba_distribution`; without it every
    dimension counts (SB3's behaviour). :meth:`restrict` also pins each padded dimension to the
    constant ``N(0, 1)``, so the KL divergence between two policies (TRPO's constraint, SB3's
    ``kl_divergence``) is exactly 0 there and the network gets no gradient through a padded
    output; sampling and the mode of padded dimensions (dropped before the env) come from it.
    """

    real: torch.Tensor | None = None

    def proba_distribution(self, mean_actions: torch.Tensor, log_std: torch.Tensor) -> RealDimsDiagGaussian:
        """SB3's, forgetting the previous batch's mask."""
        self.real = None
        super().proba_distribution(mean_actions, log_std)
        return self

    def restrict(self, real: torch.Tensor) -> RealDimsDiagGaussian:
        """Count only the dimensions where ``real`` (``[B, A]``, 0/1) is 1; padded ones are ``N(0, 1)``."""
        self.real = real
        keep = real > 0.5
        dist = self.distribution
        self.distribution = Normal(torch.where(keep, dist.loc, 0.0), torch.where(keep, dist.scale, 1.0))
        return self

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        """``[B]`` log-probability over each row's real dimensions."""
        per_dim = self.distribution.log_prob(actions)
        return sum_independent_dims(per_dim) if self.real is None else (per_dim * self.real).sum(dim=-1)

    def entropy(self) -> torch.Tensor:
        """``[B]`` entropy over each row's real dimensions."""
        per_dim = self.distribution.entropy()
        return sum_independent_dims(per_dim) if self.real is None else (per_dim * self.real).sum(dim=-1)


def only_acting_actions(actions: torch.Tensor, acting: torch.Tensor) -> torch.Tensor:
    """The actions, detached on placeholder rows (``acting`` ``[B]`` or ``[B, 1]``, 1 = acting).

    The actor loss of an off-policy actor-critic (``-Q(o, pi(o))``, plus SAC's entropy term) then
    has no actor gradient from rows whose action the env ignores.
    """
    keep = acting.reshape(-1, 1) > 0.5
    return torch.where(keep, actions, actions.detach())


class AgentContinuousCritic(ContinuousCritic):
    """SB3 ``ContinuousCritic`` over slot observations: ``n_critics`` agent-conditioned Q heads.

    Head ``k`` is registered as ``qf<k>`` (SB3's names) and computes
    ``Q_k(o, a, i) = head_k([trunk(o), a ⊙ real_i], i)`` (see the module docstring). With
    ``share_features_extractor`` the trunk is the actor's and gets no gradient from the critic
    loss (SB3's semantics).

    Args:
        heads: One head per critic, built by the method with roles ``"qf0"``, ``"qf1"``, ...
        layout: The latent layout of the features extractor's output rows.
        real_actions: The agents' real action dimensions.
        (others as SB3's ``ContinuousCritic``)
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        net_arch: list[int],
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        heads: Sequence[AgentConditionedMLP],
        layout: SlotLayout,
        real_actions: RealActions,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
        n_critics: int = 2,
        share_features_extractor: bool = True,
    ) -> None:
        BaseModel.__init__(
            self, observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
        )
        self.net_arch = list(net_arch)
        self.activation_fn = activation_fn
        self.features_dim = features_dim
        self.share_features_extractor = share_features_extractor
        self.n_critics = len(heads)
        self.layout = layout
        self.real_actions = real_actions
        self.q_networks: list[nn.Module] = []
        for index, head in enumerate(heads):
            self.add_module(f"qf{index}", head)
            self.q_networks.append(head)

    def _head_input(self, latent: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features, one_hot, _, _ = self.layout.split(latent)
        if self.real_actions.padded:
            actions = actions * self.real_actions(one_hot)
        return torch.cat([features, actions.to(features.dtype)], dim=-1), one_hot

    def forward(self, obs: Any, actions: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(Q_0, ..., Q_{n-1})``, each ``[B, 1]``."""
        with torch.set_grad_enabled(not self.share_features_extractor):
            latent = self.extract_features(obs, self.features_extractor)
        x, one_hot = self._head_input(latent, actions)
        return tuple(head(x, one_hot) for head in self.q_networks)

    def q1_forward(self, obs: Any, actions: torch.Tensor) -> torch.Tensor:
        """``Q_0`` only (TD3's actor loss); the trunk gets no gradient (SB3's semantics)."""
        with torch.no_grad():
            latent = self.extract_features(obs, self.features_extractor)
        x, one_hot = self._head_input(latent, actions)
        return self.q_networks[0](x, one_hot)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            net_arch=self.net_arch,
            activation_fn=self.activation_fn,
            features_dim=self.features_dim,
            heads=list(self.q_networks),
            layout=self.layout,
            real_actions=self.real_actions,
            share_features_extractor=self.share_features_extractor,
        )
        return data
