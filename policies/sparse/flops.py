"""FLOPs and model-size accounting for sparse networks (MAST appendix B.4).

Linear layers are counted as in the paper (activations, biases and the environment are left out,
appendix B.4.2), and convolutions (the CNN trunks of image policies) as the linear map they apply
at every output position, with ``I_l`` the fan-in ``C_in k_h k_w``:

* model size of a layer, Eq. (9): ``(1 - S_l) I_l O_l``;
* forward FLOPs of a layer, Eq. (11): ``(1 - S_l) (2 I_l - 1) O_l``, times the number of output
  positions ``P_l = H_out W_out`` for a convolution (measured with one forward pass);
* training FLOPs of one gradient step on a batch of ``B`` samples, Eqs. (14)-(17): the TD target
  forward pass, the loss forward pass and a backward pass counted as twice a forward pass. For a
  DQN that is ``B (h F_target + 3 F)``, where ``h`` is the number of target-network evaluations per
  sample (1 for the 1-step target, the mean window length for TD(lambda)); for PPO/A2C there is no
  target network: ``3 B F``. Topology evolution adds ``2 B F_dense / Delta_m`` per step on
  average (appendix B.4.2, the dense gradient every ``Delta_m`` steps).

Every figure is also computed for the same network with every layer dense, and reported relative
to it, which is how MAST's Table 1 normalises.

Example:
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    >>> forward_flops(net)  # (2 * 4 - 1) * 8 + (2 * 8 - 1) * 2
    86.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from stable_baselines3 import A2C
from stable_baselines3.common.preprocessing import preprocess_obs
from stable_baselines3.common.utils import obs_as_tensor
from torch import nn

from policies.core.extractor import SlotFeaturesExtractor
from policies.core.trunks import CONV_TYPES
from policies.sparse.topology import MASK_NAME
from ps_wrappers.testing.slots import sample_slot_observations

__all__ = [
    "FlopsReport",
    "LayerCost",
    "flops_report",
    "forward_flops",
    "layer_costs",
    "linear_forward_flops",
    "linear_model_size",
    "model_size",
    "output_positions",
]

_CRITIC_PARTS = ("value_net", "vf_features_extractor")


def linear_forward_flops(in_features: int, out_features: int, density: float = 1.0) -> float:
    """Forward FLOPs of one linear layer, MAST Eq. (11): ``density * (2 I - 1) * O``."""
    return density * (2 * in_features - 1) * out_features


def linear_model_size(in_features: int, out_features: int, density: float = 1.0) -> float:
    """Parameters of one linear layer, MAST Eq. (9): ``density * I * O``."""
    return density * in_features * out_features


@dataclass(frozen=True)
class LayerCost:
    """One linear (or convolution) layer as the FLOPs formulas see it.

    Attributes:
        name: Qualified module name.
        in_features: ``I_l`` (the fan-in ``C_in k_h k_w`` of a convolution).
        out_features: ``O_l`` (output channels of a convolution).
        density: ``1 - S_l``, the fraction of active weights (1 for a dense layer).
        positions: Output positions the layer is applied at (1 for a linear layer).
    """

    name: str
    in_features: int
    out_features: int
    density: float
    positions: int = 1

    @property
    def flops(self) -> float:
        """Forward FLOPs, Eq. (11), at every output position."""
        return self.positions * linear_forward_flops(self.in_features, self.out_features, self.density)

    @property
    def dense_flops(self) -> float:
        """Forward FLOPs of the dense layer."""
        return self.positions * linear_forward_flops(self.in_features, self.out_features)

    @property
    def size(self) -> float:
        """Model size, Eq. (9)."""
        return linear_model_size(self.in_features, self.out_features, self.density)

    @property
    def dense_size(self) -> float:
        """Model size of the dense layer."""
        return linear_model_size(self.in_features, self.out_features)


def layer_costs(
    module: nn.Module, skip: tuple[str, ...] = (), positions: dict[int, int] | None = None
) -> list[LayerCost]:
    """Every linear and convolution layer of ``module`` with its density (from its ``weight_mask``).

    Args:
        module: Any torch module.
        skip: Substrings of layer names to leave out.
        positions: ``id(conv) -> output positions`` (:func:`output_positions`); convolutions not
            in it are counted at one position.
    """
    costs = []
    for name, layer in module.named_modules():
        if not isinstance(layer, (nn.Linear, *CONV_TYPES)) or any(part in name for part in skip):
            continue
        mask = getattr(layer, MASK_NAME, None)
        density = 1.0 if mask is None else float(mask.float().mean())
        weight: torch.Tensor = layer.weight  # type: ignore[assignment]
        count = 1 if isinstance(layer, nn.Linear) else (positions or {}).get(id(layer), 1)
        costs.append(LayerCost(name, int(weight[0].numel()), int(weight.shape[0]), density, count))
    return costs


@torch.no_grad()
def output_positions(policy: nn.Module) -> dict[int, int]:
    """``id(conv) -> H_out * W_out`` of every convolution in the policy's slot features extractors.

    Measured by running each :class:`~policies.core.extractor.SlotFeaturesExtractor` of the policy
    once on a well-formed random slot observation; empty for policies without convolutions.
    """
    convs = [m for m in policy.modules() if isinstance(m, CONV_TYPES)]
    space = getattr(policy, "observation_space", None)
    if not convs or space is None:
        return {}
    counts: dict[int, int] = {}
    handles = [
        conv.register_forward_hook(lambda mod, args, out: counts.__setitem__(id(mod), int(out[0, 0].numel())))
        for conv in convs
    ]
    try:
        sample = sample_slot_observations(space, 1, np.random.default_rng(0))
        device = next(policy.parameters()).device
        obs = preprocess_obs(obs_as_tensor(sample, device), space, normalize_images=True)
        for extractor in policy.modules():
            if isinstance(extractor, SlotFeaturesExtractor):
                extractor(obs)
    finally:
        for handle in handles:
            handle.remove()
    return counts


def forward_flops(module: nn.Module, dense: bool = False, positions: dict[int, int] | None = None) -> float:
    """Forward FLOPs of ``module``'s linear and convolution layers, MAST Eq. (11) summed over layers."""
    return sum(c.dense_flops if dense else c.flops for c in layer_costs(module, positions=positions))


