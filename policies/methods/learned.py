"""Kaleidoscope: one shared network, a learned weight mask per agent (Li, Pan & Zhang, NeurIPS 2024).

Every head is a :class:`~policies.learned.layers.LearnedMaskMLP`: shared weights ``theta_0`` and,
per agent (or per cluster of agents), a learnable threshold for every weight; agent ``i`` runs the
network with ``sign(theta_0) * ReLU(|theta_0| - sigmoid(s_i))`` (soft threshold
reparameterisation). With ``mask_trunk=True`` the convolutions of a CNN trunk are masked the same
way (:class:`~policies.learned.trunk.LearnedMaskTrunk`). Once the policy's optimizer exists,
:meth:`LearnedMask.after_build` attaches a
:class:`~policies.learned.regularizer.KaleidoscopeRegularizer` to the policy: the diversity term
that pushes agents' masks apart and the periodic reset of weights every agent has dropped, both
driven by the optimizer's step hooks, so SB3's ``train()`` is used unchanged. See
docs/learned_masks.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from policies.clustering.clustering import ClusterSpec, resolve_clusters
from policies.core.extractor import TrunkFactory
from policies.core.heads import AgentConditionedMLP
from policies.core.trunks import Trunk
from policies.learned.layers import LearnedMaskMLP
from policies.learned.regularizer import COEF_MODES, KaleidoscopeRegularizer
from policies.learned.training import learned_mask_networks
from policies.learned.trunk import LearnedMaskTrunk
from policies.methods.base import SharingMethod, need_agent_ids
from ps_wrappers.layout import AnyLayout

__all__ = ["LEARNED_MASK_DEFAULTS", "LearnedMask", "REGULARIZER_ATTRIBUTE"]

LEARNED_MASK_DEFAULTS: dict[str, Any] = {
    "clusters": "agent",
    "agent_id": True,
    "mask_trunk": False,
    "div_coef": 0.5,
    "coef_mode": "grad",
    "reset_interval": 200_000,
    "reset_ratio": 0.1,
    "reset_first_layer": False,
    "threshold_init_scale": 5.0,
    "threshold_init_bias": 5.0,
}
"""The policy kwargs' defaults: the released MPE configuration (the benchmark closest to ours)."""

REGULARIZER_ATTRIBUTE = "learned_masks"
"""Name of the regulariser submodule :meth:`LearnedMask.after_build` adds to the policy."""

POLICY_COEF_MODES = ("grad", "fixed")


