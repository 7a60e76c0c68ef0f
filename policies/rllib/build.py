"""From an RLlib ``model_config`` to the networks of a sharing policy, built by the method objects.

The ``model_config`` of a :class:`~policies.rllib.module.SharingRLModule` names one of the PPO
policy classes of :mod:`policies.ppo` and its policy kwargs, exactly as SB3 takes them
(``PPO(PrunedMaskPolicy, venv, policy_kwargs=dict(actor_pruning=0.2))``). The method object is
made by that class's own option mixin (:mod:`policies.methods.options`, with
:class:`~policies.sparse.mixin.SparseEvolutionMixin` for the sparse classes), so defaults and
validation are those of the SB3 policy; the networks are the method's ``trunk`` and ``head``
builders on the :class:`ps_wrappers.SlotLayout` (or :class:`ps_wrappers.ImageSlotLayout`) read from
the RLlib observation space. Nothing here implements a method.

Everything in ``model_config`` is data (JSON): classes and cluster results are written with the
export codec (:mod:`policies.export_codec`), arrays inline.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from ray.rllib.core.distribution.torch.torch_distribution import (
    TorchCategorical,
    TorchDiagGaussian,
    TorchMultiCategorical,
)
from stable_baselines3.common.policies import BasePolicy
from torch import nn

from policies import ppo
from policies.core.continuous import RealActions
from policies.core.extractor import make_trunk_factory
from policies.core.heads import AgentConditionedMLP
from policies.core.sb3 import actor_output_dim, check_action_space
from policies.core.trunks import Trunk
from policies.export_codec import Decoder, Encoder, allowed_classes
from policies.methods.base import SharingMethod
from policies.methods.options import MethodOptions
from policies.methods.selective import SelectiveSharing
from policies.ppo import ClusterLogStd, SharingActorCriticPolicy
from policies.sparse.mixin import SparseEvolutionMixin
from ps_wrappers.layout import ImageSlotLayout, SlotBox, SlotDict, SlotLayout
from ps_wrappers.masks import action_nvec
from ps_wrappers.rllib.options import ID_KEY, MASK_KEY, OBS_KEY

__all__ = [
    "NETWORK_KWARGS",
    "ModuleConfig",
    "Networks",
    "build_networks",
    "decode_kwargs",
    "encode_kwargs",
    "policy_classes",
    "read_model_config",
    "seeded",
]

NETWORK_KWARGS: dict[str, Any] = {
    "net_arch": {"pi": [64, 64], "vf": [64, 64]},
    "activation_fn": nn.Tanh,
    "ortho_init": True,
    "log_std_init": 0.0,
    "features_extractor_class": None,
    "features_extractor_kwargs": None,
    "share_features_extractor": True,
}
"""The SB3 ``ActorCriticPolicy`` kwargs an RLlib sharing module takes besides the method's, with SB3's defaults."""


def policy_classes() -> dict[str, type]:
    """The PPO sharing policy classes of :mod:`policies.ppo` a module may name, by class name."""
    return {
        name: cls
        for name in ppo.__all__
        if isinstance(cls := getattr(ppo, name), type)
        and issubclass(cls, SharingActorCriticPolicy)
        and issubclass(cls, MethodOptions)
    }


def encode_kwargs(kwargs: Mapping[str, Any], owner: str) -> dict[str, Any]:
    """Policy kwargs as JSON data: ``{"kwargs": tree, "arrays": {key: {dtype, shape, data}}}``.

    Raises:
        TypeError: for a value that cannot be data (a function, a class outside the allow-list).
    """
    encoder = Encoder(allowed_classes(), owner)
    tree = {name: encoder(value, f"{name}=") for name, value in kwargs.items()}
    arrays = {
        key: {"dtype": str(a.dtype), "shape": list(a.shape), "data": a.reshape(-1).tolist()}
        for key, a in encoder.arrays.items()
    }
    return {"kwargs": tree, "arrays": arrays}


def decode_kwargs(data: Mapping[str, Any], owner: str) -> dict[str, Any]:
    """The policy kwargs written by :func:`encode_kwargs`.

    Raises:
        ValueError: for malformed data or a class outside the allow-list.
    """
    raw = data.get("arrays") or {}
    try:
        arrays = {k: np.asarray(v["data"], dtype=v["dtype"]).reshape(v["shape"]) for k, v in raw.items()}
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{owner}: model_config['policy_kwargs'] has malformed arrays ({error})") from None
    decoded = Decoder(arrays, allowed_classes(), "model_config['policy_kwargs']")(data.get("kwargs") or {})
    if not isinstance(decoded, dict):
        raise ValueError(f"{owner}: model_config['policy_kwargs'] must hold a dict of policy kwargs")
    return decoded


@dataclass(frozen=True)
class ModuleConfig:
    """The checked ``model_config`` of a sharing module."""

    policy: type
    """The PPO policy class whose method and networks the module has."""
    kwargs: dict[str, Any]
    """Its policy kwargs (decoded)."""
    agents: tuple[str, ...] | None
    """The env's ``possible_agents`` (one-hot order), written by the config helpers."""
    action_shapes: tuple[tuple[int, ...], ...]
    """Each agent's own Box action shape when Box actions are padded (the slot layout's)."""
    init_seed: int | None
    """Seed of the initial weights and of every random mask (the same module on every process)."""
    total_timesteps: int | None
    """Training length in SB3 timesteps (env steps x agents), for RigL's and Kaleidoscope's schedules."""


