"""MAST's learning targets: the Soft Mellowmax operator and truncated TD(lambda) returns.

* Soft Mellowmax (MAST Eq. 3, Gan et al. 2021) replaces ``max`` over next-state action values::

      sm_w(Q) = 1/w log( sum_u softmax_a(Q)_u exp(w Q_u) )

  With ``alpha = 0`` it is Mellowmax (Eq. 4), ``1/w log(1/n sum_u exp(w Q_u))``; as ``w`` grows
  it approaches ``max``.
* TD(lambda) (MAST section 4.2, Eqs. 5-7) averages the n-step returns
  ``T^(n) = sum_{i<n} gamma^i r_{t+i} + gamma^n V(s_{t+n})`` with weights ``(1 - lambda)
  lambda^(n-1)``. Over a stored window of ``L`` steps (cut at the episode end, the replay buffer's
  write head, or the horizon) the remaining weight ``lambda^(L-1)`` goes to ``T^(L)``::

      T^lambda = (1 - lambda) sum_{n=1}^{L-1} lambda^(n-1) T^(n) + lambda^(L-1) T^(L)

  computed by the backward recursion ``G_k = r_k + gamma ((1 - lambda) V_k + lambda G_{k+1})``
  with ``G_{L-1} = r_{L-1} + gamma (1 - terminal) V_{L-1}``.
"""

from __future__ import annotations

import torch

__all__ = ["lambda_returns", "mellowmax", "soft_mellowmax"]


def soft_mellowmax(
    q_values: torch.Tensor,
    omega: float = 10.0,
    alpha: float = 1.0,
    valid: torch.Tensor | None = None,
    dim: int = -1,
) -> torch.Tensor:
    """The Soft Mellowmax operator ``sm_w`` of MAST Eq. (3), computed stably.

    ``sm_w(Q) = m + 1/w logsumexp(log softmax(alpha Q) + w (Q - m))`` with ``m = max Q``.

    Args:
        q_values: Action values, actions along ``dim``.
        omega: ``w > 0``; large values approach ``max`` (MAST Table 4: 10).
        alpha: Softmax inverse temperature ``alpha``; 0 gives Mellowmax (MAST Table 4: 1).
        valid: Optional boolean tensor like ``q_values``; invalid actions are left out (at least
            one action of every row must be valid).
        dim: Action dimension.

    Returns:
        ``q_values`` reduced over ``dim``.

    Raises:
        ValueError: if ``omega`` is not positive.
    """
    if not omega > 0:
        raise ValueError(
            f"soft_mellowmax: omega must be > 0, got {omega!r}; MAST uses omega=10 (Table 4)."
        )
    q = q_values if valid is None else q_values.masked_fill(~valid, -torch.inf)
    top = q.amax(dim=dim, keepdim=True)
    logits = torch.where(torch.isneginf(q), q, alpha * q)
    log_weights = torch.log_softmax(logits, dim=dim)
    mellow = torch.logsumexp(log_weights + omega * (q - top), dim=dim) / omega
    return top.squeeze(dim) + mellow


def mellowmax(
    q_values: torch.Tensor,
    omega: float = 10.0,
    valid: torch.Tensor | None = None,
    dim: int = -1,
) -> torch.Tensor:
    """Mellowmax ``mm_w(Q) = 1/w log(1/n sum_u exp(w Q_u))``, MAST Eq. (4)."""
    return soft_mellowmax(q_values, omega=omega, alpha=0.0, valid=valid, dim=dim)


def lambda_returns(
    rewards: torch.Tensor,
    values: torch.Tensor,
    terminals: torch.Tensor,
    lengths: torch.Tensor,
    gamma: float,
    lam: float,
) -> torch.Tensor:
    """Truncated TD(lambda) targets over stored windows (MAST Eqs. 5-7).

    Args:
        rewards: ``[B, H]`` rewards ``r_{t+k}``.
        values: ``[B, H]`` bootstrap values ``V(s_{t+k+1})`` (e.g. Soft Mellowmax of the target
            network's action values at the ``k``-th next observation).
        terminals: ``[B, H]`` 1 where ``s_{t+k+1}`` is terminal (no bootstrap), else 0.
        lengths: ``[B]`` window lengths ``L`` in ``[1, H]``; entries from ``L`` on are ignored.
        gamma: Discount factor.
        lam: ``lambda`` in ``[0, 1]``; 0 gives the 1-step target, 1 the ``L``-step return.

    Returns:
        ``[B]`` targets ``T^lambda``.
    """
    horizon = rewards.shape[1]
    continuing = 1.0 - terminals.to(rewards.dtype)
    ret = torch.zeros_like(rewards[:, 0])
    for k in range(horizon - 1, -1, -1):
        last = lengths - 1 == k
        inside = lengths - 1 > k
        full_bootstrap = rewards[:, k] + gamma * continuing[:, k] * values[:, k]
        mixed = rewards[:, k] + gamma * continuing[:, k] * ((1.0 - lam) * values[:, k] + lam * ret)
        ret = torch.where(last, full_bootstrap, torch.where(inside, mixed, ret))
    return ret
