"""``SharingRLModule``: any sharing method as an RLlib ``TorchRLModule`` (new API stack).

The module is the actor-critic of the SB3 PPO policy it names (:mod:`policies.ppo`): its trunk and
its ``pi`` and ``vf`` networks are built by the method object (``method.trunk(factory)``,
``method.head("pi" / "vf", ...)``; :mod:`policies.rllib.build`), so FuPS, FuPS+id, SePS, SNP-PS,
AdaPS, Kaleidoscope and the sparse-evolved variants are the same code on both backends. It reads the
observations of a :func:`ps_wrappers.rllib.to_rllib` env and its connectors::

    {"observations": float32[D] or image (C, H, W), "action_mask": float32[M], "agent_id": float32[N]}

* Invalid actions: logits masked with :func:`policies.mask_scores` (probability exactly 0).
* Box actions: SB3's state-independent Gaussian ``log_std``, one per cluster for SePS
  (:class:`policies.ClusterLogStd`). When agents' Box actions were padded, a row's padded
  dimensions get a fixed ``N(0, 1)``: no parameter reaches them, so they add nothing to PPO's ratio,
  KL or entropy gradient (the env drops them).
* Images: ``uint8`` images are scaled to ``[0, 1]`` as SB3 does, then the trunk (a CNN; default
  :class:`policies.GridCNN` below 36x36 pixels, SB3's ``NatureCNN`` above).
* Dead agents: RLlib's episodes simply stop, so there are no placeholder rows to handle.
* State: masks, cluster maps, sparse topologies and their schedule position are buffers, so RLlib's
  weight sync and checkpoints carry them. What needs the optimizer (RigL's drop/grow, Kaleidoscope's
  regulariser) is attached by the learner (:mod:`policies.rllib.learner`).
* APPO: target networks through RLlib's ``TargetNetworkAPI`` (copies of trunk, ``pi``, ``log_std``).

The class lives in an importable module, so checkpoints restore in any process that has
``ps-toolkit[rllib]`` installed.
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.utils import make_target_network
from ray.rllib.core.rl_module.apis import (
    TARGET_NETWORK_ACTION_DIST_INPUTS,
    InferenceOnlyAPI,
    TargetNetworkAPI,
    ValueFunctionAPI,
)
from ray.rllib.core.rl_module.torch import TorchRLModule
from torch import nn

from policies.core.action_masks import mask_scores
from policies.learned.regularizer import KaleidoscopeRegularizer
from policies.methods.learned import REGULARIZER_ATTRIBUTE
from policies.rllib.build import build_networks, ortho_init, read_model_config, seeded
from policies.sparse.topology import SparseTopology
from ps_wrappers.rllib.options import ID_KEY, MASK_KEY, OBS_KEY

__all__ = ["SharedMLPModule", "SharingRLModule"]

RIGL_END_FRACTION = 0.75
"""RigL freezes the topology after this fraction of training (as :func:`policies.set_evolution_horizon`)."""


class SharingRLModule(TorchRLModule, ValueFunctionAPI, TargetNetworkAPI, InferenceOnlyAPI):
    """A sharing method's actor-critic as an RLlib module: one network for every agent mapped to it.

    Build its spec with :func:`policies.rllib.sharing_module` (or the per-method helpers); its
    ``model_config`` is documented in :mod:`policies.rllib.build`.

    Attributes:
        method: The bound :class:`policies.SharingMethod`.
        layout: The slot layout read from the observation space.
        trunk, pi, vf: The method's trunk and heads (``vf_trunk`` too without a shared trunk).
        sparse_topology: The :class:`policies.SparseTopology` of the sparse variants.

    Raises:
        TypeError: if the observation space is not a ``to_rllib`` env's Dict, or the actions are
            not Discrete, MultiDiscrete or a flat Box.
        ValueError: for bad ``model_config`` values or method options.
    """

    def setup(self) -> None:
        """Build the networks from the spaces and ``model_config`` (seeded by ``init_seed``)."""
        name = type(self).__name__
        cfg = read_model_config(self.model_config, name)
        self._config = cfg
        if self.observation_space is None or self.action_space is None:
            raise ValueError(f"{name} needs its observation and action spaces (RLlib gives them from the env)")
        with seeded(cfg.init_seed):
            nets = build_networks(self.observation_space, self.action_space, cfg, name)
            self.method = nets.method
            self.layout = nets.layout
            self.trunk = nets.trunk
            self.vf_trunk = nets.vf_trunk
            self.pi = nets.pi
            self.vf = nets.vf
            self.log_std = nets.log_std
            self.real_actions = nets.real_actions
            self._dist = nets.dist_cls
            self._per_cluster_log_std = nets.log_std is not None and len(nets.log_std.cluster_of_agent) > 1
            self._scale_images = nets.layout.is_image and nets.layout.is_uint8  # type: ignore[union-attr]
            if nets.ortho_init:
                ortho_init(nets)
            self.sparse_topology: SparseTopology | None = None
            if nets.sparse_options is not None:
                options = dict(nets.sparse_options)
                exclude = tuple(options.pop("sparse_exclude"))
                # Masks now, on every process alike; the learner moves the step hook to its optimizer.
                self.sparse_topology = SparseTopology(
                    self, _placeholder_optimizer(self), exclude=exclude, owner=name, **options
                )
        self._user_t_end = nets.sparse_options is not None and nets.sparse_options.get("t_end") is not None

    # ------------------------------------------------------------------ forward

    def _inputs(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        obs = batch[Columns.OBS]
        features = obs[OBS_KEY]
        features = features.float() / 255.0 if self._scale_images else features.float()
        one_hot = obs.get(ID_KEY)
        if one_hot is None:
            one_hot = features.new_zeros((features.shape[0], 0))
        return features, one_hot.float()

    def _action_inputs(
        self, batch: dict[str, Any], trunk: nn.Module, pi: nn.Module, log_std: nn.Module | None
    ) -> torch.Tensor:
        features, one_hot = self._inputs(batch)
        out = pi(trunk(features, one_hot), one_hot)
        if log_std is None:
            mask = batch[Columns.OBS].get(MASK_KEY)
            return out if mask is None else mask_scores(out, mask)
        # One log_std for all rows (a one-cluster table read with a constant id), or one per cluster (SePS).
        rows = log_std(one_hot if self._per_cluster_log_std else one_hot.new_ones((one_hot.shape[0], 1)))
        if self.real_actions is not None:  # padded dimensions: N(0, 1), no parameter
            real = self.real_actions(one_hot) > 0.5
            out, rows = torch.where(real, out, 0.0), torch.where(real, rows, 0.0)
        return torch.cat([out, rows], dim=-1)

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Action-distribution inputs: masked logits, or ``[mean, log_std]`` for Box actions."""
        return {Columns.ACTION_DIST_INPUTS: self._action_inputs(batch, self.trunk, self.pi, self.log_std)}

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        """State values ``[B]`` from the critic (the ``vf`` head on the shared or its own trunk)."""
        features, one_hot = self._inputs(batch)
        trunk = self.trunk if self.vf_trunk is None else self.vf_trunk
        return self.vf(trunk(features, one_hot), one_hot).squeeze(-1)

    def get_inference_action_dist_cls(self) -> Any:
        """Categorical (Discrete), multi-categorical (MultiDiscrete) or diagonal Gaussian (Box)."""
        return self._dist

    def get_exploration_action_dist_cls(self) -> Any:
        """Same as :meth:`get_inference_action_dist_cls`."""
        return self._dist

    def get_train_action_dist_cls(self) -> Any:
        """Same as :meth:`get_inference_action_dist_cls`."""
        return self._dist

    # ------------------------------------------------------------------ RLlib APIs

    def get_non_inference_attributes(self) -> list[str]:
        """Critic, APPO target networks and Kaleidoscope's regulariser: not built on env runners."""
        return ["vf", "vf_trunk", "_old_trunk", "_old_pi", "_old_log_std", REGULARIZER_ATTRIBUTE]

    def make_target_networks(self) -> None:
        """APPO's old policy: copies of the trunk, ``pi`` and the Box ``log_std``."""
        self._old_trunk = make_target_network(self.trunk)
        self._old_pi = make_target_network(self.pi)
        self._old_log_std = None if self.log_std is None else make_target_network(self.log_std)

    def get_target_network_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        """``(online, target)`` pairs for RLlib's target update."""
        pairs = [(self.trunk, self._old_trunk), (self.pi, self._old_pi)]
        if self.log_std is not None:
            pairs.append((self.log_std, self._old_log_std))
        return pairs

    def forward_target(self, batch: dict[str, Any]) -> dict[str, Any]:
        """The old policy's action-distribution inputs (masked as the online ones)."""
        inputs = self._action_inputs(batch, self._old_trunk, self._old_pi, self._old_log_std)
        return {TARGET_NETWORK_ACTION_DIST_INPUTS: inputs}

    # ------------------------------------------------------------------ training hooks

    def attach_optimizer(self, optimizer: torch.optim.Optimizer, steps_per_timestep: float, num_learners: int) -> None:
        """Hook the method's training-time parts to the learner's ``optimizer`` (called by the learner).

        RigL's topology moves its step hook here; the method's ``after_build`` runs (Kaleidoscope
        attaches its regulariser as ``self.learned_masks``); their schedules are set from
        ``steps_per_timestep``, the learner's estimate of optimizer steps per SB3 timestep.

        Raises:
            ValueError: with several learners for a method whose optimizer hooks change the
                network (each learner would draw its own topology or reset).
        """
        self.method.after_build(self, optimizer)
        if num_learners > 1 and (self.sparse_topology is not None or self.regularizer is not None):
            raise ValueError(
                f"{type(self).__name__}: {self.method.name} with sparse evolution or learned masks changes the network "
                "in optimizer hooks that each learner would run on its own gradients (different topologies or resets); "
                "use config.learners(num_learners=0 or 1)"
            )
        if self.sparse_topology is not None:
            self.sparse_topology.rebind_optimizer(optimizer)
        self.update_schedule(steps_per_timestep)

    @property
    def regularizer(self) -> KaleidoscopeRegularizer | None:
        """Kaleidoscope's regulariser once the learner attached it (else ``None``)."""
        found = getattr(self, REGULARIZER_ATTRIBUTE, None)
        return found if isinstance(found, KaleidoscopeRegularizer) else None

    def update_schedule(self, steps_per_timestep: float) -> None:
        """Set Kaleidoscope's reset interval and horizon and RigL's ``T_end`` in optimizer steps.

        The papers give them in env timesteps (one per agent per env step, SB3's count); the
        learner measures how many optimizer steps a timestep makes and calls this after every
        update, as :func:`policies.set_mask_schedule` and :func:`policies.set_evolution_horizon`
        do once for SB3.
        """
        if steps_per_timestep <= 0:
            return
        total = self._config.total_timesteps
        regularizer = self.regularizer
        if regularizer is not None:
            interval = None
            if regularizer.reset_timesteps is not None:
                interval = max(1, round(regularizer.reset_timesteps * steps_per_timestep))
            horizon = None if total is None else max(1, round(total * steps_per_timestep))
            regularizer.set_schedule(reset_interval=interval, horizon=horizon)
        if self.sparse_topology is not None and total is not None and not self._user_t_end:
            self.sparse_topology.set_horizon(max(1, int(RIGL_END_FRACTION * total * steps_per_timestep)))

    def optimizer_steps(self) -> int:
        """Optimizer steps taken so far (from the topology's or regulariser's counter; 0 without)."""
        for counter in (self.sparse_topology, self.regularizer):
            if counter is not None:
                return int(counter.step)
        return 0


SharedMLPModule = SharingRLModule
"""Phase-1 name of the module (FuPS / FuPS+id); the same class."""


def _placeholder_optimizer(module: nn.Module) -> torch.optim.Optimizer:
    """An optimizer that never steps: it only lets the topology pick the trained layers before a learner exists."""
    return torch.optim.SGD(list(module.parameters()), lr=0.0)