def _optional_int(cfg: Mapping[str, Any], key: str, owner: str, low: int) -> int | None:
    value = cfg.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
        raise ValueError(f"{owner}: model_config[{key!r}] must be an int >= {low} or None, got {value!r}")
    return value


def read_model_config(model_config: Any, owner: str) -> ModuleConfig:
    """Check and decode a ``model_config`` (RLlib may add keys of its own; they are ignored).

    The phase-1 form of :func:`policies.rllib.fups_module` (``agent_id``, ``hidden``,
    ``activation``, ``log_std_init``) is read as :class:`policies.ppo.FullSharingPolicy`.

    Raises:
        TypeError: if ``model_config`` is not a dict (e.g. RLlib's ``DefaultModelConfig``).
        ValueError: for an unknown policy class or a malformed entry.
    """
    if model_config is not None and not isinstance(model_config, Mapping):
        raise TypeError(
            f"{owner}: model_config must be a dict (build it with policies.rllib.sharing_module), "
            f"got {type(model_config).__name__}"
        )
    cfg = dict(model_config or {})
    if "policy" not in cfg:  # phase 1: FuPS / FuPS+id by flat keys
        hidden = list(cfg.get("hidden", (64, 64)))
        activation = {"tanh": nn.Tanh, "relu": nn.ReLU}.get(cfg.get("activation", "tanh"))
        if activation is None:
            raise ValueError(f"{owner}: model_config['activation'] must be 'tanh' or 'relu', got {cfg.get('activation')!r}")
        cfg["policy"] = "FullSharingPolicy"
        cfg["policy_kwargs"] = encode_kwargs(
            {"agent_id": bool(cfg.get("agent_id", False)), "net_arch": hidden, "activation_fn": activation,
             "log_std_init": float(cfg.get("log_std_init", 0.0)), "ortho_init": False},
            owner,
        )
    classes = policy_classes()
    if cfg["policy"] not in classes:
        raise ValueError(f"{owner}: model_config['policy'] must be one of {sorted(classes)}, got {cfg['policy']!r}")
    agents = cfg.get("agents")
    if agents is not None and (isinstance(agents, str) or not all(isinstance(a, str) for a in agents)):
        raise ValueError(f"{owner}: model_config['agents'] must be a list of agent names, got {agents!r}")
    shapes = tuple(tuple(int(d) for d in shape) for shape in cfg.get("action_shapes") or ())
    return ModuleConfig(
        policy=classes[cfg["policy"]],
        kwargs=decode_kwargs(cfg.get("policy_kwargs") or {}, owner),
        agents=None if agents is None else tuple(agents),
        action_shapes=shapes,
        init_seed=_optional_int(cfg, "init_seed", owner, 0),
        total_timesteps=_optional_int(cfg, "total_timesteps", owner, 1),
    )


@contextlib.contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Run the block on torch's RNG seeded with ``seed`` (restored after); ``None``: the global RNG."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class _Rest:
    """End of an option mixin's ``super().__init__`` chain: keeps the kwargs it did not take."""

    def __init__(self, **kwargs: Any) -> None:
        self.rest = kwargs