def _positive_int(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and value >= 1


class LearnedMask(SharingMethod):
    """Kaleidoscope's learnable per-agent weight masks, diversity term and weight reset.

    Args:
        clusters: Whose masks: ``"agent"`` (default: one per agent, as MPE and MaMuJoCo),
            ``"type"`` (one per agent type, as SMACv2's per-unit-type masks), a
            :class:`policies.ClusterResult` (identity clusters, like AdaPS), a cluster id per agent
            or ``{agent name: id}``.
        agent_id: Also concatenate the agent one-hot to the head's input (the released configs
            do: ``obs_agent_id: True``).
        mask_trunk: Also mask the convolutions of the CNN trunk (image observations).
        div_coef: ``alpha`` of the diversity term (MPE: 0.5); 0 turns the term off.
        coef_mode: ``"grad"`` (default: the diversity gradient scaled to ``alpha`` times the RL
            gradient on the thresholds) or ``"fixed"`` (``alpha`` itself). The released
            loss-ratio coefficient needs the RL loss, which SB3's ``train()`` does not hand to
            the policy (see docs/learned_masks.md).
        reset_interval: Env timesteps (``model.num_timesteps``: one per slot) between weight
            resets; ``None``: never reset. Converted to optimizer steps by
            :func:`policies.set_mask_schedule` / :class:`policies.LearnedMaskCallback`.
        reset_ratio: Probability of re-drawing a weight that every agent masks out (0.1).
        reset_first_layer: Reset the input layer too (MaMuJoCo); ``False`` as MPE / SMACv2.
        threshold_init_scale: Thresholds start (and are reset) at ``-(U(0,1) * scale + bias)`` (5).
        threshold_init_bias: See ``threshold_init_scale`` (5).

    Raises:
        ValueError: (at :meth:`bind`) for an option out of range or unusable with the env.
    """

    name = "learned-masks"

    def __init__(
        self,
        clusters: ClusterSpec = "agent",
        agent_id: bool = True,
        mask_trunk: bool = False,
        div_coef: float = 0.5,
        coef_mode: str = "grad",
        reset_interval: int | None = 200_000,
        reset_ratio: float = 0.1,
        reset_first_layer: bool = False,
        threshold_init_scale: float = 5.0,
        threshold_init_bias: float = 5.0,
    ) -> None:
        self.clusters = clusters
        self.agent_id = agent_id
        self.mask_trunk = mask_trunk
        self.div_coef = div_coef
        self.coef_mode = coef_mode
        self.reset_interval = reset_interval
        self.reset_ratio = reset_ratio
        self.reset_first_layer = reset_first_layer
        self.threshold_init_scale = threshold_init_scale
        self.threshold_init_bias = threshold_init_bias

    def _check(self, layout: AnyLayout) -> None:
        owner = self.owner
        for flag in ("agent_id", "mask_trunk", "reset_first_layer"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"{owner}: {flag} must be True or False, got {getattr(self, flag)!r}")
        for option in ("div_coef", "reset_ratio", "threshold_init_scale", "threshold_init_bias"):
            value = getattr(self, option)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{owner}: {option} must be a number, got {value!r}")
        if not self.div_coef >= 0:
            raise ValueError(f"{owner}: div_coef must be >= 0, got {self.div_coef!r}; Kaleidoscope's MPE value is 0.5")
        if self.coef_mode not in POLICY_COEF_MODES:
            hint = (
                " ('loss' needs the RL loss of every optimizer step, which SB3's train() does not give the "
                "policy; use it with KaleidoscopeRegularizer.observe_loss in your own training loop)"
                if self.coef_mode in COEF_MODES
                else ""
            )
            raise ValueError(f"{owner}: coef_mode must be one of {POLICY_COEF_MODES}, got {self.coef_mode!r}{hint}")
        if self.reset_interval is not None and not _positive_int(self.reset_interval):
            raise ValueError(
                f"{owner}: reset_interval must be a positive int of env timesteps or None (no reset), "
                f"got {self.reset_interval!r}; Kaleidoscope's MPE value is 200_000"
            )
        if not 0.0 <= self.reset_ratio <= 1.0:
            raise ValueError(f"{owner}: reset_ratio must be in [0, 1], got {self.reset_ratio!r}; Kaleidoscope uses 0.1")
        if self.threshold_init_scale < 0:
            raise ValueError(f"{owner}: threshold_init_scale must be >= 0, got {self.threshold_init_scale!r}")
        need_agent_ids(layout, owner, "gives every agent its own learned mask")
        spec = "agent" if self.clusters is None else self.clusters
        self.group_of_agent, _ = resolve_clusters(spec, layout, owner)

    def trunk(self, factory: TrunkFactory) -> Trunk:
        """The plain trunk, with learned masks on its convolutions if ``mask_trunk``."""
        base = factory(0)
        if not self.mask_trunk:
            return base
        return LearnedMaskTrunk(
            base, self.layout.n_agents, self.group_of_agent, self.threshold_init_scale, self.threshold_init_bias, self.owner
        )

    def head(
        self, role: str, in_dim: int, hidden: Sequence[int], out_dim: int, activation_fn: type[nn.Module]
    ) -> AgentConditionedMLP:
        """A :class:`LearnedMaskMLP`: every layer, output included, masked per agent (or cluster)."""
        return LearnedMaskMLP(
            in_dim,
            hidden,
            out_dim,
            self.layout.n_agents,
            activation_fn,
            self.agent_id,
            self.group_of_agent,
            self.threshold_init_scale,
            self.threshold_init_bias,
        )

    def after_build(self, module: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Attach the diversity term and reset schedule as ``module.learned_masks``.

        Over every learned-mask network in ``module`` that ``optimizer`` trains (each with its own
        term and coefficient). As a submodule of the policy its step counter, schedule and
        coefficient history are saved and loaded with the policy; thresholds are parameters.

        Raises:
            RuntimeError: if ``module`` has no learned-mask network trained by ``optimizer``.
        """
        networks = learned_mask_networks(module, optimizer)
        if not networks:
            raise RuntimeError(f"{self.owner}: the optimizer trains no learned-mask network of {type(module).__name__}")
        regularizer = KaleidoscopeRegularizer(
            networks,
            optimizer,
            div_coef=float(self.div_coef),
            coef_mode=self.coef_mode,
            reset_ratio=float(self.reset_ratio),
            reset_first_layer=self.reset_first_layer,
            threshold_reset_scale=float(self.threshold_init_scale),
            threshold_reset_bias=float(self.threshold_init_bias),
            reset_timesteps=self.reset_interval,
            owner=self.owner,
        )
        previous = getattr(module, REGULARIZER_ATTRIBUTE, None)
        if isinstance(previous, KaleidoscopeRegularizer):  # built again: one set of hooks only
            previous.remove_hooks()
        module.add_module(REGULARIZER_ATTRIBUTE, regularizer)

    def options(self) -> dict[str, Any]:
        """The method's options."""
        return {
            "clusters": self.clusters,
            "agent_id": self.agent_id,
            "mask_trunk": self.mask_trunk,
            "div_coef": self.div_coef,
            "coef_mode": self.coef_mode,
            "reset_interval": self.reset_interval,
            "reset_ratio": self.reset_ratio,
            "reset_first_layer": self.reset_first_layer,
            "threshold_init_scale": self.threshold_init_scale,
            "threshold_init_bias": self.threshold_init_bias,
        }