def model_size(module: nn.Module, dense: bool = False) -> float:
    """Weights of ``module``'s linear layers, MAST Eq. (9) summed over layers."""
    return sum(c.dense_size if dense else c.size for c in layer_costs(module))


@dataclass(frozen=True)
class FlopsReport:
    """Costs of a model and of its dense counterpart (MAST appendix B.4, Table 6).

    Attributes:
        inference_flops: FLOPs of one action choice for one agent.
        training_flops: FLOPs of one gradient step.
        model_size: Weights held during training (for DQN: online and target network).
        dense_inference_flops: ``inference_flops`` with every layer dense.
        dense_training_flops: ``training_flops`` with every layer dense (same algorithm).
        dense_model_size: ``model_size`` with every layer dense.
        sparsity: Fraction of zero weights over all linear layers counted.
    """

    inference_flops: float
    training_flops: float
    model_size: float
    dense_inference_flops: float
    dense_training_flops: float
    dense_model_size: float
    sparsity: float

    @property
    def inference_ratio(self) -> float:
        """Inference FLOPs relative to dense (Table 1, "FLOPs (Test)")."""
        return self.inference_flops / self.dense_inference_flops

    @property
    def training_ratio(self) -> float:
        """Training FLOPs relative to dense (Table 1, "FLOPs (Train)")."""
        return self.training_flops / self.dense_training_flops

    @property
    def size_ratio(self) -> float:
        """Model size relative to dense (Table 1, "Total Size")."""
        return self.model_size / self.dense_model_size

    def as_dict(self, prefix: str = "sparse/") -> dict[str, float]:
        """The ratios and the sparsity, keyed for ``logger.record``."""
        return {
            f"{prefix}sparsity": self.sparsity,
            f"{prefix}flops_train_ratio": self.training_ratio,
            f"{prefix}flops_infer_ratio": self.inference_ratio,
            f"{prefix}size_ratio": self.size_ratio,
        }


def _is_off_policy_actor_critic(policy: Any) -> bool:
    return isinstance(getattr(policy, "actor", None), nn.Module) and isinstance(getattr(policy, "critic", None), nn.Module)


def _off_policy_costs(
    policy: Any, batch_size: int, where: dict[int, int]
) -> tuple[float, float, float, float, float, list[LayerCost]]:
    """SAC / TD3 / DDPG: ``(infer, infer_dense, train, train_dense, dense forward, layer costs)``.

    Acting is one actor forward. A gradient step is the critic update (forward and backward,
    ``3 F_c``), the target (next actions ``F_a`` and target critics ``F_c'``) and the actor update
    through the critics (``3 (F_a + F_c)``).
    """
    actor, critic = policy.actor, policy.critic
    target = getattr(policy, "critic_target", None) or critic
    nets = [m for m in (actor, critic, getattr(policy, "critic_target", None), getattr(policy, "actor_target", None)) if m is not None]

    def step(dense: bool) -> float:
        f_a, f_c, f_t = (forward_flops(m, dense, where) for m in (actor, critic, target))
        return batch_size * (3 * f_c + f_a + f_t + 3 * (f_a + f_c))

    dense_forward = forward_flops(actor, True, where) + forward_flops(critic, True, where)
    costs = [c for m in nets for c in layer_costs(m, positions=where)]
    infer, infer_dense = forward_flops(actor, False, where), forward_flops(actor, True, where)
    return infer, infer_dense, step(False), step(True), dense_forward, costs


