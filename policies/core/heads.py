"""The agent-conditioned network ``f(x, agent)`` behind every sharing policy.

One module family, used by the actor-critic policies (actor and critic) and by the Q policies.
The sharing methods differ only in how the agent enters the network:

* :class:`SharedMLP`: FuPS (the agent does not enter at all) and FuPS+id (the agent's one-hot is
  concatenated to the input; Terry et al., 2020, Theorem 5).
* :class:`NeuronMaskedMLP`: a fixed binary mask per group on the neurons of every hidden layer,
  ``f(x; theta ⊙ M_g)`` (Kim & Sung, 2023, section 4.2; Li et al., 2024, Eq. 5). Groups are the
  agents for SNP-PS and the identity clusters for AdaPS.
* :class:`RoutedMLP`: SePS, ``K`` separate networks; agent ``i`` uses network ``mu(i)``
  (Christianos et al., 2021, section 3).

Every layer is a plain ``torch.nn.Linear`` (hidden layers and output head), so weight-level
sparsity (MAST / RigL, :mod:`policies.sparse`) applies to all of them generically;
:meth:`AgentConditionedMLP.replace_linear` swaps them for ``nn.Linear`` subclasses if needed.
Masks and cluster maps are registered buffers: they are saved and restored with the
``state_dict`` (and hence by SB3's ``save``/``load``) and never receive a gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import torch
from torch import nn

from policies.core.routing import route_rows

__all__ = [
    "AgentConditionedMLP",
    "NeuronMaskedMLP",
    "RoutedMLP",
    "SharedMLP",
]


def _linear_stack(in_dim: int, hidden: Sequence[int], out_dim: int) -> tuple[nn.ModuleList, nn.Linear]:
    layers = nn.ModuleList()
    last = in_dim
    for width in hidden:
        layers.append(nn.Linear(last, int(width)))
        last = int(width)
    return layers, nn.Linear(last, out_dim)


class AgentConditionedMLP(nn.Module):
    """Base class of the family: an MLP ``f(features, agent) -> out`` made of ``nn.Linear`` layers.

    Args:
        in_dim: Length ``D`` of the feature vector.
        hidden: Widths of the hidden layers.
        out_dim: Output size (logits, action means, one value, or Q-values).
        n_agents: Number ``N`` of agents (length of the one-hot).
        activation_fn: Activation class applied after every hidden layer.
        agent_id: Concatenate the agent one-hot to the input (the "+id" variants).
    """

    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int],
        out_dim: int,
        n_agents: int,
        activation_fn: type[nn.Module] = nn.Tanh,
        agent_id: bool = False,
    ) -> None:
        super().__init__()
        self.in_dim = int(in_dim)
        self.hidden_sizes = tuple(int(w) for w in hidden)
        self.out_dim = int(out_dim)
        self.n_agents = int(n_agents)
        self.agent_id = bool(agent_id)
        self.activation = activation_fn()

    @property
    def input_dim(self) -> int:
        """Input width of the first layer (features, plus the one-hot with ``agent_id``)."""
        return self.in_dim + (self.n_agents if self.agent_id else 0)

    def _input(self, features: torch.Tensor, agent_one_hot: torch.Tensor) -> torch.Tensor:
        if self.agent_id:
            return torch.cat([features, agent_one_hot], dim=-1)
        return features

    def forward(self, features: torch.Tensor, agent_one_hot: torch.Tensor) -> torch.Tensor:
        """Evaluate ``f`` on a batch: ``features`` ``[B, D]``, ``agent_one_hot`` ``[B, N]``."""
        raise NotImplementedError

    def linear_layers(self) -> list[nn.Linear]:
        """Every ``nn.Linear`` of the network, hidden layers first, output heads last."""
        return [m for m in self.modules() if isinstance(m, nn.Linear)]

    def head_layers(self) -> list[nn.Linear]:
        """The output layer(s): one, or one per cluster for :class:`RoutedMLP`."""
        raise NotImplementedError

    def replace_linear(self, fn: Callable[[nn.Linear], nn.Linear]) -> None:
        """Replace every ``nn.Linear`` ``layer`` of the network by ``fn(layer)`` in place.

        The hook for weight-level methods that need their own ``nn.Linear`` subclass; the forward
        pass only calls the layers, so any module with the same input and output sizes works.
        """
        for module in list(self.modules()):
            for name, child in list(module.named_children()):
                if isinstance(child, nn.Linear):
                    setattr(module, name, fn(child))


class SharedMLP(AgentConditionedMLP):
    """FuPS (``agent_id=False``) and FuPS+id (``agent_id=True``): one network for all agents.

    With ``agent_id`` the first layer sees ``[x, e_i]``, adding ``N x width`` parameters
    (SNP-PS paper, Fig. 2 and Table 2).
    """

    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int],
        out_dim: int,
        n_agents: int,
        activation_fn: type[nn.Module] = nn.Tanh,
        agent_id: bool = False,
    ) -> None:
        super().__init__(in_dim, hidden, out_dim, n_agents, activation_fn, agent_id)
        self.hidden, self.head = _linear_stack(self.input_dim, self.hidden_sizes, self.out_dim)

    def forward(self, features: torch.Tensor, agent_one_hot: torch.Tensor) -> torch.Tensor:
        """Shared MLP on the (optionally id-augmented) features."""
        x = self._input(features, agent_one_hot)
        for layer in self.hidden:
            x = self.activation(layer(x))
        return self.head(x)

    def head_layers(self) -> list[nn.Linear]:
        """The single output layer."""
        return [self.head]


class NeuronMaskedMLP(SharedMLP):
    """Shared MLP whose hidden neurons are masked per group: ``f(x; theta ⊙ M_g(i))``.

    Hidden layer ``l`` computes ``h_l = act(W_l h_{l-1} + b_l) ⊙ m_{l, g(i)}``. Multiplying a
    neuron's output by 0 removes its outgoing weights for that row and, through the chain rule,
    gives its incoming weights and bias zero gradient from that row: the neuron is pruned for the
    group (structured pruning, SNP-PS section 4.3), while a neuron kept by several groups learns
    from all of them.

    The masks are fixed: after editing a mask buffer in place, call ``_refresh_mask_flags()``
    (loading a state dict does it).

    Args:
        masks: One ``[G, width_l]`` 0/1 tensor per hidden layer (``G`` groups).
        group_of_agent: Length-``N`` group index of every agent (identity for SNP-PS, the
            cluster map ``mu`` for AdaPS).
        (others as :class:`AgentConditionedMLP`)

    Raises:
        ValueError: if the masks do not match the hidden widths or the group map.
    """

    group_of_agent: torch.Tensor
    _agent_masks: torch.Tensor

    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int],
        out_dim: int,
        n_agents: int,
        masks: Sequence[torch.Tensor],
        group_of_agent: Sequence[int],
        activation_fn: type[nn.Module] = nn.Tanh,
        agent_id: bool = False,
    ) -> None:
        super().__init__(in_dim, hidden, out_dim, n_agents, activation_fn, agent_id)
        groups = torch.as_tensor(list(group_of_agent), dtype=torch.long)
        if len(masks) != len(self.hidden_sizes) or groups.shape != (self.n_agents,):
            raise ValueError(
                f"NeuronMaskedMLP: need one mask per hidden layer ({len(self.hidden_sizes)}) and one "
                f"group per agent ({self.n_agents}), got {len(masks)} masks and {tuple(groups.shape)} groups"
            )
        n_groups = int(groups.max()) + 1 if groups.numel() else 0
        for width, mask in zip(self.hidden_sizes, masks):
            if tuple(mask.shape) != (n_groups, width):
                raise ValueError(
                    f"NeuronMaskedMLP: a mask for a hidden layer of width {width} with {n_groups} "
                    f"groups must have shape ({n_groups}, {width}), got {tuple(mask.shape)}"
                )
        self.register_buffer("group_of_agent", groups)
        self.n_masked_layers = len(masks)
        for index, mask in enumerate(masks):
            self.register_buffer(f"neuron_mask_{index}", mask.detach().clone().float())
        self._refresh_mask_flags()

    def _refresh_mask_flags(self) -> None:
        # One gather per forward: the per-agent masks of every pruned layer, concatenated
        # (a derived, non-persistent buffer); layers that no group prunes are skipped.
        pruned = [(i, m) for i, m in enumerate(self.masks()) if bool((m < 0.5).any())]
        self._mask_slices: dict[int, slice] = {}
        start = 0
        for index, mask in pruned:
            self._mask_slices[index] = slice(start, start + mask.shape[1])
            start += mask.shape[1]
        combined = torch.cat([m for _, m in pruned], dim=1) if pruned else torch.ones(len(self.group_of_agent), 0)
        self.register_buffer("_agent_masks", combined.index_select(0, self.group_of_agent), persistent=False)

    def _load_from_state_dict(self, state_dict: Any, prefix: str, *args: Any, **kwargs: Any) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._refresh_mask_flags()

    def masks(self) -> list[torch.Tensor]:
        """The ``[G, width_l]`` neuron masks, one per hidden layer."""
        return [getattr(self, f"neuron_mask_{i}") for i in range(self.n_masked_layers)]

    def agent_masks(self) -> list[torch.Tensor]:
        """The ``[N, width_l]`` neuron mask of every agent, one per hidden layer."""
        return [m.index_select(0, self.group_of_agent) for m in self.masks()]

    def forward(self, features: torch.Tensor, agent_one_hot: torch.Tensor) -> torch.Tensor:
        """Masked MLP: each row uses the neuron masks of its agent's group."""
        masks = self._agent_masks.index_select(0, agent_one_hot.argmax(-1)) if self._mask_slices else None
        x = self._input(features, agent_one_hot)
        for index, layer in enumerate(self.hidden):
            x = self.activation(layer(x))
            if masks is not None and index in self._mask_slices:
                x = x * masks[:, self._mask_slices[index]]
        return self.head(x)


