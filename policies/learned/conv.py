"""Kaleidoscope's learnable per-agent masks on convolution kernels (for image trunks).

The paper masks linear layers only (its agents are MLP / GRU networks); soft threshold
reparameterisation is defined per weight, so it carries over to a kernel unchanged:
agent ``i`` convolves with ``sign(K) * ReLU(|K| - sigmoid(s_i))`` (K1), ``s_i`` of the kernel's
shape. :func:`~policies.learned.regularizer.diversity_loss`,
:func:`~policies.learned.regularizer.reset_masked_weights` and
:func:`~policies.learned.stats.mask_statistics` accept these layers as they are.

Rows are evaluated with one grouped convolution: the rows of the ``G`` masks are scattered into
``[max_rows, G * C, H, W]`` and convolved with the ``G`` kernels stacked as ``groups=G``.

Example:
    >>> import torch
    >>> conv = LearnedMaskConv2d(3, 8, 3, n_masks=2, padding=1)
    >>> conv(torch.zeros(5, 3, 7, 7), torch.tensor([0, 1, 1, 0, 1])).shape
    torch.Size([5, 8, 7, 7])
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from policies.learned.layers import LearnedMaskLayer, RowGroups

__all__ = ["LearnedMaskConv2d"]


class LearnedMaskConv2d(LearnedMaskLayer, nn.Conv2d):
    """``nn.Conv2d`` whose kernel is soft-thresholded per group of rows (Kaleidoscope, K1).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Kernel size.
        n_masks: Number ``G`` of masks (agents, or agent types).
        stride: As ``nn.Conv2d``.
        padding: As ``nn.Conv2d`` (``padding_mode="zeros"`` only).
        dilation: As ``nn.Conv2d``.
        bias: Learn a shared, unmasked bias.
        threshold_init_scale: ``s ~ -(U(0,1) * scale + bias)`` (5).
        threshold_init_bias: See ``threshold_init_scale`` (5).

    Raises:
        ValueError: for a non-positive ``n_masks`` or a negative ``threshold_init_scale``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        n_masks: int,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        bias: bool = True,
        threshold_init_scale: float = 5.0,
        threshold_init_bias: float = 5.0,
    ) -> None:
        nn.Conv2d.__init__(
            self, in_channels, out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation, bias=bias
        )
        self._init_mask_state(n_masks, threshold_init_scale, threshold_init_bias, "LearnedMaskConv2d")
        self.row_groups: RowGroups | None = None

    def forward(self, x: torch.Tensor, groups: RowGroups | torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        """``[B, C, H, W]`` rows and their groups (a :class:`RowGroups` or ``[B]`` mask index) -> ``[B, O, H', W']``.

        Without ``groups``, the rows' groups are :attr:`row_groups`, set by the module that owns
        the layer for the duration of its forward pass (:class:`~policies.learned.trunk.LearnedMaskTrunk`
        inside an unchanged CNN, whose ``nn.Sequential`` calls ``conv(x)``).

        Raises:
            RuntimeError: without ``groups`` outside such a forward pass.
        """
        if groups is None:
            groups = self.row_groups
            if groups is None:
                raise RuntimeError(
                    "LearnedMaskConv2d: no row groups; call conv(x, groups) or run it inside a LearnedMaskTrunk"
                )
        if not isinstance(groups, RowGroups):
            groups = RowGroups.from_index(groups, self.n_masks)
        g, o = self.n_masks, self.out_channels
        blocks = groups.scatter(x)  # [G, M, C, H, W]
        m = blocks.shape[1]
        stacked = blocks.transpose(0, 1).reshape(m, g * x.shape[1], *x.shape[2:])
        kernels = self.masked_weights().reshape(g * o, *self.weight.shape[1:])
        bias = None if self.bias is None else self.bias.repeat(g)
        out = F.conv2d(stacked, kernels, bias, self.stride, self.padding, self.dilation, groups=g)
        out = out.reshape(m, g, o, *out.shape[2:]).transpose(0, 1)  # [G, M, O, H', W']
        return groups.gather(out)

    def extra_repr(self) -> str:
        """Convolution settings and number of masks."""
        return f"{super().extra_repr()}, n_masks={self.n_masks}"