def method_of(policy: type, kwargs: Mapping[str, Any], owner: str) -> tuple[SharingMethod, dict | None, dict]:
    """The method object made by ``policy``'s own option mixins, its sparse options, and the other kwargs.

    Raises:
        TypeError: for kwargs neither the method nor :data:`NETWORK_KWARGS` take.
    """
    options = next(b for b in policy.__mro__ if issubclass(b, MethodOptions) and not issubclass(b, SharingActorCriticPolicy))
    sparse = issubclass(policy, SparseEvolutionMixin)
    holder_cls = type(f"{policy.__name__}Options", ((SparseEvolutionMixin,) if sparse else ()) + (options, _Rest), {})
    holder: Any = holder_cls(**kwargs)
    unknown = sorted(set(holder.rest) - set(NETWORK_KWARGS))
    if unknown:
        raise TypeError(
            f"{owner}: {policy.__name__} on RLlib takes no {unknown}; besides its method options it takes "
            f"{sorted(NETWORK_KWARGS)} (SB3's ActorCriticPolicy kwargs)"
        )
    rest = {**NETWORK_KWARGS, **holder.rest}
    _hidden(rest["net_arch"], owner)
    return holder.sharing, (dict(holder.sparse_options) if sparse else None), rest


def _hidden(net_arch: Any, owner: str) -> tuple[list[int], list[int]]:
    if isinstance(net_arch, Mapping):
        pi, vf = net_arch.get("pi", []), net_arch.get("vf", [])
    else:
        pi = vf = net_arch
    for widths in (pi, vf):
        if isinstance(widths, (str, bytes)) or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths):
            raise ValueError(f"{owner}: net_arch must be a list of hidden widths or dict(pi=[...], vf=[...]), got {net_arch!r}")
    return list(pi), list(vf)


def _layout(obs_space: spaces.Space, action_space: spaces.Space, cfg: ModuleConfig, owner: str) -> SlotLayout | ImageSlotLayout:
    if not isinstance(obs_space, spaces.Dict) or OBS_KEY not in obs_space.spaces:
        raise TypeError(
            f"{owner} needs the observation space of a ps_wrappers.rllib.to_rllib env (a Dict with "
            f"{OBS_KEY!r}, {MASK_KEY!r} and, for agent ids, {ID_KEY!r}), got {obs_space}"
        )
    features = obs_space[OBS_KEY]
    if not isinstance(features, spaces.Box):
        raise TypeError(f"{owner}: obs[{OBS_KEY!r}] must be a Box (a to_rllib env's features or image), got {features}")
    n_ids = int(np.prod(obs_space[ID_KEY].shape or ())) if ID_KEY in obs_space.spaces else 0
    agents = cfg.agents
    if agents is None:
        if not (issubclass(cfg.policy, ppo.FullSharingPolicy) and not issubclass(cfg.policy, SparseEvolutionMixin)):
            raise ValueError(
                f"{owner}: model_config has no 'agents' (the env's possible_agents), which {cfg.policy.__name__} needs "
                "to group agents; build the config with policies.rllib.shared_ppo_config, which adds them"
            )
        agents = tuple(f"agent_{i}" for i in range(n_ids))
    if n_ids and n_ids != len(agents):
        raise ValueError(f"{owner}: obs[{ID_KEY!r}] has {n_ids} entries but model_config['agents'] names {len(agents)} agents")
    nvec = action_nvec(action_space)
    n_mask = int(np.prod(obs_space[MASK_KEY].shape or ())) if MASK_KEY in obs_space.spaces else sum(nvec)
    if n_mask != sum(nvec):
        raise ValueError(
            f"{owner}: obs[{MASK_KEY!r}] has {n_mask} entries but the action space {action_space} has {sum(nvec)} "
            "actions; both must come from the same to_rllib env"
        )
    common = {"agents": agents, "n_actions": int(sum(nvec)), "action_nvec": nvec, "agent_ids": bool(n_ids),
              "action_shapes": cfg.action_shapes}
    shape = tuple(int(d) for d in features.shape or ())
    if len(shape) == 3:
        return ImageSlotLayout(image_shape=shape, image_dtype=str(np.dtype(features.dtype)), channels_last=False, **common)  # type: ignore[arg-type]
    if len(shape) != 1:
        raise TypeError(f"{owner}: obs[{OBS_KEY!r}] must be a flat vector or a channels-first image, got shape {shape}")
    return SlotLayout(feature_dim=shape[0], feature_shape=shape, **common)  # type: ignore[arg-type]


