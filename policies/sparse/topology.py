"""Unstructured sparse weights for the linear and convolution layers of any module, evolved by RigL.

This is the topology half of MAST (Hu et al., 2024, section 4.1 and Algorithm 1), written once for
any ``torch.nn.Module`` so that every sharing policy can be made sparse:

* every selected ``nn.Linear`` and ``nn.Conv{1,2,3}d`` carries a binary ``weight_mask`` buffer
  (saved with the module's ``state_dict``, unlike ``torch.nn.utils.prune`` which renames the
  weight and breaks SB3's load);
* layer densities follow the Erdos-Renyi rule (Mocanu et al., 2018) used by MAST and RigL, and its
  kernel extension for convolutions, Erdos-Renyi-Kernel (ERK; Evci et al., 2020, section 3):
  a layer's density is proportional to ``sum(shape) / prod(shape)`` of its weight, i.e.
  ``(I + O) / (I O)`` for a linear layer and ``(I + O + k_h + k_w) / (I O k_h k_w)`` for a
  convolution (the CNN trunks of image policies);
* pruned weights are exactly zero at all times: gradients of pruned weights are masked as soon as
  they are computed (so gradient clipping and the optimizer only see the sparse gradient), the
  weights are re-masked after every optimizer step, and the optimizer state (Adam's ``exp_avg`` /
  ``exp_avg_sq``, RMSprop's ``square_avg``, momentum, ...) of pruned weights is kept at zero;
* topology evolution follows RigL (Evci et al., 2020): every ``update_interval`` optimizer steps
  each layer drops the ``k = zeta_t (1 - s_l) N_l`` active weights of smallest magnitude and grows
  the ``k`` inactive ones with the largest dense gradient (Algorithm 1, lines 3-6). Grown weights
  start at zero. The update fraction decays as ``zeta_t = zeta / 2 (1 + cos(pi t / T_end))``
  (section 4.1) and the topology is frozen from ``T_end`` on.

The forward pass is untouched (the layers stay plain ``nn.Linear`` / ``nn.Conv2d``): the gradient autograd
computes for a weight is already the dense gradient ``dL/dW`` that RigL's grow criterion needs.
It is captured only on the optimizer step that precedes a topology update.

Example:
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(8, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2))
    >>> opt = torch.optim.Adam(net.parameters())
    >>> topo = SparseTopology(net, opt, sparsity=0.9, update_interval=100, t_end=1000)
    >>> round(topo.sparsity(), 2)
    0.9
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

__all__ = [
    "MASK_NAME",
    "DENSITY_METHODS",
    "SPARSE_INITS",
    "SparseTopology",
    "cosine_update_fraction",
    "erdos_renyi_densities",
    "layer_densities",
    "select_sparse_layers",
]

MASK_NAME = "weight_mask"
"""Name of the boolean buffer that every sparse layer carries next to its ``weight``."""

SPARSE_LAYER_TYPES: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
"""Layer types whose weights can be sparse."""

DENSITY_METHODS = ("erdos_renyi", "uniform")
SPARSE_INITS = ("dense", "fan_in")


def erdos_renyi_densities(shapes: Sequence[Sequence[int]], sparsity: float) -> list[float]:
    """Per-layer densities by the Erdos-Renyi(-Kernel) rule for a global sparsity.

    The density of a layer is ``eps * sum(shape) / prod(shape)`` of its weight shape:
    ``eps * (I + O) / (I * O)`` for an ``O x I`` linear layer (Erdos-Renyi, MAST section 4.1) and
    ``eps * (I + O + k_h + k_w) / (I * O * k_h * k_w)`` for a convolution (ERK, RigL section 3),
    with ``eps`` chosen so that the layers together keep ``(1 - sparsity)`` of their weights.
    Layers whose density would exceed 1 are made dense and ``eps`` is solved again over the others
    (the procedure of RigL's reference implementation).

    Args:
        shapes: Weight shape of each layer: ``(out_features, in_features)`` or
            ``(out_channels, in_channels, *kernel)``.
        sparsity: Global fraction of zero weights, in ``[0, 1)``.

    Returns:
        One density in ``(0, 1]`` per layer, in the order of ``shapes``.
    """
    _check_sparsity(sparsity, "erdos_renyi_densities")
    sizes = [math.prod(int(d) for d in shape) for shape in shapes]
    raw = [sum(int(d) for d in shape) / n for shape, n in zip(shapes, sizes)]
    dense: set[int] = set()
    while True:
        rhs = 0.0
        divisor = 0.0
        for j, n in enumerate(sizes):
            if j in dense:
                rhs -= n * sparsity
            else:
                rhs += n * (1.0 - sparsity)
                divisor += raw[j] * n
        if divisor == 0.0:  # every layer is dense
            return [1.0] * len(shapes)
        eps = rhs / divisor
        free = [j for j in range(len(shapes)) if j not in dense]
        max_raw = max(raw[j] for j in free)
        if max_raw * eps <= 1.0:
            return [1.0 if j in dense else eps * raw[j] for j in range(len(shapes))]
        dense.update(j for j in free if raw[j] == max_raw)


def layer_densities(
    shapes: Sequence[Sequence[int]], sparsity: float, method: str = "erdos_renyi"
) -> list[float]:
    """Per-layer densities for a global ``sparsity`` (``"erdos_renyi"`` or ``"uniform"``)."""
    if method == "erdos_renyi":
        return erdos_renyi_densities(shapes, sparsity)
    if method == "uniform":
        _check_sparsity(sparsity, "layer_densities")
        return [1.0 - sparsity] * len(shapes)
    raise ValueError(
        f"layer_densities: density method {method!r} is unknown; use one of {DENSITY_METHODS}."
    )


def cosine_update_fraction(step: int, zeta: float, t_end: int) -> float:
    """RigL's decaying update fraction ``zeta_t = zeta / 2 (1 + cos(pi t / T_end))`` (section 4.1).

    Returns 0 from ``t_end`` on: the topology is frozen for the rest of training.
    """
    if step >= t_end:
        return 0.0
    return 0.5 * zeta * (1.0 + math.cos(math.pi * step / t_end))


def select_sparse_layers(
    root: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    exclude: Iterable[str] = (),
) -> list[tuple[str, nn.Module]]:
    """The linear and convolution layers of ``root`` that are trained and may be sparsified.

    A layer is selected when it is one of :data:`SPARSE_LAYER_TYPES`, its weight requires a
    gradient, is optimised by ``optimizer`` (when given; this leaves out frozen helpers such as a
    fixed random mapping network or a DQN target network) and its qualified name contains none of
    the ``exclude`` substrings.
    """
    exclude = tuple(exclude)
    trained: set[int] | None = None
    if optimizer is not None:
        trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
    layers = []
    for name, module in root.named_modules():
        if not isinstance(module, SPARSE_LAYER_TYPES) or not _weight(module).requires_grad:
            continue
        if trained is not None and id(_weight(module)) not in trained:
            continue
        if any(part in name for part in exclude):
            continue
        layers.append((name, module))
    return layers


def _weight(layer: nn.Module) -> torch.Tensor:
    return layer.weight  # type: ignore[return-value]


class SparseTopology(nn.Module):
    """Binary weight masks on the linear layers of a module, kept exact and evolved by RigL.

    Masks live on the layers (``layer.weight_mask``); the schedule position (``step``) and the
    evolution horizon (``t_end``) are buffers of this module. Attach it as a submodule of the model
    (e.g. a policy) so that ``state_dict`` / SB3's ``save``/``load`` restore the whole state; the
    constructor registers the gradient hooks and the optimizer step hook, so building the model
    again (as ``load`` does) rebuilds them.

    Args:
        root: Module whose linear and convolution layers become sparse. It is not registered as
            a submodule.
        optimizer: Optimizer of ``root``'s weights; its step post-hook drives masking and evolution.
        sparsity: Global fraction of zero weights over the selected layers, in ``[0, 1)``.
        density_method: ``"erdos_renyi"`` (MAST, default) or ``"uniform"``.
        evolve: ``True`` for RigL topology evolution, ``False`` for a static random sparse network.
        update_interval: Optimizer steps between topology updates (MAST Table 4: 200).
        zeta: Initial update fraction ``zeta`` (MAST Table 4: 0.5).
        t_end: Optimizer step at which evolution stops (RigL uses 75% of training). ``None``:
            ``100 * update_interval`` until :meth:`set_horizon` is called.
        sparse_init: ``"dense"`` keeps each layer's own initialisation, masked (RigL, MAST);
            ``"fan_in"`` rescales every unit's (output channel's) initial incoming weights by
            ``sqrt(fan_in / active_fan_in)``, so that a unit with few active inputs starts
            with the variance the dense initialisation gives a full unit (the sparse-aware
            initialisation of Evci et al., 2022, "Gradient Flow in Sparse Neural Networks").
        exclude: Substrings of layer names that stay dense.
        mirrors: Modules with the same layer names as ``root`` (e.g. a DQN target network) whose
            layers get a copy of every mask and are multiplied by it before each forward pass
            (``theta_target <- theta_target * M``, MAST Algorithm 2, line 36).
        owner: Class name used in error messages.

    Raises:
        ValueError: for a sparsity outside ``[0, 1)``, a non-positive interval or horizon, a
            ``zeta`` outside ``(0, 1]``, an unknown density method or initialisation, or no
            layer to sparsify.
    """

    step: torch.Tensor
    horizon: torch.Tensor

    def __init__(
        self,
        root: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        sparsity: float = 0.9,
        density_method: str = "erdos_renyi",
        evolve: bool = True,
        update_interval: int = 200,
        zeta: float = 0.5,
        t_end: int | None = None,
        sparse_init: str = "dense",
        exclude: Iterable[str] = (),
        mirrors: Sequence[nn.Module] = (),
        owner: str = "SparseTopology",
    ) -> None:
        super().__init__()
        _check_sparsity(sparsity, owner)
        if density_method not in DENSITY_METHODS:
            raise ValueError(
                f"{owner}: density_method={density_method!r} is unknown; use one of "
                f"{DENSITY_METHODS}."
            )
        if sparse_init not in SPARSE_INITS:
            raise ValueError(
                f"{owner}: sparse_init={sparse_init!r} is unknown; use one of {SPARSE_INITS}."
            )
        if (
            isinstance(update_interval, bool)
            or not isinstance(update_interval, int)
            or update_interval < 1
        ):
            raise ValueError(
                f"{owner}: update_interval must be a positive number of optimizer steps, got "
                f"{update_interval!r}; MAST uses 200."
            )
        if not 0.0 < zeta <= 1.0:
            raise ValueError(f"{owner}: zeta must be in (0, 1], got {zeta!r}; MAST uses 0.5.")
        if t_end is not None and (
            isinstance(t_end, bool) or not isinstance(t_end, int) or t_end < 1
        ):
            raise ValueError(
                f"{owner}: t_end must be a positive number of optimizer steps or None, got "
                f"{t_end!r}."
            )
        self.owner = owner
        self.target_sparsity = float(sparsity)
        self.density_method = density_method
        self.sparse_init = sparse_init
        self.evolve = bool(evolve)
        self.update_interval = update_interval
        self.zeta = float(zeta)
        self.default_t_end = 100 * update_interval
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.register_buffer(
            "horizon", torch.tensor(-1 if t_end is None else t_end, dtype=torch.long)
        )
        # Plain lists: the layers belong to `root`, not to this module.
        self._layers = select_sparse_layers(root, optimizer, exclude)
        if not self._layers:
            raise ValueError(
                f"{owner}: found no trainable nn.Linear or convolution layer to sparsify in {type(root).__name__}; "
                "check `exclude` and that the optimizer covers the network."
            )
        self._mirror_layers: list[list[nn.Module]] = [
            self._matching_layers(mirror) for mirror in mirrors
        ]
        self._optimizer = optimizer
        self._capture = False
        self._dense_grads: dict[int, torch.Tensor] = {}
        self._handles: list[Any] = []
        self.last_update: dict[str, float] = {}
        self._init_masks()
        self._register_hooks()

    # ------------------------------------------------------------------ set-up

    def _matching_layers(self, mirror: nn.Module) -> list[nn.Module]:
        modules = dict(mirror.named_modules())
        layers = []
        for name, layer in self._layers:
            twin = modules.get(name)
            if type(twin) is not type(layer) or _weight(twin).shape != _weight(layer).shape:  # type: ignore[arg-type]
                raise ValueError(
                    f"{self.owner}: mirror {type(mirror).__name__} has no {type(layer).__name__} {name!r} of "
                    f"shape {tuple(_weight(layer).shape)}; a mirror must have the same layers."
                )
            layers.append(twin)
        return layers

    def _init_masks(self) -> None:
        shapes = [tuple(_weight(layer).shape) for _, layer in self._layers]
        densities = layer_densities(shapes, self.target_sparsity, self.density_method)
        with torch.no_grad():
            for j, ((_, layer), density) in enumerate(zip(self._layers, densities)):
                weight = _weight(layer)
                n = weight.numel()
                n_active = min(n, max(1, round(density * n)))
                flat = torch.zeros(n, dtype=torch.bool, device=weight.device)
                flat[torch.randperm(n, device=weight.device)[:n_active]] = True
                mask = flat.view_as(weight)
                layer.register_buffer(MASK_NAME, mask)
                scale = mask.to(weight.dtype)
                if self.sparse_init == "fan_in":
                    unit = (-1,) + (1,) * (weight.dim() - 1)
                    fan_in = mask.flatten(1).sum(dim=1).clamp(min=1).to(weight.dtype).view(unit)
                    scale = scale * torch.sqrt(weight[0].numel() / fan_in)
                weight.mul_(scale)
                for mirror in self._mirror_layers:
                    mirror[j].register_buffer(MASK_NAME, mask.clone())
                    _weight(mirror[j]).mul_(scale)

    def _register_hooks(self) -> None:
        for j, (_, layer) in enumerate(self._layers):
            self._handles.append(_weight(layer).register_hook(self._grad_hook(j)))
        for mirror in self._mirror_layers:
            for twin in mirror:
                self._handles.append(twin.register_forward_pre_hook(_apply_mask_pre_hook))
        self._handles.append(self._optimizer.register_step_post_hook(self._after_step))

    def rebind_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """Move the step hook to a new optimizer (call it if the model's optimizer is replaced)."""
        self._handles[-1].remove()
        self._optimizer = optimizer
        self._handles[-1] = optimizer.register_step_post_hook(self._after_step)
        self.mask_optimizer_state()

    def set_horizon(self, t_end: int) -> None:
        """Set ``T_end``, the optimizer step at which the update fraction reaches 0 (Sec. 4.1)."""
        if isinstance(t_end, bool) or not isinstance(t_end, int) or t_end < 1:
            raise ValueError(
                f"{self.owner}.set_horizon: t_end must be a positive number of optimizer steps, "
                f"got {t_end!r}."
            )
        self.horizon.fill_(t_end)

    # ------------------------------------------------------------------ state

    @property
    def layers(self) -> list[tuple[str, nn.Module]]:
        """``(qualified name, layer)`` of every sparse layer."""
        return list(self._layers)

    @property
    def t_end(self) -> int:
        """The evolution horizon ``T_end`` in optimizer steps (the default until one is set)."""
        value = int(self.horizon)
        return self.default_t_end if value < 0 else value

    def masks(self) -> dict[str, torch.Tensor]:
        """Layer name -> its boolean mask (the live buffers)."""
        return {name: getattr(layer, MASK_NAME) for name, layer in self._layers}

    def densities(self) -> dict[str, float]:
        """Layer name -> fraction of active weights."""
        return {name: float(m.float().mean()) for name, m in self.masks().items()}

    def n_active(self) -> int:
        """Number of active weights over all sparse layers."""
        return sum(int(m.sum()) for m in self.masks().values())

    def n_weights(self) -> int:
        """Number of weights (active or not) over all sparse layers."""
        return sum(m.numel() for m in self.masks().values())

    def sparsity(self) -> float:
        """Global fraction of pruned weights over the sparse layers."""
        return 1.0 - self.n_active() / self.n_weights()

    def update_fraction(self, step: int | None = None) -> float:
        """``zeta_t`` at ``step`` (default: the current step); 0 when ``evolve`` is False."""
        if not self.evolve:
            return 0.0
        return cosine_update_fraction(
            int(self.step) if step is None else step, self.zeta, self.t_end
        )

    # ------------------------------------------------------------------ hooks

    def _grad_hook(self, index: int) -> Any:
        def hook(grad: torch.Tensor) -> torch.Tensor:
            layer = self._layers[index][1]
            if self._capture or self._update_due(int(self.step) + 1):
                previous = self._dense_grads.get(index)
                dense = grad.detach()
                self._dense_grads[index] = dense.clone() if previous is None else previous + dense
            return grad * getattr(layer, MASK_NAME)

        return hook

    def _after_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self.step += 1
        self.apply_masks()
        step = int(self.step)
        if self._update_due(step):
            self.update_topology()
        self._dense_grads.clear()

    def _update_due(self, step: int) -> bool:
        return self.evolve and step % self.update_interval == 0 and step < self.t_end

    # ------------------------------------------------------------------ operations

    @torch.no_grad()
    def apply_masks(self) -> None:
        """Zero every pruned weight (the optimizer step hook does this after each step)."""
        for _, layer in self._layers:
            _weight(layer).mul_(getattr(layer, MASK_NAME))

    @torch.no_grad()
    def mask_optimizer_state(self) -> None:
        """Zero the optimizer state of pruned weights (every state tensor shaped like the weight)."""
        for _, layer in self._layers:
            state = self._optimizer.state.get(_weight(layer), {})
            mask = getattr(layer, MASK_NAME)
            for value in state.values():
                if isinstance(value, torch.Tensor) and value.shape == mask.shape:
                    value.mul_(mask)

    @torch.no_grad()
    def update_topology(self, fraction: float | None = None) -> int:
        """One RigL drop/grow round on every layer that has a captured dense gradient.

        Drops the ``k = zeta_t * n_active`` active weights of smallest magnitude and grows the
        ``k`` positions not active after the drop with the largest dense gradient magnitude
        (MAST Algorithm 1). Grown weights and their optimizer state start at zero; each layer's
        number of active weights is unchanged.

        Args:
            fraction: Update fraction to use instead of the schedule's ``zeta_t``.

        Returns:
            The number of connections that moved (dropped and not grown back).
        """
        frac = self.update_fraction() if fraction is None else float(fraction)
        moved = 0
        for j, (_, layer) in enumerate(self._layers):
            grad = self._dense_grads.get(j)
            mask = getattr(layer, MASK_NAME)
            if grad is None:
                continue
            active = int(mask.sum())
            k = int(frac * active)
            if k == 0:
                continue
            flat_mask = mask.flatten()
            weight = _weight(layer).view(-1)
            magnitude = weight.abs().masked_fill(~flat_mask, math.inf)
            drop = torch.topk(magnitude, k, largest=False).indices
            new_mask = flat_mask.clone()
            new_mask[drop] = False
            score = grad.abs().flatten().masked_fill(new_mask, -math.inf)
            grow = torch.topk(score, k).indices
            new_mask[grow] = True
            weight.mul_(new_mask)
            weight[grow] = 0.0
            state = self._optimizer.state.get(_weight(layer), {})
            for value in state.values():
                if isinstance(value, torch.Tensor) and value.shape == mask.shape:
                    flat_value = value.view(-1)
                    flat_value.mul_(new_mask)
                    flat_value[grow] = 0.0
            moved += int((flat_mask & ~new_mask).sum())
            mask.copy_(new_mask.view_as(mask))
            for mirror in self._mirror_layers:
                getattr(mirror[j], MASK_NAME).copy_(mask)
        self._dense_grads.clear()
        self.last_update = {"step": float(self.step), "fraction": frac, "moved": float(moved)}
        return moved

    def capture_dense_gradients(self, enabled: bool = True) -> None:
        """Record the dense gradients of the next backward passes (done by the schedule itself)."""
        self._capture = enabled
        if not enabled:
            self._dense_grads.clear()

    @torch.no_grad()
    def sync_mirrors(self) -> None:
        """Copy every mask to the mirrors and mask their weights."""
        for j, (_, layer) in enumerate(self._layers):
            for mirror in self._mirror_layers:
                getattr(mirror[j], MASK_NAME).copy_(getattr(layer, MASK_NAME))
                _weight(mirror[j]).mul_(getattr(layer, MASK_NAME))

    def extra_repr(self) -> str:
        """Sparsity, method and schedule."""
        return (
            f"layers={len(self._layers)}, sparsity={self.target_sparsity}, "
            f"density_method={self.density_method!r}, sparse_init={self.sparse_init!r}, "
            f"evolve={self.evolve}, "
            f"update_interval={self.update_interval}, zeta={self.zeta}"
        )


def _apply_mask_pre_hook(module: nn.Module, args: Any) -> None:
    weight: torch.Tensor = module.weight  # type: ignore[assignment]
    with torch.no_grad():
        weight.mul_(getattr(module, MASK_NAME))


def _check_sparsity(sparsity: float, owner: str) -> None:
    if (
        isinstance(sparsity, bool)
        or not isinstance(sparsity, (int, float))
        or not 0.0 <= sparsity < 1.0
    ):
        raise ValueError(
            f"{owner}: sparsity must be a fraction of pruned weights in [0, 1), got {sparsity!r}; "
            "e.g. sparsity=0.9 keeps 10% of the weights."
        )
