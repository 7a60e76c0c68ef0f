"""The identity encoder-decoder of SePS (Christianos et al., 2021, section 3.1, Fig. 2).

The encoder ``f_e`` sees only the agent id and outputs an ``m``-dimensional Gaussian
``q_theta(z | i) = N(mu_theta(i), Sigma_theta(i))``. The decoder ``f_p`` receives the agent's
observation, action and a sample ``z`` and predicts the next observation (``f_po``) and the reward
(``f_pr``); observation and action bypass the encoder, so ``z`` can only carry what distinguishes
the agent: its observation-transition model ``P^i`` and reward function ``R^i``. Training maximises
the ELBO of Eq. (1)::

    log p(tr) >= E_{z ~ q(z|i)}[log p_u(o_{t+1}, r_t | o_t, a_t, z)] - D_KL(q(z|i) || N(0, I))

with Gaussian likelihoods (mean squared errors on standardised targets) and the KL term scaled by
1e-4 (section 4.8: ``m = 5``, batch size 128, two layers of 64 units).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["IdentityVAE"]


class IdentityVAE(nn.Module):
    """Encoder ``i -> (mu, log sigma^2)`` and decoder ``(o, a, z) -> (o', r)``.

    Args:
        n_agents: Number of agent ids (one-hot encoder input).
        obs_dim: Length of an observation.
        action_dim: Length of an encoded action.
        latent_dim: Size ``m`` of the embedding.
        hidden: Width of the two hidden layers of encoder and decoder.
    """

    def __init__(self, n_agents: int, obs_dim: int, action_dim: int, latent_dim: int = 5, hidden: int = 64) -> None:
        super().__init__()
        self.n_agents = n_agents
        self.encoder = nn.Sequential(
            nn.Linear(n_agents, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent_dim)
        )
        self.decoder = nn.Sequential(
            nn.Linear(obs_dim + action_dim + latent_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
        )
        self.obs_head = nn.Linear(hidden, obs_dim)
        self.reward_head = nn.Linear(hidden, 1)

    def encode(self, agent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of ``q(z | i)`` for integer agent ids ``[B]``."""
        one_hot = F.one_hot(agent, self.n_agents).float()
        mu, log_var = self.encoder(one_hot).chunk(2, dim=-1)
        return mu, log_var.clamp(-10.0, 10.0)

    def loss(
        self,
        agent: torch.Tensor,
        obs: torch.Tensor,
        action: torch.Tensor,
        next_obs: torch.Tensor,
        reward: torch.Tensor,
        kl_weight: float = 1e-4,
    ) -> torch.Tensor:
        """Negative ELBO (Eq. 1) of a batch, with the reparameterisation trick."""
        mu, log_var = self.encode(agent)
        z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
        h = self.decoder(torch.cat([obs, action, z], dim=-1))
        reconstruction = F.mse_loss(self.obs_head(h), next_obs) + F.mse_loss(self.reward_head(h).squeeze(-1), reward)
        kl = -0.5 * (1.0 + log_var - mu.pow(2) - log_var.exp()).sum(-1).mean()
        return reconstruction + kl_weight * kl