def _slot_space(obs_space: spaces.Dict, layout: SlotLayout | ImageSlotLayout) -> SlotBox | SlotDict:
    """The vec env's observation space for these slots (what the trunk factory builds on)."""
    features = obs_space[OBS_KEY]
    assert isinstance(features, spaces.Box)  # checked by _layout (internal invariant)
    if isinstance(layout, ImageSlotLayout):
        return SlotDict(features, layout)
    rest = layout.total_dim - layout.feature_dim
    low = np.concatenate([np.minimum(features.low, 0), np.zeros(rest, np.float32)]).astype(np.float32)
    high = np.concatenate([np.maximum(features.high, 0), np.ones(rest, np.float32)]).astype(np.float32)
    return SlotBox(low, high, layout)


def _distribution(action_space: spaces.Space, owner: str) -> Any:
    if isinstance(action_space, spaces.Discrete):
        return TorchCategorical
    if isinstance(action_space, spaces.MultiDiscrete) and action_space.nvec.ndim == 1:
        return TorchMultiCategorical.get_partial_dist_cls(input_lens=[int(n) for n in action_space.nvec])  # type: ignore[misc]
    if isinstance(action_space, spaces.Box) and len(action_space.shape) == 1:
        return TorchDiagGaussian
    raise TypeError(f"{owner} supports Discrete, MultiDiscrete and flat Box actions on RLlib, got {action_space}")


@dataclass
class Networks:
    """What :func:`build_networks` makes: the layout, the bound method and the networks."""

    layout: SlotLayout | ImageSlotLayout
    method: SharingMethod
    sparse_options: dict[str, Any] | None
    trunk: Trunk
    vf_trunk: Trunk | None
    pi: AgentConditionedMLP
    vf: AgentConditionedMLP
    log_std: ClusterLogStd | None
    real_actions: RealActions | None
    dist_cls: Any
    ortho_init: bool


def build_networks(obs_space: spaces.Space, action_space: spaces.Space, cfg: ModuleConfig, owner: str) -> Networks:
    """Bind the method to the layout and build trunk(s), heads and Box ``log_std`` as SB3's policy does.

    Raises:
        TypeError, ValueError: for spaces or options the method or this module cannot take.
    """
    dist_cls = _distribution(action_space, owner)
    layout = _layout(obs_space, action_space, cfg, owner)
    check_action_space(action_space, layout, owner)
    method, sparse, rest = method_of(cfg.policy, cfg.kwargs, owner)
    try:
        method.bind(layout, owner)
    except ValueError as error:
        if layout.agent_ids or "agent identity" not in str(error):
            raise
        raise ValueError(
            f"{error}. On RLlib the identity is obs[{ID_KEY!r}]: add ps_wrappers.rllib.AgentIdOneHot to the "
            "env-to-module connectors (policies.rllib.shared_ppo_config(agent_ids=True) does)"
        ) from None
    factory = make_trunk_factory(
        _slot_space(obs_space, layout), rest["features_extractor_class"], rest["features_extractor_kwargs"], owner  # type: ignore[arg-type]
    )
    trunk = method.trunk(factory)
    vf_trunk = None if rest["share_features_extractor"] else method.trunk(factory)
    pi_hidden, vf_hidden = _hidden(rest["net_arch"], owner)
    activation = rest["activation_fn"]
    n_out = actor_output_dim(action_space)
    width = trunk.features_dim
    pi = method.head("pi", width, pi_hidden, n_out, activation)
    vf = method.head("vf", width, vf_hidden, 1, activation)
    log_std = real = None
    if isinstance(action_space, spaces.Box):
        groups = method.cluster_of_agent if isinstance(method, SelectiveSharing) else (0,)
        log_std = ClusterLogStd(groups, n_out, float(rest["log_std_init"]))
        real = RealActions(layout, action_space, owner)
        real = real if real.padded else None
    return Networks(layout, method, sparse, trunk, vf_trunk, pi, vf, log_std, real, dist_cls, bool(rest["ortho_init"]))


def ortho_init(networks: Networks) -> None:
    """SB3's ``ortho_init``: orthogonal weights (gain sqrt 2), zero biases; output layers 0.01 (pi) and 1 (vf)."""
    init = BasePolicy.init_weights
    for module in (networks.trunk, networks.vf_trunk, networks.pi, networks.vf):
        if module is not None:
            module.apply(lambda m: init(m, gain=math.sqrt(2)))
    for head in networks.pi.head_layers():
        init(head, gain=0.01)
    for head in networks.vf.head_layers():
        init(head, gain=1.0)
