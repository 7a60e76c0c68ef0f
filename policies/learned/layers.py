"""Kaleidoscope: one set of shared weights, a learnable weight mask per agent (Li, Pan & Zhang, 2024).

Kaleidoscope ("Learnable Masks for Heterogeneous Multi-agent Reinforcement Learning", NeurIPS 2024,
arXiv 2410.08540, section 4; reference code: ``KaleiLinear`` in the authors' repository) keeps the
weights ``theta_0`` of one network and, per agent ``i``, a learnable threshold for every weight.
Agent ``i`` runs the network with the soft-thresholded weights of soft threshold
reparameterisation (STR, Kusupati et al., 2020)::

    (K1)  theta_i = S(theta_0, s_i) = sign(theta_0) * ReLU(|theta_0| - g(s_i)),   g = sigmoid

    (K2)  M_i = 1[|theta_0| > g(s_i)]             (the binary mask of agent i: theta_i = 0 off it)

* Thresholds are per agent **and per weight**: ``s`` has shape ``[N, *weight.shape]`` in every
  masked layer (``sparse_thresholds`` of ``KaleiLinear``); biases are shared and never masked.
* Every ``Linear`` of the agent network is masked, output layer included (MPE / SMACv2: ``fc1``,
  ``fc2``, ``fc3``, ``fc4`` around an unmasked GRU; MaMuJoCo: all three MLP layers).
* Initialisation: ``s ~ -(U(0, 1) * init_scale + init_bias)`` with ``init_scale = init_bias = 5``
  (every released config for agent networks), i.e. ``s ~ U(-10, -5)`` and
  ``g(s) in [4.5e-5, 6.7e-3]``: at the start almost every weight is kept for every agent and the
  masks of two agents differ only on the few weights whose magnitude lies in that band.
* Gradients reach ``theta_0`` and ``s`` through (K1) directly (ReLU's subgradient; no estimator).
  The straight-through estimator is used only for the binary masks (K2) in the diversity
  regulariser (:mod:`policies.learned.regularizer`).
* Masks may be per agent (MPE, MaMuJoCo) or per unit type (SMACv2's ``Kalei_type_n_mac``):
  ``group_of_agent`` maps agents to masks.

Batched evaluation: each row of a batch uses its own agent's weights. Measured on CPU with one
torch thread (forward + backward of a 30-64-64-5 network, ``benchmarks/learned_mask_cost.py``
for the full table), of the four strategies -- gather one weight matrix per row and ``bmm``
(the reference code), run all ``N`` weight sets on all rows and pick, sort rows by agent and loop
over agents, scatter rows into an ``[N, max rows per agent, in]`` block and run one batched
``baddbmm`` -- the last was fastest or tied at every size (3 and 15 agents; 64 to 2,048 rows)
and is what :class:`LearnedMaskLinear` does. The row placement (:class:`RowGroups`) is computed
once per network forward and reused by every layer. The per-agent weights are recomputed at every
forward pass, with or without gradients: a cache keyed on the parameters' version counters (phase
1) missed writes through ``.data``, which SB3's ``polyak_update`` makes to DQN / SAC / TD3 target
networks, so a target kept acting with stale weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from policies.core.heads import AgentConditionedMLP

__all__ = [
    "KALEIDOSCOPE_INIT",
    "LearnedMaskLayer",
    "LearnedMaskLinear",
    "LearnedMaskMLP",
    "RowGroups",
    "agent_groups",
    "agent_masks",
    "init_thresholds",
    "kaiming_bound",
    "mask_layers_of",
    "soft_threshold",
]

KALEIDOSCOPE_INIT = {"threshold_init_scale": 5.0, "threshold_init_bias": 5.0}
"""Threshold initialisation ``s ~ -(U(0,1) * scale + bias)`` of the released agent networks."""


def soft_threshold(weight: torch.Tensor, thresholds: torch.Tensor) -> torch.Tensor:
    """STR's soft threshold (K1): ``sign(W) * ReLU(|W| - sigmoid(s))``, broadcast over agents.

    Args:
        weight: Shared weights ``theta_0``, any shape ``S``.
        thresholds: Threshold logits ``s``, shape ``[G, *S]``.

    Returns:
        ``[G, *S]``: every group's effective weights.
    """
    return torch.sign(weight) * F.relu(weight.abs() - torch.sigmoid(thresholds))


def init_thresholds(thresholds: torch.Tensor, scale: float, bias: float, generator: torch.Generator | None = None) -> None:
    """Fill ``thresholds`` in place with ``-(U(0,1) * scale + bias)`` (the released init and reset)."""
    with torch.no_grad():
        draw = torch.rand(thresholds.shape, generator=generator, dtype=thresholds.dtype)
        thresholds.copy_(-(draw.to(thresholds.device) * scale + bias))


@dataclass(frozen=True)
class RowGroups:
    """Where each row of a batch goes in the ``[G, max_rows, ...]`` per-group blocks.

    Attributes:
        group: ``[B]`` mask index of every row.
        rank: ``[B]`` position of every row among the rows of its group (batch order).
        n_groups: Number ``G`` of masks.
        max_rows: Largest number of rows of one group (the block height).
    """

    group: torch.Tensor
    rank: torch.Tensor
    n_groups: int
    max_rows: int

    @classmethod
    def from_one_hot(cls, group_one_hot: torch.Tensor) -> RowGroups:
        """Rows grouped by a ``[B, G]`` 0/1 indicator (exactly one 1 per row)."""
        group = group_one_hot.argmax(-1)
        rank = ((group_one_hot.cumsum(0) * group_one_hot).sum(-1) - 1).long()
        max_rows = int(rank.max()) + 1 if rank.numel() else 0
        return cls(group, rank, int(group_one_hot.shape[-1]), max_rows)

    @classmethod
    def from_index(cls, group: torch.Tensor, n_groups: int) -> RowGroups:
        """Rows grouped by a ``[B]`` integer mask index in ``[0, n_groups)``."""
        return cls.from_one_hot(F.one_hot(group.long(), n_groups).to(torch.float32))

    def scatter(self, rows: torch.Tensor) -> torch.Tensor:
        """``[B, *F]`` rows -> ``[G, max_rows, *F]`` blocks (unused slots are zero)."""
        blocks = rows.new_zeros((self.n_groups, self.max_rows, *rows.shape[1:]))
        return blocks.index_put((self.group, self.rank), rows)

    def gather(self, blocks: torch.Tensor) -> torch.Tensor:
        """``[G, max_rows, *F]`` blocks -> ``[B, *F]`` rows, in batch order."""
        return blocks[self.group, self.rank]


class LearnedMaskLayer:
    """What every Kaleidoscope layer has: shared ``weight``, ``bias``, per-group ``thresholds``.

    Mixed into ``nn.Linear`` / ``nn.Conv2d`` subclasses, so SB3's (orthogonal) weight
    initialisation, parameter counting and FLOP counting see an ordinary layer.
    """

    weight: torch.Tensor
    thresholds: nn.Parameter
    n_masks: int

    def _init_mask_state(self, n_masks: int, init_scale: float, init_bias: float, owner: str) -> None:
        if isinstance(n_masks, bool) or not isinstance(n_masks, int) or n_masks < 1:
            raise ValueError(f"{owner}: n_masks must be a positive int (one mask per agent or group), got {n_masks!r}")
        if init_scale < 0:
            raise ValueError(f"{owner}: threshold_init_scale must be >= 0, got {init_scale!r}; Kaleidoscope uses 5.0")
        self.n_masks = n_masks
        self.threshold_init_scale = float(init_scale)
        self.threshold_init_bias = float(init_bias)
        shape = (n_masks, *self.weight.shape)
        self.thresholds = nn.Parameter(torch.empty(shape, dtype=self.weight.dtype, device=self.weight.device))
        init_thresholds(self.thresholds, init_scale, init_bias)

    def masked_weights(self) -> torch.Tensor:
        """``[G, *weight.shape]``: every group's effective weights (K1), from the current parameters."""
        return soft_threshold(self.weight, self.thresholds)

    def masks(self) -> torch.Tensor:
        """``[G, *weight.shape]`` boolean masks (K2): ``|W| > sigmoid(s)``."""
        with torch.no_grad():
            return self.weight.abs() > torch.sigmoid(self.thresholds)


