"""RLlib RLModules whose actor and critic are our agent-conditioned networks.

:class:`SharedMLPModule` is FuPS (``agent_id=False``) and FuPS+id (``agent_id=True``) for RLlib's
PPO (and any algorithm that needs :class:`ValueFunctionAPI`): pi and vf are
:class:`policies.SharedMLP` networks, the logits of invalid actions are masked with
:func:`policies.mask_scores` from ``obs["action_mask"]``, Box actions get SB3's
state-independent ``log_std``. It reads everything from the observation space that a
:func:`ps_wrappers.rllib.to_rllib` env and its connectors produce::

    {"observations": float32[D], "action_mask": float32[M] (discrete actions), "agent_id": float32[N]}

The class lives in an importable module, so checkpoints restore in any process that has
``ps-toolkit[rllib]`` installed.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.distribution.torch.torch_distribution import (
    TorchCategorical,
    TorchDiagGaussian,
    TorchMultiCategorical,
)
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.core.rl_module.torch import TorchRLModule
from torch import nn

from policies.action_masks import mask_scores
from policies.networks import SharedMLP
from ps_wrappers.rllib.options import ID_KEY, MASK_KEY, OBS_KEY

__all__ = ["ACTIVATIONS", "SharedMLPModule", "fups_module"]

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU}
"""Names accepted by ``model_config["activation"]``."""

_DEFAULTS: dict[str, Any] = {"hidden": (64, 64), "activation": "tanh", "agent_id": False, "log_std_init": 0.0}


def _model_config(module: str, config: Any) -> dict[str, Any]:
    """Our keys of an RLlib ``model_config`` (RLlib adds its own, e.g. ``vf_share_layers``), checked."""
    cfg = dict(config or {})
    out = {key: cfg.get(key, default) for key, default in _DEFAULTS.items()}
    hidden = out["hidden"]
    if isinstance(hidden, (str, bytes)) or not all(isinstance(w, int) and w > 0 for w in hidden):
        raise ValueError(f"{module}: model_config['hidden'] must be a sequence of positive ints, got {hidden!r}")
    out["hidden"] = tuple(int(w) for w in hidden)
    if out["activation"] not in ACTIVATIONS:
        raise ValueError(
            f"{module}: model_config['activation'] must be one of {sorted(ACTIVATIONS)}, got {out['activation']!r}"
        )
    if not isinstance(out["agent_id"], bool):
        raise TypeError(f"{module}: model_config['agent_id'] must be a bool, got {out['agent_id']!r}")
    return out


def _width(space: gym.spaces.Dict, key: str) -> int:
    """Length of the flat entry ``key`` of a Dict observation space (0 when absent)."""
    return int(np.prod(space[key].shape or (0,))) if key in space.spaces else 0


class SharedMLPModule(TorchRLModule, ValueFunctionAPI):
    """FuPS / FuPS+id as an RLlib ``TorchRLModule``: one network for every agent mapped to it.

    ``model_config`` keys (all optional): ``hidden`` (widths, default ``(64, 64)``),
    ``activation`` (``"tanh"`` or ``"relu"``), ``agent_id`` (concatenate ``obs["agent_id"]`` to the
    input: FuPS+id), ``log_std_init`` (Box actions). Build its spec with :func:`fups_module`.

    Raises:
        TypeError: if the observation space is not the Dict of a ``to_rllib`` env, or the action
            space is not Discrete, MultiDiscrete or Box.
        ValueError: for bad ``model_config`` values, ``agent_id=True`` without an ``agent_id``
            entry (add :class:`ps_wrappers.rllib.AgentIdOneHot`), or a mask that does not fit the
            action space.
    """

    def setup(self) -> None:
        """Build pi and vf from the spaces and ``model_config``."""
        name = type(self).__name__
        cfg = _model_config(name, self.model_config)
        obs_space = self.observation_space
        if not isinstance(obs_space, gym.spaces.Dict) or OBS_KEY not in obs_space.spaces:
            raise TypeError(
                f"{name} needs the observation space of a ps_wrappers.rllib.to_rllib env (a Dict with "
                f"{OBS_KEY!r}, {MASK_KEY!r} and, for agent ids, {ID_KEY!r}), got {obs_space}"
            )
        shape = tuple(obs_space[OBS_KEY].shape or ())
        if len(shape) != 1:
            raise TypeError(f"{name}: obs[{OBS_KEY!r}] must be a flat vector, got shape {shape}")
        self._n_agents = int(_width(obs_space, ID_KEY))
        if cfg["agent_id"] and not self._n_agents:
            raise ValueError(
                f"{name}: model_config['agent_id']=True (FuPS+id) needs obs[{ID_KEY!r}], the agent "
                "one-hot; add ps_wrappers.rllib.AgentIdOneHot(agents=...) to the env-to-module "
                "connectors (policies.rllib.shared_ppo_config does with agent_ids=True)"
            )
        out_dim, self._dist = self._action_head()
        n_mask = _width(obs_space, MASK_KEY)
        if n_mask and n_mask != out_dim:
            raise ValueError(
                f"{name}: obs[{MASK_KEY!r}] has {n_mask} entries but the action space "
                f"{self.action_space} has {out_dim} logits; both must come from the same to_rllib env"
            )
        act = ACTIVATIONS[cfg["activation"]]
        in_dim = int(shape[0])
        self.pi = SharedMLP(in_dim, cfg["hidden"], out_dim, self._n_agents, act, cfg["agent_id"])
        self.vf = SharedMLP(in_dim, cfg["hidden"], 1, self._n_agents, act, cfg["agent_id"])
        self.log_std: nn.Parameter | None = None
        if isinstance(self.action_space, gym.spaces.Box):
            self.log_std = nn.Parameter(torch.full((out_dim,), float(cfg["log_std_init"])))

    def _action_head(self) -> tuple[int, Any]:
        space = self.action_space
        if isinstance(space, gym.spaces.Discrete):
            return int(space.n), TorchCategorical
        if isinstance(space, gym.spaces.MultiDiscrete) and space.nvec.ndim == 1:
            lens = [int(n) for n in space.nvec]
            return sum(lens), TorchMultiCategorical.get_partial_dist_cls(input_lens=lens)  # type: ignore[misc]
        if isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
            return int(np.prod(space.shape)), TorchDiagGaussian
        raise TypeError(
            f"{type(self).__name__} supports Discrete, MultiDiscrete and flat Box actions, got {space}"
        )

    def _inputs(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        obs = batch[Columns.OBS]
        features = obs[OBS_KEY]
        one_hot = obs[ID_KEY] if ID_KEY in obs else features.new_zeros((*features.shape[:-1], 0))
        return features, one_hot

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Action-distribution inputs: masked logits, or ``[mean, log_std]`` for Box actions."""
        features, one_hot = self._inputs(batch)
        out = self.pi(features, one_hot)
        if self.log_std is not None:
            out = torch.cat([out, self.log_std.expand_as(out)], dim=-1)
        else:
            mask = batch[Columns.OBS].get(MASK_KEY)
            if mask is not None:
                out = mask_scores(out, mask)
        return {Columns.ACTION_DIST_INPUTS: out}

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        """State values ``[B]`` (or ``[B, T]``) from the critic."""
        features, one_hot = self._inputs(batch)
        return self.vf(features, one_hot).squeeze(-1)

    def get_inference_action_dist_cls(self) -> Any:
        """Categorical (Discrete), multi-categorical (MultiDiscrete) or diagonal Gaussian (Box)."""
        return self._dist

    def get_exploration_action_dist_cls(self) -> Any:
        """Same as :meth:`get_inference_action_dist_cls`."""
        return self._dist

    def get_train_action_dist_cls(self) -> Any:
        """Same as :meth:`get_inference_action_dist_cls`."""
        return self._dist


def fups_module(
    *,
    agent_id: bool = False,
    hidden: tuple[int, ...] = (64, 64),
    activation: str = "tanh",
    log_std_init: float = 0.0,
) -> RLModuleSpec:
    """The ``RLModuleSpec`` of a FuPS (``agent_id=False``) or FuPS+id (``agent_id=True``) module.

    Example:
        >>> spec = fups_module(agent_id=True, hidden=(128, 128))
        >>> spec.module_class.__name__, spec.model_config["agent_id"]
        ('SharedMLPModule', True)
    """
    config = _model_config(
        "fups_module", {"agent_id": agent_id, "hidden": hidden, "activation": activation, "log_std_init": log_std_init}
    )
    config["hidden"] = list(config["hidden"])
    return RLModuleSpec(module_class=SharedMLPModule, model_config=config)
