"""What the sharing policies of SB3's off-policy actor-critics (SAC, TD3, DDPG) have in common.

:class:`SharingOffPolicyMixin` goes between a method's option mixin and SB3's ``SACPolicy`` /
``TD3Policy``. Every network is built by the same method object: the actor's head (role ``"pi"``),
each critic's head (roles ``"qf0"``, ``"qf1"``, ...; SNP-PS draws a different mask per critic,
SePS routes every critic by cluster) and, because SB3 builds the target networks with the same
``make_actor`` / ``make_critic`` calls, the targets with the same roles: the same masks and
cluster maps (they are buffers, also copied by the initial ``load_state_dict``). The critics are
:class:`~policies.core.continuous.AgentContinuousCritic` (where the action enters: see
:mod:`policies.core.continuous`). Sparse variants get one topology per optimizer
(:meth:`SharingOffPolicyMixin.sparse_networks`): the actor (mirrored by TD3's actor target) and the
critics (mirrored by the critic target).
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import PyTorchObs
from torch import nn

from policies.core.continuous import AgentContinuousCritic, RealActions
from policies.core.extractor import SlotFeaturesExtractor
from policies.core.heads import AgentConditionedMLP
from policies.core.sb3 import SharingPolicyMixin
from policies.sparse.mixin import SparsePart

__all__ = ["SharingOffPolicyMixin"]


class SharingOffPolicyMixin(SharingPolicyMixin):
    """Box-action checks, agent-conditioned critics, sparse parts and saving for SAC / TD3 policies.

    Call :meth:`_setup_off_policy` in ``__init__`` before SB3's ``__init__``; the family builds
    its actor in ``make_actor`` with :meth:`_actor_parts`.
    """

    def _setup_off_policy(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        features_extractor_class: type | None,
        features_extractor_kwargs: dict[str, Any] | None,
        algorithm: str,
    ) -> None:
        owner = type(self).__name__
        if not isinstance(action_space, spaces.Box):
            raise TypeError(
                f"{owner}: {algorithm} needs a Box action space, got {action_space!r}; use the policies "
                "of policies.ppo (PPO, A2C) or policies.dqn (DQN, QR-DQN) for discrete actions"
            )
        self._setup_sharing(observation_space, action_space, features_extractor_class, features_extractor_kwargs)
        RealActions(self.layout, action_space, owner)  # refuses padded actions without agent ids

    def real_actions(self) -> RealActions:
        """A fresh :class:`RealActions` module (each agent's real action dimensions)."""
        return RealActions(self.layout, self.action_space, type(self).__name__)  # type: ignore[attr-defined]

    def _actor_parts(
        self, kwargs: dict[str, Any], features_extractor: BaseFeaturesExtractor | None, out_dim: int
    ) -> tuple[dict[str, Any], AgentConditionedMLP, Any]:
        """``(network kwargs with the extractor, the "pi" head with out_dim outputs, latent layout)``."""
        net_kwargs = self._update_features_extractor(kwargs, features_extractor)  # type: ignore[attr-defined]
        extractor: SlotFeaturesExtractor = net_kwargs["features_extractor"]
        latent = extractor.latent_layout
        activation = self.activation_fn  # type: ignore[attr-defined]
        head = self.sharing.head("pi", latent.feature_dim, list(net_kwargs["net_arch"]), out_dim, activation)
        return net_kwargs, head, latent

    def make_critic(self, features_extractor: BaseFeaturesExtractor | None = None) -> AgentContinuousCritic:
        """``n_critics`` agent-conditioned Q heads (roles ``"qf0"``, ``"qf1"``, ...) on ``[trunk, action]``."""
        policy: Any = self
        kwargs = policy._update_features_extractor(policy.critic_kwargs, features_extractor)
        extractor: SlotFeaturesExtractor = kwargs["features_extractor"]
        latent = extractor.latent_layout
        in_dim = latent.feature_dim + get_action_dim(policy.action_space)
        hidden = list(kwargs["net_arch"])
        heads = [
            self.sharing.head(f"qf{k}", in_dim, hidden, 1, policy.activation_fn) for k in range(int(kwargs["n_critics"]))
        ]
        critic = AgentContinuousCritic(heads=heads, layout=latent, real_actions=self.real_actions(), **kwargs)
        return critic.to(policy.device)

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)  # type: ignore[misc]
        # One optimizer per network: the method's hook runs once for each (e.g. learned masks).
        policy: Any = self
        self.sharing.after_build(policy.actor, policy.actor.optimizer)
        self.sharing.after_build(policy.critic, policy.critic.optimizer)

    def sparse_networks(self) -> list[SparsePart]:
        """The actor (mirrored by TD3's actor target) and the critics (mirrored by the critic target).

        A features extractor shared with the actor belongs to the actor's topology only.
        """
        policy: Any = self
        actor_target = getattr(policy, "actor_target", None)
        actor_mirrors = (actor_target,) if isinstance(actor_target, nn.Module) else ()
        shared = ("features_extractor",) if policy.share_features_extractor else ()
        return [
            SparsePart("sparse_topology", policy.actor, policy.actor.optimizer, actor_mirrors),
            SparsePart("critic_sparse_topology", policy.critic, policy.critic.optimizer, (policy.critic_target,), shared),
        ]

    @property
    def critic_networks(self) -> list[AgentConditionedMLP]:
        """The online critics' head networks (``qf0``, ``qf1``, ...)."""
        return list(self.critic.q_networks)  # type: ignore[attr-defined]

    def _predict(self, observation: PyTorchObs, deterministic: bool = False) -> torch.Tensor:
        # Acting (``predict``, rollouts): refuse rescaled indicator segments here.
        self._check_acting_rows(observation)
        return super()._predict(observation, deterministic)  # type: ignore[misc]

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()  # type: ignore[misc]
        data.update(share_features_extractor=self.share_features_extractor, **self._method_kwargs())  # type: ignore[attr-defined]
        return data
