"""Method options as policy keyword arguments: the mixins that give SB3 policy classes a method.

Each mixin takes its method's options as keyword-only arguments (typed, all optional, with the
papers' defaults), builds the :class:`~policies.methods.base.SharingMethod` object into
``self.sharing`` and passes everything else on to the policy family's base class, which builds
its networks with ``self.sharing.trunk`` / ``self.sharing.head`` and saves
:meth:`MethodOptions._method_kwargs` with the model. A public policy class is then one line per
method and family, e.g. ``class PrunedMaskPolicy(PrunedMaskOptions, SharingActorCriticPolicy)``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from policies.clustering.clustering import ClusterSpec
from policies.methods.base import SharingMethod
from policies.methods.full import FullSharing
from policies.methods.learned import LearnedMask
from policies.methods.masks import ADAPS_THRESHOLD
from policies.methods.pruned import PrunedMask, Ratios
from policies.methods.selective import SelectiveSharing

__all__ = [
    "ActorCriticPruningOptions",
    "ValuePruningOptions",
    "FullSharingOptions",
    "LearnedMaskOptions",
    "MethodOptions",
    "PrunedMaskOptions",
    "SelectiveSharingOptions",
]


class MethodOptions:
    """Base of the option mixins: ``self.sharing`` is the policy's method object."""

    sharing: SharingMethod

    def _method_kwargs(self) -> dict[str, Any]:
        """The method options as this policy class's constructor keyword arguments (save / load)."""
        return self.sharing.options()


class FullSharingOptions(MethodOptions):
    """FuPS / FuPS+id options: ``agent_id`` and ``id_input`` (see :class:`~policies.methods.full.FullSharing`)."""

    def __init__(
        self, *args: Any, agent_id: bool = False, id_input: Literal["features", "planes"] = "features", **kwargs: Any
    ) -> None:
        self.sharing = FullSharing(agent_id=agent_id, id_input=id_input)
        super().__init__(*args, **kwargs)


class SelectiveSharingOptions(MethodOptions):
    """SePS options: ``clusters`` and ``share_trunk`` (see :class:`~policies.methods.selective.SelectiveSharing`)."""

    route_all_max_rows: ClassVar[int] = 0

    def __init__(self, *args: Any, clusters: ClusterSpec = "type", share_trunk: bool = False, **kwargs: Any) -> None:
        self.sharing = SelectiveSharing(clusters, share_trunk, self.route_all_max_rows)
        super().__init__(*args, **kwargs)

    @property
    def cluster_of_agent(self) -> tuple[int, ...]:
        """Cluster index ``mu(i)`` of every agent."""
        return tuple(self.sharing.cluster_of_agent)  # type: ignore[attr-defined]


class PrunedMaskOptions(MethodOptions):
    """SNP-PS / AdaPS options (see :class:`~policies.methods.pruned.PrunedMask`).

    A policy family names its pruning-ratio arguments in ``_ratio_arguments`` (role -> argument,
    e.g. ``{"pi": "actor_pruning", "vf": "critic_pruning"}``) and stores their values in
    ``self._ratios`` (role -> value) before calling ``super().__init__``.
    """

    _ratio_arguments: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        *args: Any,
        method: str = "snp-ps",
        clusters: ClusterSpec = None,
        threshold: float = ADAPS_THRESHOLD,
        agent_id: bool = False,
        mask_seed: int | None = None,
        mask_channels: bool = False,
        channel_pruning: Ratios = None,
        **kwargs: Any,
    ) -> None:
        ratios: dict[str, Any] = getattr(self, "_ratios", {})
        self.sharing = PrunedMask(
            method=method,
            pruning=ratios,
            argument_names=self._ratio_arguments,
            clusters=clusters,
            threshold=threshold,
            agent_id=agent_id,
            mask_seed=mask_seed,
            mask_channels=mask_channels,
            channel_pruning=channel_pruning,
        )
        super().__init__(*args, **kwargs)

    def _method_kwargs(self) -> dict[str, Any]:
        options = self.sharing.options()
        pruning = options.pop("pruning")
        return {**options, **{self._ratio_arguments[role]: value for role, value in pruning.items()}}


class ActorCriticPruningOptions(PrunedMaskOptions):
    """SNP-PS / AdaPS options of an actor-critic family: ``actor_pruning`` and ``critic_pruning``.

    ``actor_pruning`` sets the ratios of role ``"pi"``, ``critic_pruning`` those of the family's
    critic role (class attribute ``_critic_role``: ``"vf"`` for PPO / A2C / RecurrentPPO, ``"qf"``
    for the twin Q critics of SAC / TD3, every ``"qf<k>"`` alike).
    """

    _critic_role: ClassVar[str] = "vf"

    def __init__(
        self,
        *args: Any,
        actor_pruning: Ratios = None,
        critic_pruning: Ratios = None,
        **kwargs: Any,
    ) -> None:
        self._ratios = {"pi": actor_pruning, self._critic_role: critic_pruning}
        super().__init__(*args, **kwargs)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._ratio_arguments = {"pi": "actor_pruning", cls._critic_role: "critic_pruning"}


class ValuePruningOptions(PrunedMaskOptions):
    """SNP-PS / AdaPS options of a value-based family (DQN, QR-DQN): ``pruning`` (role ``"q"``)."""

    _ratio_arguments = {"q": "pruning"}

    def __init__(self, *args: Any, pruning: Ratios = None, **kwargs: Any) -> None:
        self._ratios = {"q": pruning}
        super().__init__(*args, **kwargs)


class LearnedMaskOptions(MethodOptions):
    """Kaleidoscope options, all optional with the released MPE defaults (see :class:`~policies.methods.learned.LearnedMask`)."""

    def __init__(
        self,
        *args: Any,
        clusters: ClusterSpec = "agent",
        agent_id: bool = True,
        mask_trunk: bool = False,
        div_coef: float = 0.5,
        coef_mode: Literal["grad", "fixed"] = "grad",
        reset_interval: int | None = 200_000,
        reset_ratio: float = 0.1,
        reset_first_layer: bool = False,
        threshold_init_scale: float = 5.0,
        threshold_init_bias: float = 5.0,
        **kwargs: Any,
    ) -> None:
        self.sharing = LearnedMask(
            clusters=clusters,
            agent_id=agent_id,
            mask_trunk=mask_trunk,
            div_coef=div_coef,
            coef_mode=coef_mode,
            reset_interval=reset_interval,
            reset_ratio=reset_ratio,
            reset_first_layer=reset_first_layer,
            threshold_init_scale=threshold_init_scale,
            threshold_init_bias=threshold_init_bias,
        )
        super().__init__(*args, **kwargs)
