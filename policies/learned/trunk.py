"""Kaleidoscope's learned masks on a CNN trunk: every ``Conv2d`` of a plain trunk, masked per agent.

:class:`LearnedMaskTrunk` takes a plain trunk (an SB3 features extractor such as ``NatureCNN`` or
:class:`~policies.core.cnn.GridCNN`, wrapped as a :class:`~policies.core.trunks.Trunk`) and
replaces each of its ``nn.Conv2d`` layers **in place** by a
:class:`~policies.learned.conv.LearnedMaskConv2d` with the same settings, weights and bias. The
inner module keeps its structure and its state-dict keys (``...cnn.0.weight``, ``...cnn.0.bias``);
each masked convolution only adds ``...cnn.0.thresholds``. So a plain trunk's weights load into
the masked one (``strict=False``), SB3's initialisation (``init_weights`` handles ``nn.Conv2d``
subclasses) applies unchanged, and any CNN written with ``nn.Conv2d`` works without rewriting.

The inner CNN calls ``conv(x)`` as before; the trunk puts the rows' mask groups on its masked
convolutions for the duration of its forward pass (:attr:`LearnedMaskConv2d.row_groups`).
Linear layers of the trunk (NatureCNN's last layer) stay shared and unmasked: the paper masks the
agent network, and a per-agent threshold on every weight of a ``3136 x 512`` layer would cost
``N x 1.6M`` parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from policies.core.trunks import Trunk, conv_layers
from policies.learned.conv import LearnedMaskConv2d
from policies.learned.layers import RowGroups, agent_groups, agent_masks

__all__ = ["LearnedMaskTrunk"]


def _masked_copy(conv: nn.Conv2d, n_masks: int, scale: float, bias: float) -> LearnedMaskConv2d:
    masked = LearnedMaskConv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        n_masks,
        stride=conv.stride,
        padding=conv.padding,  # type: ignore[arg-type]
        dilation=conv.dilation,
        bias=conv.bias is not None,
        threshold_init_scale=scale,
        threshold_init_bias=bias,
    ).to(device=conv.weight.device, dtype=conv.weight.dtype)
    with torch.no_grad():
        masked.weight.copy_(conv.weight)
        if conv.bias is not None and masked.bias is not None:
            masked.bias.copy_(conv.bias)
    return masked


class LearnedMaskTrunk(Trunk):
    """A plain trunk whose convolutions carry a learned weight mask per agent (or group).

    Args:
        inner: The plain trunk; its ``nn.Conv2d`` layers are replaced in place.
        n_agents: Number ``N`` of agents (length of the one-hot).
        group_of_agent: Mask index of every agent (default: one mask per agent).
        threshold_init_scale: Threshold initialisation ``-(U(0,1) * scale + bias)`` (5).
        threshold_init_bias: See ``threshold_init_scale`` (5).
        owner: Name used in error messages.

    Raises:
        ValueError: if the trunk has no convolution, or one that cannot be masked (not a plain
            ``nn.Conv2d``, grouped, or not zero-padded).
    """

    group_of_agent: torch.Tensor
    _agent_to_group: torch.Tensor

    def __init__(
        self,
        inner: Trunk,
        n_agents: int,
        group_of_agent: Sequence[int] | None = None,
        threshold_init_scale: float = 5.0,
        threshold_init_bias: float = 5.0,
        owner: str = "LearnedMaskTrunk",
    ) -> None:
        super().__init__()
        groups = agent_groups(group_of_agent, int(n_agents), owner)
        n_masks = int(groups.max()) + 1
        convs = conv_layers(inner)
        if not convs:
            raise ValueError(
                f"{owner}: mask_trunk=True masks the trunk's convolution kernels, but the trunk "
                f"({type(inner).__name__}) has no convolution; drop mask_trunk or use a CNN trunk (image observations)"
            )
        for name, conv in convs:
            problem = ""
            if type(conv) is not nn.Conv2d:
                problem = f"is a {type(conv).__name__} (only nn.Conv2d can be masked)"
            elif conv.groups != 1:
                problem = f"has groups={conv.groups} (only groups=1 can be masked)"
            elif conv.padding_mode != "zeros":
                problem = f"has padding_mode={conv.padding_mode!r} (only zero padding)"
            if problem:
                raise ValueError(f"{owner}: mask_trunk=True: the trunk's convolution {name!r} {problem}; drop mask_trunk")
        for name, conv in convs:
            parent_name, _, child = name.rpartition(".")
            parent = inner.get_submodule(parent_name) if parent_name else inner
            setattr(parent, child, _masked_copy(conv, n_masks, threshold_init_scale, threshold_init_bias))  # type: ignore[arg-type]
        self.inner = inner
        self.features_dim = inner.features_dim
        self.n_agents = int(n_agents)
        self.n_masks = n_masks
        self.register_buffer("group_of_agent", groups)
        self.register_buffer("_agent_to_group", F.one_hot(groups, n_masks).float(), persistent=False)

    def mask_layers(self) -> list[LearnedMaskConv2d]:
        """The masked convolutions, input to output."""
        return [m for m in self.inner.modules() if isinstance(m, LearnedMaskConv2d)]

    def agent_masks(self) -> list[torch.Tensor]:
        """Per convolution, the ``[N, kernel weights]`` 0/1 mask of every agent (K2)."""
        return agent_masks(self.mask_layers(), self.group_of_agent)

    def forward(self, x: torch.Tensor, agent_one_hot: torch.Tensor) -> torch.Tensor:
        """Run the inner trunk, every row convolved with its own group's masked kernels."""
        groups = RowGroups.from_one_hot(agent_one_hot.to(self._agent_to_group.dtype) @ self._agent_to_group)
        layers = self.mask_layers()
        for layer in layers:
            layer.row_groups = groups
        try:
            return self.inner(x, agent_one_hot)
        finally:
            for layer in layers:
                layer.row_groups = None
