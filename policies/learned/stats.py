"""What Kaleidoscope's learned masks look like: density per agent, overlap between agents.

For inspection and plotting over training (the counterpart of the SNP-PS / AdaPS mask-overlap
figures): :func:`mask_statistics` reads the binary masks (K2) ``M_i = 1[|W| > sigmoid(s_i)]`` of
every learned-mask layer of a network.

Example:
    >>> import torch
    >>> from policies.learned.layers import LearnedMaskMLP
    >>> stats = mask_statistics(LearnedMaskMLP(4, [8], 2, n_agents=3))
    >>> stats.overlap.shape
    (3, 3)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from policies.learned.layers import mask_layers_of

__all__ = ["LearnedMaskStats", "mask_statistics"]


@dataclass(frozen=True)
class LearnedMaskStats:
    """Mask statistics of one network, per agent (or per mask when agents are not known).

    Attributes:
        layer_density: ``[N, L]`` fraction of each layer's weights kept by each agent.
        density: ``[N]`` fraction of all masked weights kept by each agent.
        overlap: ``[N, N]`` Jaccard overlap ``|M_i ∩ M_j| / |M_i ∪ M_j|`` of kept weights.
        distance: ``[N, N]`` fraction of weights on which two agents' masks differ.
        dead_fraction: Fraction of weights that every agent masks out (what the reset recycles).
        n_weights: Number of masked weights.
    """

    layer_density: np.ndarray
    density: np.ndarray
    overlap: np.ndarray
    distance: np.ndarray
    dead_fraction: float
    n_weights: int

    def as_dict(self) -> dict[str, float]:
        """Scalars for a logger: mean density, mean off-diagonal overlap and distance, dead fraction."""
        n = self.overlap.shape[0]
        off = ~np.eye(n, dtype=bool)
        pairs = bool(off.any())
        return {
            "masks/density": float(self.density.mean()),
            "masks/overlap": float(self.overlap[off].mean()) if pairs else 1.0,
            "masks/distance": float(self.distance[off].mean()) if pairs else 0.0,
            "masks/dead_fraction": self.dead_fraction,
        }


@torch.no_grad()
def mask_statistics(network: nn.Module) -> LearnedMaskStats:
    """Density, pairwise overlap and distance of the learned masks of ``network``.

    Rows are agents when the network maps agents to masks (``group_of_agent``), masks otherwise.

    Raises:
        TypeError: if ``network`` has no learned-mask layer.
    """
    layers = mask_layers_of(network)
    if not layers:
        raise TypeError(
            f"mask_statistics: {type(network).__name__} has no learned-mask layer; pass a "
            "LearnedMaskMLP (or a module built from LearnedMaskLinear / LearnedMaskConv2d layers)"
        )
    per_layer = [layer.masks().flatten(1) for layer in layers]  # [G, n_l] each
    groups = getattr(network, "group_of_agent", None)
    if isinstance(groups, torch.Tensor):
        per_layer = [m.index_select(0, groups.to(m.device)) for m in per_layer]
    kept = torch.cat(per_layer, dim=1).double()
    inter = kept @ kept.T
    sizes = kept.sum(1)
    union = sizes[:, None] + sizes[None, :] - inter
    overlap = torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(inter))
    distance = (sizes[:, None] + sizes[None, :] - 2 * inter) / kept.shape[1]
    dead = float((kept.sum(0) == 0).double().mean())
    return LearnedMaskStats(
        layer_density=torch.stack([m.double().mean(1) for m in per_layer], dim=1).cpu().numpy(),
        density=kept.mean(1).cpu().numpy(),
        overlap=overlap.cpu().numpy(),
        distance=distance.cpu().numpy(),
        dead_fraction=dead,
        n_weights=int(kept.shape[1]),
    )
