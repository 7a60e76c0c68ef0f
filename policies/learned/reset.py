"""Kaleidoscope's weight reset (K4): re-draw the weights that every agent's mask removes.

Li, Pan & Zhang (2024), section 4.3 (released ``_reset``): every reset interval, each weight masked
out by every agent is, with probability ``ratio``, re-drawn from ``nn.Linear``'s default
``kaiming_uniform_(a=sqrt(5))`` and its ``G`` thresholds re-drawn like the initial ones. The
schedule is :class:`~policies.learned.regularizer.KaleidoscopeRegularizer`'s.
"""

from __future__ import annotations

import torch
from torch import nn

from policies.learned.layers import init_thresholds, kaiming_bound, mask_layers_of

__all__ = ["reset_masked_weights"]


@torch.no_grad()
def reset_masked_weights(
    network: nn.Module,
    ratio: float,
    *,
    reset_first_layer: bool = False,
    threshold_reset_scale: float = 5.0,
    threshold_reset_bias: float = 5.0,
    generator: torch.Generator | None = None,
) -> int:
    """(K4) Re-draw, with probability ``ratio``, each weight that every mask removes.

    A chosen weight gets a fresh ``kaiming_uniform_(a=sqrt(5))`` value and all ``G`` of its
    thresholds a fresh ``-(U(0,1) * scale + bias)``; nothing else changes.

    Returns:
        The number of weights reset.

    Raises:
        ValueError: for a ``ratio`` outside ``[0, 1]``.
    """
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"reset_masked_weights: ratio must be in [0, 1], got {ratio!r}; Kaleidoscope uses 0.1")
    layers = mask_layers_of(network)
    n_reset = 0
    for layer in layers if reset_first_layer else layers[1:]:
        weight, thresholds = layer.weight, layer.thresholds
        draw = torch.rand(weight.shape, generator=generator).to(weight.device)
        chosen = ~layer.masks().any(0) & (draw < ratio)
        count = int(chosen.sum())
        if count == 0:
            continue
        bound = kaiming_bound(layer)
        fresh = (torch.rand(count, generator=generator) * 2 - 1).to(weight) * bound
        weight[chosen] = fresh
        new_thresholds = torch.empty((thresholds.shape[0], count), dtype=thresholds.dtype)
        init_thresholds(new_thresholds, threshold_reset_scale, threshold_reset_bias, generator)
        thresholds[:, chosen] = new_thresholds.to(thresholds.device)
        n_reset += count
    return n_reset