class RoutedMLP(AgentConditionedMLP):
    """SePS: ``K`` separate networks; the rows of agent ``i`` go through network ``mu(i)``.

    Every cluster has its own hidden layers and output head, so the parameter count is ``K`` times
    that of FuPS (SNP-PS paper, Table 2: 229k for ``K = 3`` against 76k). Rows are routed without
    a per-row loop: the rows are sorted by cluster once and each network runs on its own
    contiguous block. Alternatively, for ``K x batch <= route_all_max_rows``, all ``K`` networks run
    on the whole batch and each row picks its cluster's output; on CPU the block routing was faster
    at every batch size we measured (PPO on simple_world_comm_v3, K = 3, 64-64 networks: 0.78x of
    MlpPolicy's throughput against 0.68x), so it is off by default (``route_all_max_rows=0``).

    Args:
        cluster_of_agent: Length-``N`` cluster index ``mu(i)`` of every agent.
        route_all_max_rows: Threshold between the two routing strategies.
        (others as :class:`AgentConditionedMLP`)
    """

    cluster_of_agent: torch.Tensor

    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int],
        out_dim: int,
        n_agents: int,
        cluster_of_agent: Sequence[int],
        activation_fn: type[nn.Module] = nn.Tanh,
        agent_id: bool = False,
        route_all_max_rows: int = 0,
    ) -> None:
        super().__init__(in_dim, hidden, out_dim, n_agents, activation_fn, agent_id)
        clusters = torch.as_tensor(list(cluster_of_agent), dtype=torch.long)
        if clusters.shape != (self.n_agents,):
            raise ValueError(
                f"RoutedMLP: need one cluster per agent ({self.n_agents}), got {tuple(clusters.shape)}"
            )
        self.register_buffer("cluster_of_agent", clusters)
        self.n_clusters = int(clusters.max()) + 1 if clusters.numel() else 1
        self.route_all_max_rows = int(route_all_max_rows)
        self.nets = nn.ModuleList(
            SharedMLP(in_dim, hidden, out_dim, n_agents, activation_fn, agent_id)
            for _ in range(self.n_clusters)
        )

    def forward(self, features: torch.Tensor, agent_one_hot: torch.Tensor) -> torch.Tensor:
        """Route every row through its agent's cluster network."""
        if self.n_clusters == 1:
            return self.nets[0](features, agent_one_hot)
        clusters = self.cluster_of_agent.index_select(0, agent_one_hot.argmax(-1))
        batch = features.shape[0]
        if self.n_clusters * batch <= self.route_all_max_rows:
            outs = torch.stack([net(features, agent_one_hot) for net in self.nets])  # [K, B, O]
            index = clusters.view(1, batch, 1).expand(1, batch, self.out_dim)
            return outs.gather(0, index).squeeze(0)
        return route_rows(
            lambda k, rows, oh: self.nets[k](rows, oh), clusters, self.n_clusters, features, agent_one_hot, self.agent_id
        )

    def head_layers(self) -> list[nn.Linear]:
        """One output layer per cluster."""
        return [head for net in self.nets for head in cast(SharedMLP, net).head_layers()]
