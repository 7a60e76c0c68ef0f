"""Fixed neuron masks: random per agent (SNP-PS) or mapped from identity clusters (AdaPS).

* SNP-PS (Kim & Sung, 2023, section 4.3, Algorithm 1): before training, for every agent and every
  hidden layer, prune a fixed number ``round(p_l * width_l)`` of neurons chosen uniformly at
  random; agent ``i`` then uses ``f(x; theta ⊙ M_i)``.
* AdaPS (Li et al., 2024, section 4.3, Eq. 5): the centre ``z_k`` of identity cluster ``k`` is fed
  to a fixed, randomly initialised mapping network ``f_m`` whose sigmoid output is the keep
  probability of every hidden neuron, and ``M_k = d(sigmoid(f_m(z_k)))`` with
  ``d(x) = 1 if x > lambda else 0`` and ``lambda = 0.2``.

Masks are computed once, on CPU, from an explicit seed; the policies store them as buffers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

__all__ = [
    "ADAPS_THRESHOLD",
    "adaps_masks",
    "default_pruning",
    "resolve_pruning",
    "snp_ps_masks",
]

ADAPS_THRESHOLD = 0.2
"""The drop threshold ``lambda`` of AdaPS (Li et al., 2024, section 4.3: 0.2 in all scenarios)."""

_MAPPING_HIDDEN = 128
_MAPPING_GAIN = 3.0


def default_pruning(n_layers: int, role: str) -> tuple[float, ...]:
    """The SNP-PS paper's pruning ratios (Table 1), extended to any depth.

    The first hidden layer is never pruned and later layers lose 10% of their neurons (SMAC: 0-0.1;
    LBF actors: 0-0.1-0.1). Critics of individual rewards need to be more identifiable, so the last
    hidden layer of a critic (role ``"vf"`` or ``"qf"``) loses 90% (LBF critics: 0-0.1-0.9). With a single
    hidden layer, that layer gets the ratio of a last layer.

    Args:
        n_layers: Number of hidden layers.
        role: ``"pi"`` (actor), ``"vf"`` / ``"qf"`` (critics) or ``"q"`` (Q-network).
    """
    if n_layers <= 0:
        return ()
    last = 0.9 if role in ("vf", "qf") else 0.1
    if n_layers == 1:
        return (last,)
    return (0.0,) + (0.1,) * (n_layers - 2) + (last,)


def resolve_pruning(
    ratios: float | Sequence[float] | None, hidden: Sequence[int], role: str, owner: str, argument: str
) -> tuple[float, ...]:
    """Validate pruning ratios for the given hidden widths (``None`` gives :func:`default_pruning`).

    Raises:
        ValueError: for a wrong number of ratios, a ratio outside ``[0, 1)``, or a ratio that
            would prune every neuron of a layer.
    """
    if ratios is None:
        return default_pruning(len(hidden), role)
    values = (float(ratios),) * len(hidden) if isinstance(ratios, (int, float)) else tuple(float(r) for r in ratios)
    if len(values) != len(hidden):
        raise ValueError(
            f"{owner}: {argument} must give one pruning ratio per hidden layer {list(hidden)}, got "
            f"{list(values)}; pass a single float to use the same ratio for every layer"
        )
    for ratio, width in zip(values, hidden):
        if not 0.0 <= ratio < 1.0 or round(ratio * width) >= width:
            raise ValueError(
                f"{owner}: {argument}={list(values)} is invalid: a ratio of {ratio} for a hidden layer "
                f"of width {width} must be in [0, 1) and keep at least one neuron"
            )
    return values


def snp_ps_masks(
    n_agents: int, hidden: Sequence[int], ratios: Sequence[float], seed: int
) -> list[torch.Tensor]:
    """Random structured neuron masks, one ``[N, width_l]`` tensor per hidden layer.

    Agent ``i`` loses exactly ``round(p_l * width_l)`` neurons of layer ``l``, drawn uniformly and
    independently of the other agents (SNP-PS, Algorithm 1).
    """
    generator = torch.Generator().manual_seed(int(seed))
    masks = []
    for width, ratio in zip(hidden, ratios):
        n_pruned = int(round(ratio * width))
        mask = torch.ones(n_agents, width)
        for agent in range(n_agents):
            mask[agent, torch.randperm(width, generator=generator)[:n_pruned]] = 0.0
        masks.append(mask)
    return masks


def adaps_masks(
    centres: np.ndarray, hidden: Sequence[int], seed: int, threshold: float = ADAPS_THRESHOLD
) -> list[torch.Tensor]:
    """AdaPS masks ``M_k = d(sigmoid(f_m(z_k)))`` (Li et al., 2024, Eq. 5), one ``[K, width_l]`` per layer.

    ``f_m`` is a fixed random two-layer MLP (tanh) with Gaussian weights and biases, as in random
    network distillation (the paper's [23]); its output covers every hidden neuron of the network.
    Cluster centres are standardised per dimension across clusters first, so the mask statistics do
    not depend on the arbitrary scale of the VAE latent space: with these gains the pre-sigmoid
    outputs have a standard deviation of about 2, so about 25% of the neurons fall below
    ``lambda = 0.2`` for each cluster.

    Args:
        centres: ``[K, m]`` cluster centres in the identity embedding space.
        hidden: Widths of the hidden layers to mask.
        seed: Seed of the mapping network.
        threshold: The drop threshold ``lambda``.

    Raises:
        ValueError: if ``threshold`` is not in ``(0, 1)``.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"adaps_masks: threshold must be in (0, 1), got {threshold}")
    z = torch.as_tensor(np.asarray(centres, dtype=np.float32))
    if z.shape[0] > 1:
        z = (z - z.mean(0)) / z.std(0, unbiased=False).clamp_min(1e-8)
    else:
        z = torch.zeros_like(z)
    generator = torch.Generator().manual_seed(int(seed))
    total = int(sum(hidden))
    w1 = torch.randn(z.shape[1], _MAPPING_HIDDEN, generator=generator) / math.sqrt(max(z.shape[1], 1))
    b1 = torch.randn(_MAPPING_HIDDEN, generator=generator)
    w2 = torch.randn(_MAPPING_HIDDEN, total, generator=generator) * (_MAPPING_GAIN / math.sqrt(_MAPPING_HIDDEN))
    b2 = torch.randn(total, generator=generator)
    probs = torch.sigmoid(torch.tanh(z @ w1 + b1) @ w2 + b2)
    masks = []
    for part in torch.split(probs, list(hidden), dim=1):
        keep = (part > threshold).float()
        # A layer with no neuron left would cut the network: keep its most probable neuron.
        keep[torch.arange(part.shape[0]), part.argmax(1)] = 1.0
        masks.append(keep)
    return masks
