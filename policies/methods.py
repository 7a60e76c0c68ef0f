"""The sharing methods, written once for the actor-critic and the Q policies.

Each method is a mixin that reads its options in ``__init__`` (keyword-only, all optional, with
the papers' defaults), validates them against the env's :class:`~ps_wrappers.SlotLayout`, and
builds one agent-conditioned network per role in :meth:`SharingMethod._build_network`:

* roles ``"pi"`` (actor) and ``"vf"`` (critic) for :class:`~policies.SharingActorCriticPolicy`,
* role ``"q"`` for :class:`~policies.SharingQPolicy` (its target network is built like ``"q"``,
  so both carry the same masks and cluster map).

The policy base classes call it through :meth:`SharingMethod._make_network`, which then applies
the subclass hook :meth:`SharingMethod._post_process_network`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from policies.clustering import ClusterSpec, resolve_clusters
from policies.masks import ADAPS_THRESHOLD, adaps_masks, resolve_pruning, snp_ps_masks
from policies.networks import AgentConditionedMLP, NeuronMaskedMLP, RoutedMLP, SharedMLP
from ps_wrappers.layout import SlotLayout

__all__ = ["FullSharingMethod", "PrunedMaskMethod", "SelectiveSharingMethod", "SharingMethod"]

_MASK_ROLE = {"pi": "pi", "vf": "vf", "q": "q", "q_target": "q"}
_ROLE_SEED_OFFSET = {"pi": 0, "vf": 1, "q": 0}


def _owner(obj: object) -> str:
    return type(obj).__name__


def _need_agent_ids(layout: SlotLayout, owner: str, why: str) -> None:
    if not layout.agent_ids or layout.n_agents == 0:
        raise ValueError(
            f"{owner} {why}, but the vec env was built with agent_ids=False so rows carry no agent "
            "identity; rebuild it with ps_wrappers.make_vec_env(..., agent_ids=True)"
        )


class SharingMethod:
    """How the agent enters the shared network; mixed into a policy base class.

    Subclass hooks (all optional):

    * :meth:`_post_process_network` ``(net, role) -> net``: called on every network right after it
      is built (before weight initialisation and the optimizer), e.g. to replace its ``nn.Linear``
      layers (:meth:`~policies.networks.AgentConditionedMLP.replace_linear`) or attach weight masks.
    * ``_post_build()`` (defined on the policy base classes): called at the end of ``_build`` once
      the optimizer exists, e.g. to register ``optimizer.register_step_post_hook``.
    """

    layout: SlotLayout

    def _check_method(self, layout: SlotLayout) -> None:
        """Validate the method options against the env layout (raise ``ValueError``)."""

    def _build_network(
        self, role: str, hidden: Sequence[int], out_dim: int, activation_fn: type[nn.Module]
    ) -> AgentConditionedMLP:
        """Build the network of ``role`` (``"pi"``, ``"vf"``, ``"q"`` or ``"q_target"``)."""
        raise NotImplementedError

    def _method_kwargs(self) -> dict[str, Any]:
        """The method options, as constructor keyword arguments (for save / load)."""
        return {}

    def _post_process_network(self, net: AgentConditionedMLP, role: str) -> AgentConditionedMLP:
        """Subclass hook applied to every freshly built network; the default returns it unchanged."""
        return net

    def _make_network(
        self, role: str, hidden: Sequence[int], out_dim: int, activation_fn: type[nn.Module]
    ) -> AgentConditionedMLP:
        """Build the network of ``role`` and apply :meth:`_post_process_network`."""
        return self._post_process_network(self._build_network(role, hidden, out_dim, activation_fn), role)


class FullSharingMethod(SharingMethod):
    """FuPS, or FuPS+id with ``agent_id=True`` (one-hot id concatenated to the input)."""

    def __init__(self, *args: Any, agent_id: bool = False, **kwargs: Any) -> None:
        self.agent_id = bool(agent_id)
        super().__init__(*args, **kwargs)

    def _check_method(self, layout: SlotLayout) -> None:
        if self.agent_id:
            _need_agent_ids(layout, _owner(self), "with agent_id=True concatenates the agent one-hot")

    def _build_network(
        self, role: str, hidden: Sequence[int], out_dim: int, activation_fn: type[nn.Module]
    ) -> AgentConditionedMLP:
        lay = self.layout
        return SharedMLP(lay.feature_dim, hidden, out_dim, lay.n_agents, activation_fn, self.agent_id)

    def _method_kwargs(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id}


class SelectiveSharingMethod(SharingMethod):
    """SePS: one network per cluster, for the actor and for the critic (or the Q-network).

    Clusters default to agent types read from the names (:func:`policies.agent_types`); pass
    ``clusters=policies.cluster_agents(venv)`` for the paper's VAE + k-means clustering.
    """

    route_all_max_rows: int = 0
    """Up to ``K x batch`` rows, run all ``K`` networks and pick; above, route rows in blocks."""

    def __init__(self, *args: Any, clusters: ClusterSpec = "type", **kwargs: Any) -> None:
        self.clusters = clusters
        super().__init__(*args, **kwargs)

    def _check_method(self, layout: SlotLayout) -> None:
        _need_agent_ids(layout, _owner(self), "routes every row by its agent's cluster")
        self.cluster_of_agent, _ = resolve_clusters(self.clusters, layout, _owner(self))

    def _build_network(
        self, role: str, hidden: Sequence[int], out_dim: int, activation_fn: type[nn.Module]
    ) -> AgentConditionedMLP:
        lay = self.layout
        return RoutedMLP(
            lay.feature_dim,
            hidden,
            out_dim,
            lay.n_agents,
            self.cluster_of_agent,
            activation_fn,
            route_all_max_rows=self.route_all_max_rows,
        )

    def _method_kwargs(self) -> dict[str, Any]:
        return {"clusters": self.clusters}


class PrunedMaskMethod(SharingMethod):
    """SNP-PS (``method="snp-ps"``, default) and AdaPS (``method="adaps"``): fixed neuron masks.

    The final classes map their ratio arguments to roles in ``_ratio_arguments`` (``{"pi":
    "actor_pruning", "vf": "critic_pruning"}`` or ``{"q": "pruning"}``) and store the values in
    ``_ratios`` before calling ``super().__init__``.
    """

    METHODS = ("snp-ps", "adaps")
    _ratio_arguments: dict[str, str] = {}

    def __init__(
        self,
        *args: Any,
        method: str = "snp-ps",
        clusters: ClusterSpec = None,
        threshold: float = ADAPS_THRESHOLD,
        agent_id: bool = False,
        mask_seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.method = method
        self.clusters = clusters
        self.threshold = float(threshold)
        self.agent_id = bool(agent_id)
        # Drawn from torch's global RNG, which SB3 seeds with the model's `seed`.
        self.mask_seed = int(torch.randint(2**31 - 1, ()).item()) if mask_seed is None else int(mask_seed)
        if not hasattr(self, "_ratios"):
            self._ratios: dict[str, Any] = {}
        super().__init__(*args, **kwargs)

    def _check_method(self, layout: SlotLayout) -> None:
        owner = _owner(self)
        if self.method not in self.METHODS:
            raise ValueError(f"{owner}: method must be 'snp-ps' or 'adaps', got {self.method!r}")
        _need_agent_ids(layout, owner, "masks every row with its agent's neuron mask")
        given = {self._ratio_arguments[r]: v for r, v in self._ratios.items() if v is not None}
        if self.method == "snp-ps" and self.clusters is not None:
            raise ValueError(
                f"{owner}: clusters={self.clusters!r} is only used by method='adaps' (SNP-PS draws a "
                "random mask per agent); pass method='adaps' or drop clusters"
            )
        if self.method == "adaps" and given:
            raise ValueError(
                f"{owner}: {sorted(given)} are SNP-PS pruning ratios, but method='adaps' derives its "
                "masks from the cluster centres with a threshold; drop them or set threshold=..."
            )
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"{owner}: threshold must be in (0, 1), got {self.threshold}")
        if self.method == "adaps":
            self.group_of_agent, self._centres = resolve_clusters(self.clusters, layout, owner)
        else:
            self.group_of_agent = tuple(range(layout.n_agents))

    def _masks(self, role: str, hidden: Sequence[int]) -> list[torch.Tensor]:
        seed = self.mask_seed + _ROLE_SEED_OFFSET[role]
        if self.method == "adaps":
            return adaps_masks(self._centres, hidden, seed, self.threshold)
        argument = self._ratio_arguments.get(role, "pruning")
        ratios = resolve_pruning(self._ratios.get(role), hidden, role, _owner(self), argument)
        return snp_ps_masks(self.layout.n_agents, hidden, ratios, seed)

    def _build_network(
        self, role: str, hidden: Sequence[int], out_dim: int, activation_fn: type[nn.Module]
    ) -> AgentConditionedMLP:
        lay = self.layout
        masks = self._masks(_MASK_ROLE[role], hidden)
        return NeuronMaskedMLP(
            lay.feature_dim, hidden, out_dim, lay.n_agents, masks, self.group_of_agent, activation_fn, self.agent_id
        )

    def _method_kwargs(self) -> dict[str, Any]:
        ratios = {self._ratio_arguments[r]: v for r, v in self._ratios.items()}
        return {
            "method": self.method,
            "clusters": self.clusters,
            "threshold": self.threshold,
            "agent_id": self.agent_id,
            "mask_seed": self.mask_seed,
            **ratios,
        }