def flops_report(
    model: Any,
    batch_size: int | None = None,
    target_evaluations: float = 1.0,
) -> FlopsReport:
    """FLOPs and model size of an SB3 model or policy, relative to its dense counterpart.

    Off-policy actor-critics (SAC, TD3, DDPG: ``actor`` and ``critic``): inference is one actor
    forward; a gradient step is ``B (3 F_c + F_a + F_c' + 3 (F_a + F_c))`` (critic update, target,
    actor update through the critics); model size counts actor, critics and targets.
    DQN-like policies (with ``q_net`` and ``q_net_target``): inference is one ``q_net`` forward;
    training per gradient step is ``B (h F_target + 3 F)`` (Eqs. 14-17, ``h`` =
    ``target_evaluations``); model size counts both networks (Table 6, ``2 M``). Actor-critic
    policies: inference is the actor path (layers named ``value_net`` left out); training is
    ``3 B F`` over the whole network; model size counts the whole network. When the policy evolves
    its topology (a :class:`~policies.sparse.SparseTopology` named ``sparse_topology``), training
    adds RigL's dense gradient, ``2 B F_dense / Delta_m`` per step (appendix B.4.2).

    Args:
        model: An SB3 algorithm (``.policy`` and ``.batch_size`` are read) or a policy.
        batch_size: ``B``; defaults to the algorithm's ``batch_size`` (1 for a bare policy).
        target_evaluations: Target-network evaluations per sample ``h`` (DQN only).

    Raises:
        TypeError: if ``model`` has no linear layer to count.
    """
    policy = getattr(model, "policy", model)
    if batch_size is None:
        batch_size = int(getattr(model, "batch_size", 1) or 1)
    if isinstance(model, A2C):
        # A2C: one gradient step on the whole rollout.
        batch_size = int(model.n_steps * model.n_envs)
    if not isinstance(policy, nn.Module) or not layer_costs(policy):
        raise TypeError(
            f"flops_report: expected an SB3 model or policy with linear layers, got "
            f"{type(model).__name__}."
        )
    where = output_positions(policy)
    topology = getattr(policy, "sparse_topology", None)
    interval = (
        getattr(topology, "update_interval", None) if getattr(topology, "evolve", False) else None
    )
    # DQN's Q-network or QR-DQN's quantile network, and its target.
    q_net = getattr(policy, "q_net", None) or getattr(policy, "quantile_net", None)
    q_target = getattr(policy, "q_net_target", None) or getattr(policy, "quantile_net_target", None)
    if _is_off_policy_actor_critic(policy):
        infer, infer_dense, train, train_dense, dense, costs = _off_policy_costs(policy, batch_size, where)
    elif isinstance(q_net, nn.Module) and isinstance(q_target, nn.Module):
        flops, dense = forward_flops(q_net, positions=where), forward_flops(q_net, True, where)
        t_flops, t_dense = forward_flops(q_target, positions=where), forward_flops(q_target, True, where)
        infer, infer_dense = flops, dense
        train = batch_size * (target_evaluations * t_flops + 3 * flops)
        train_dense = batch_size * (target_evaluations * t_dense + 3 * dense)
        costs = layer_costs(q_net, positions=where) + layer_costs(q_target, positions=where)
    else:
        costs = layer_costs(policy, positions=where)
        acting = layer_costs(policy, skip=_CRITIC_PARTS, positions=where) or costs
        flops = sum(c.flops for c in costs)
        dense = sum(c.dense_flops for c in costs)
        infer = sum(c.flops for c in acting)
        infer_dense = sum(c.dense_flops for c in acting)
        train, train_dense = 3 * batch_size * flops, 3 * batch_size * dense
    if interval:
        train += 2 * batch_size * dense / interval
    size = sum(c.size for c in costs)
    size_dense = sum(c.dense_size for c in costs)
    return FlopsReport(
        inference_flops=infer,
        training_flops=train,
        model_size=size,
        dense_inference_flops=infer_dense,
        dense_training_flops=train_dense,
        dense_model_size=size_dense,
        sparsity=1.0 - size / size_dense,
    )
