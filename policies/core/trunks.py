"""Trunks: the first stage ``trunk(x, agent)`` of the agent-conditioned network ``f(trunk(x), agent)``.

A trunk maps a batch of features (flat vectors or channels-first images) and the rows' agent
one-hot to ``[B, features_dim]``. The plain trunk is any SB3 features extractor built on the
feature part of the slot observation (``FlattenExtractor`` for vectors: the identity; a CNN for
images). The sharing methods condition it on the agent by wrapping it:

* :class:`IndicatorPlanesTrunk`: FuPS+id with the identity as constant one-hot image planes
  appended to the input channels ("overlaying the agent on an image", Terry et al., 2020,
  section 5 and Theorem 5; Gupta et al., 2017);
* :class:`RoutedTrunk`: SePS, ``K`` copies of the trunk, each row through its cluster's copy
  (Christianos et al., 2021, section 3);
* :class:`ChannelMaskedTrunk`: SNP-PS / AdaPS structured masks on convolution channels, the
  structured units of a CNN (Kim & Sung, 2023, section 4.3; Li et al., 2024, Eq. 5), applied to a
  conv layer's output like the neuron masks of :class:`~policies.core.heads.NeuronMaskedMLP`.

The trunk's output then goes, with the agent one-hot, into the method's head network
(:mod:`policies.core.heads`); :class:`~policies.core.extractor.SlotFeaturesExtractor` puts a trunk
into SB3's features-extractor slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import torch
from stable_baselines3.common.torch_layers import FlattenExtractor
from torch import nn

from policies.core.routing import route_rows

__all__ = [
    "ChannelMaskedTrunk",
    "ExtractorTrunk",
    "IndicatorPlanesTrunk",
    "RoutedTrunk",
    "Trunk",
    "conv_layers",
]

CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def conv_layers(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """The convolution layers of ``module`` in registration order, with their qualified names."""
    return [(name, m) for name, m in module.named_modules() if isinstance(m, CONV_TYPES)]


class Trunk(nn.Module):
    """Base class: ``forward(x, agent_one_hot) -> [B, features_dim]``.

    Attributes:
        features_dim: Width of the trunk's output.
    """

    features_dim: int

    @property
    def is_identity(self) -> bool:
        """Whether the trunk returns flat features unchanged (the vector default)."""
        return False

    def forward(self, x: torch.Tensor, agent_one_hot: torch.Tensor) -> torch.Tensor:
        """Trunk features of a batch."""
        raise NotImplementedError


class ExtractorTrunk(Trunk):
    """A plain trunk: an SB3 features extractor (or any module with ``features_dim``), agent-blind.

    Args:
        extractor: The module; ``extractor.features_dim`` is the output width.
        flat_input: Whether the input is a flat vector (then ``FlattenExtractor`` is the identity).
    """

    def __init__(self, extractor: nn.Module, flat_input: bool) -> None:
        super().__init__()
        self.extractor = extractor
        self.features_dim = int(extractor.features_dim)  # type: ignore[arg-type]
        self._identity = flat_input and type(extractor) is FlattenExtractor

    @property
    def is_identity(self) -> bool:
        """True for ``FlattenExtractor`` on flat features."""
        return self._identity

    def forward(self, x: torch.Tensor, agent_one_hot: torch.Tensor) -> torch.Tensor:
        """``extractor(x)``; the agent does not enter."""
        return self.extractor(x)


class IndicatorPlanesTrunk(Trunk):
    """FuPS+id on images: the agent one-hot as ``N`` constant planes appended to the channels.

    Args:
        inner: Trunk built for images with ``C + N`` channels.
        n_agents: ``N``.
    """

    def __init__(self, inner: Trunk, n_agents: int) -> None:
        super().__init__()
        self.inner = inner
        self.n_agents = int(n_agents)
        self.features_dim = inner.features_dim

    def forward(self, x: torch.Tensor, agent_one_hot: torch.Tensor) -> torch.Tensor:
        """Append one plane per agent (1 for the row's agent, 0 elsewhere) and run the inner trunk."""
        planes = agent_one_hot.to(x.dtype).reshape(*agent_one_hot.shape, *([1] * (x.dim() - 2)))
        planes = planes.expand(-1, -1, *x.shape[2:])
        return self.inner(torch.cat([x, planes], dim=1), agent_one_hot)


class RoutedTrunk(Trunk):
    """SePS: ``K`` trunks, the rows of agent ``i`` through trunk ``mu(i)``.

    Args:
        trunks: One trunk per cluster (same output width).
        cluster_of_agent: Length-``N`` cluster index ``mu(i)`` of every agent.
    """

    cluster_of_agent: torch.Tensor

    def __init__(self, trunks: Sequence[Trunk], cluster_of_agent: Sequence[int]) -> None:
        super().__init__()
        widths = {t.features_dim for t in trunks}
        if len(widths) != 1:
            raise ValueError(f"RoutedTrunk: every cluster's trunk must have one output width, got {sorted(widths)}")
        self.trunks = nn.ModuleList(trunks)
        self.features_dim = widths.pop()
        self.register_buffer("cluster_of_agent", torch.as_tensor(list(cluster_of_agent), dtype=torch.long))

    def forward(self, x: torch.Tensor, agent_one_hot: torch.Tensor) -> torch.Tensor:
        """Route every row through its agent's cluster trunk."""
        if len(self.trunks) == 1:
            return self.trunks[0](x, agent_one_hot)
        clusters = self.cluster_of_agent.index_select(0, agent_one_hot.argmax(-1))
        return route_rows(lambda k, rows, oh: self.trunks[k](rows, oh), clusters, len(self.trunks), x, agent_one_hot)


class ChannelMaskedTrunk(Trunk):
    """Structured channel masks per group on every convolution of the inner trunk.

    Convolution ``l`` computes ``h_l = conv_l(h_{l-1}) ⊙ m_{l, g(i)}`` broadcast over positions:
    a masked channel is removed for the row's group (its output and, through the chain rule, the
    gradient of its filter from that row), exactly as a masked neuron in
    :class:`~policies.core.heads.NeuronMaskedMLP`. The masks are applied by forward hooks on the
    inner trunk's conv layers, so the inner module (and its state-dict keys) is unchanged.

    Args:
        inner: The trunk to mask.
        masks: One ``[G, out_channels_l]`` 0/1 tensor per convolution of ``inner``, in order.
        group_of_agent: Length-``N`` group index of every agent.

    Raises:
        ValueError: if the masks do not match the convolutions.
    """

    group_of_agent: torch.Tensor

    def __init__(self, inner: Trunk, masks: Sequence[torch.Tensor], group_of_agent: Sequence[int]) -> None:
        super().__init__()
        self.inner = inner
        self.features_dim = inner.features_dim
        convs = conv_layers(inner)
        if len(masks) != len(convs):
            raise ValueError(
                f"ChannelMaskedTrunk: need one channel mask per convolution ({len(convs)}), got {len(masks)}"
            )
        groups = torch.as_tensor(list(group_of_agent), dtype=torch.long)
        n_groups = int(groups.max()) + 1 if groups.numel() else 0
        for (name, conv), mask in zip(convs, masks):
            width = int(conv.out_channels)  # type: ignore[arg-type]
            if tuple(mask.shape) != (n_groups, width):
                raise ValueError(
                    f"ChannelMaskedTrunk: the mask of convolution {name!r} ({width} channels, "
                    f"{n_groups} groups) must have shape ({n_groups}, {width}), got {tuple(mask.shape)}"
                )
        self.register_buffer("group_of_agent", groups)
        self.n_masked_layers = len(masks)
        for index, mask in enumerate(masks):
            self.register_buffer(f"channel_mask_{index}", mask.detach().clone().float())
        self._rows: list[torch.Tensor] | None = None
        for index, (_, conv) in enumerate(convs):
            # A partial of a bound method: deep copies of the trunk get hooks bound to the copy.
            conv.register_forward_hook(partial(self._mask_output, index))

    def _mask_output(self, index: int, module: nn.Module, args: Any, out: torch.Tensor) -> torch.Tensor | None:
        rows = self._rows
        if rows is None:
            return None
        mask = rows[index]
        return out * mask.reshape(*mask.shape, *([1] * (out.dim() - 2)))

    def masks(self) -> list[torch.Tensor]:
        """The ``[G, channels_l]`` channel masks, one per convolution."""
        return [getattr(self, f"channel_mask_{i}") for i in range(self.n_masked_layers)]

    def forward(self, x: torch.Tensor, agent_one_hot: torch.Tensor) -> torch.Tensor:
        """Run the inner trunk with each row's group masks on every convolution."""
        groups = self.group_of_agent.index_select(0, agent_one_hot.argmax(-1))
        self._rows = [m.index_select(0, groups) for m in self.masks()]
        try:
            return self.inner(x, agent_one_hot)
        finally:
            self._rows = None
