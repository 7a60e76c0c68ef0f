"""FuPS and FuPS+id: one network for all agents, optionally told who is acting.

* FuPS: ``f(trunk(x))``; the agent does not enter (Gupta et al., 2017).
* FuPS+id: the agent's one-hot enters the network (Terry et al., 2020, Theorem 5). With
  ``id_input="features"`` (default) it is concatenated to the trunk's output, the head's input,
  adding ``N x width`` parameters to the first head layer (SNP-PS paper, Fig. 2, Table 2); for
  vectors, whose trunk is the identity, this is the classic id-augmented observation. With
  ``id_input="planes"`` (images only) it is appended to the image as ``N`` constant planes before
  the CNN: "overlaying the agent on an image" (Terry et al., 2020, section 5), which lets the
  identity shape the convolutional features too, at ``N x kernel`` more first-layer weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from torch import nn

from policies.core.extractor import TrunkFactory
from policies.core.heads import AgentConditionedMLP, SharedMLP
from policies.core.trunks import IndicatorPlanesTrunk, Trunk
from policies.methods.base import SharingMethod, need_agent_ids
from ps_wrappers.layout import AnyLayout

__all__ = ["FullSharing", "ID_INPUTS"]

ID_INPUTS = ("features", "planes")


class FullSharing(SharingMethod):
    """FuPS (``agent_id=False``) or FuPS+id (``agent_id=True``).

    Args:
        agent_id: Give the network the agent's one-hot.
        id_input: Where the one-hot enters: ``"features"`` (the head's input, default) or
            ``"planes"`` (indicator planes on the image; image observations only).

    Raises:
        ValueError: for an unknown ``id_input``.
    """

    name = "fups"

    def __init__(self, agent_id: bool = False, id_input: Literal["features", "planes"] = "features") -> None:
        if id_input not in ID_INPUTS:
            raise ValueError(f"FullSharing: id_input must be one of {ID_INPUTS}, got {id_input!r}")
        self.agent_id = bool(agent_id)
        self.id_input = id_input

    @property
    def planes(self) -> bool:
        """Whether the identity enters as image planes."""
        return self.agent_id and self.id_input == "planes"

    def _check(self, layout: AnyLayout) -> None:
        if self.agent_id:
            need_agent_ids(layout, self.owner, "with agent_id=True gives the network the agent one-hot")
        if self.planes and not layout.is_image:
            raise ValueError(
                f"{self.owner}: id_input='planes' appends indicator planes to image observations, but "
                "this env's observations are vectors; use id_input='features' (the one-hot is then "
                "appended to the observation)"
            )

    def trunk(self, factory: TrunkFactory) -> Trunk:
        """The plain trunk, or one built for ``C + N`` channels behind the indicator planes."""
        if self.planes:
            return IndicatorPlanesTrunk(factory(self.layout.n_agents), self.layout.n_agents)
        return factory(0)

    def head(
        self, role: str, in_dim: int, hidden: Sequence[int], out_dim: int, activation_fn: type[nn.Module]
    ) -> AgentConditionedMLP:
        """One shared MLP, with the one-hot input for FuPS+id on features."""
        id_in_head = self.agent_id and not self.planes
        return SharedMLP(in_dim, hidden, out_dim, self.layout.n_agents, activation_fn, id_in_head)

    def options(self) -> dict[str, Any]:
        """``agent_id`` and ``id_input``."""
        return {"agent_id": self.agent_id, "id_input": self.id_input}