class LearnedMaskLinear(LearnedMaskLayer, nn.Linear):
    """``nn.Linear`` whose weights are soft-thresholded per group of rows (Kaleidoscope, K1).

    Args:
        in_features: Input size.
        out_features: Output size.
        n_masks: Number ``G`` of masks (agents, or agent types).
        bias: Learn a shared, unmasked bias.
        threshold_init_scale: ``s ~ -(U(0,1) * scale + bias)``; 5 in the released configs.
        threshold_init_bias: See ``threshold_init_scale``; 5 in the released configs.

    Raises:
        ValueError: for a non-positive ``n_masks`` or a negative ``threshold_init_scale``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        n_masks: int,
        bias: bool = True,
        threshold_init_scale: float = 5.0,
        threshold_init_bias: float = 5.0,
    ) -> None:
        nn.Linear.__init__(self, in_features, out_features, bias=bias)
        self._init_mask_state(n_masks, threshold_init_scale, threshold_init_bias, "LearnedMaskLinear")

    def forward(self, x: torch.Tensor, groups: RowGroups | torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """``[B, in]`` rows and their groups (a :class:`RowGroups` or a ``[B]`` mask index) -> ``[B, out]``.

        Row ``b`` is multiplied by the weights of its own group only (one ``baddbmm`` over
        ``[G, max_rows, in]`` blocks).
        """
        if not isinstance(groups, RowGroups):
            groups = RowGroups.from_index(groups, self.n_masks)
        weights = self.masked_weights().transpose(1, 2)  # [G, in, out]
        blocks = groups.scatter(x)
        if self.bias is not None:
            out = torch.baddbmm(self.bias.view(1, 1, -1), blocks, weights)
        else:
            out = torch.bmm(blocks, weights)
        return groups.gather(out)

    def extra_repr(self) -> str:
        """Sizes, bias and number of masks."""
        return f"{super().extra_repr()}, n_masks={self.n_masks}"


class LearnedMaskMLP(AgentConditionedMLP):
    """Kaleidoscope's agent network: every layer a :class:`LearnedMaskLinear`, one mask per agent.

    Same constructor style and ``forward(features [B, D], agent_one_hot [B, N]) -> [B, out]`` as
    :class:`policies.SharedMLP`; with ``agent_id`` the one-hot is also concatenated to the input
    (the released MPE config does so: ``obs_agent_id: True``).

    Args:
        in_dim: Length ``D`` of the feature vector.
        hidden: Widths of the hidden layers.
        out_dim: Output size.
        n_agents: Number ``N`` of agents.
        activation_fn: Activation class after every hidden layer.
        agent_id: Concatenate the agent one-hot to the input.
        group_of_agent: Mask index of every agent (default: one mask per agent; agent types give
            SMACv2's per-unit-type masks).
        threshold_init_scale: Threshold initialisation scale (5).
        threshold_init_bias: Threshold initialisation bias (5).

    Raises:
        ValueError: if ``group_of_agent`` does not give one index in ``[0, G)`` per agent, with
            every group used.
    """

    group_of_agent: torch.Tensor
    _agent_to_group: torch.Tensor

    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int],
        out_dim: int,
        n_agents: int,
        activation_fn: type[nn.Module] = nn.Tanh,
        agent_id: bool = False,
        group_of_agent: Sequence[int] | None = None,
        threshold_init_scale: float = 5.0,
        threshold_init_bias: float = 5.0,
    ) -> None:
        super().__init__(in_dim, hidden, out_dim, n_agents, activation_fn, agent_id)
        groups = agent_groups(group_of_agent, self.n_agents, "LearnedMaskMLP")
        n_groups = int(groups.max()) + 1
        self.register_buffer("group_of_agent", groups)
        self.register_buffer("_agent_to_group", F.one_hot(groups, n_groups).float(), persistent=False)
        self.n_masks = n_groups
        self._identity_groups = bool((groups == torch.arange(self.n_agents)).all())
        sizes = [self.input_dim, *self.hidden_sizes, self.out_dim]
        layers = [
            LearnedMaskLinear(a, b, n_groups, True, threshold_init_scale, threshold_init_bias)
            for a, b in zip(sizes[:-1], sizes[1:])
        ]
        self.hidden = nn.ModuleList(layers[:-1])
        self.head = layers[-1]

    def row_groups(self, agent_one_hot: torch.Tensor) -> RowGroups:
        """The mask index of every row and its place in the per-mask blocks."""
        if self._identity_groups:
            return RowGroups.from_one_hot(agent_one_hot)
        return RowGroups.from_one_hot(agent_one_hot.to(self._agent_to_group.dtype) @ self._agent_to_group)

    def forward(self, features: torch.Tensor, agent_one_hot: torch.Tensor) -> torch.Tensor:
        """Each row through the network masked for its agent (K1)."""
        groups = self.row_groups(agent_one_hot)
        x = self._input(features, agent_one_hot)
        for layer in self.hidden:
            x = self.activation(layer(x, groups))
        return self.head(x, groups)

    def mask_layers(self) -> list[LearnedMaskLinear]:
        """The masked layers, input to output (all of them: Kaleidoscope masks every layer)."""
        return [*self.hidden, self.head]  # type: ignore[list-item]

    def head_layers(self) -> list[nn.Linear]:
        """The output layer."""
        return [self.head]

    def agent_masks(self) -> list[torch.Tensor]:
        """Per layer, the ``[N, out * in]`` 0/1 weight mask of every agent (K2).

        The same per-agent list that neuron-masked networks return, so mask-overlap plots apply.
        """
        return agent_masks(self.mask_layers(), self.group_of_agent)


def agent_groups(group_of_agent: Sequence[int] | None, n_agents: int, owner: str) -> torch.Tensor:
    """``[N]`` long tensor of every agent's mask index (default: one mask per agent), checked.

    Raises:
        ValueError: if ``group_of_agent`` does not give one index in ``[0, G)`` per agent, with
            every index used.
    """
    groups = torch.arange(n_agents) if group_of_agent is None else torch.as_tensor(list(group_of_agent))
    n_groups = int(groups.max()) + 1 if groups.numel() else 0
    if (
        n_agents < 1
        or groups.shape != (n_agents,)
        or groups.dtype not in (torch.int32, torch.int64)
        or int(groups.min()) < 0
        or sorted(set(groups.tolist())) != list(range(n_groups))
    ):
        raise ValueError(
            f"{owner}: group_of_agent must give one mask index per agent ({n_agents}) "
            f"using every index in 0..G-1, got {list(groups.tolist())!r}"
        )
    return groups.long()


def agent_masks(layers: Sequence[Any], group_of_agent: torch.Tensor) -> list[torch.Tensor]:
    """Per layer, the ``[N, weights]`` 0/1 mask (K2) of every agent, from the layers' group masks."""
    return [layer.masks().flatten(1).float().index_select(0, group_of_agent.to(layer.weight.device)) for layer in layers]


def kaiming_bound(layer: nn.Module) -> float:
    """Bound of ``kaiming_uniform_(a=sqrt(5))``, the default init of ``nn.Linear`` / ``nn.Conv2d``."""
    weight: torch.Tensor = layer.weight  # type: ignore[assignment]
    fan_in = weight[0].numel()
    gain = math.sqrt(2.0 / (1 + 5.0))
    return gain * math.sqrt(3.0 / fan_in) if fan_in else 0.0


def mask_layers_of(module: nn.Module) -> list[Any]:
    """The Kaleidoscope layers of a module: its ``mask_layers()`` if it has one, else every one found."""
    listed = getattr(module, "mask_layers", None)
    if callable(listed):
        return list(listed())
    return [m for m in module.modules() if isinstance(m, LearnedMaskLayer)]
