"""Kaleidoscope's diversity regulariser and weight reset, driven by the optimizer's step hooks.

The term itself is :mod:`policies.learned.diversity`, the reset :mod:`policies.learned.reset`;
this module holds the coefficient, the schedule and the hooks that apply them.

Li, Pan & Zhang (2024), sections 4.2 (diversity) and 4.3 (resetting); the released code is the
reference for every constant below (``mask_diversity_loss``, ``_reset``, ``Kalei_q_learner``).
With the masks of (K2) in :mod:`policies.learned.layers`:

* (K3) Diversity. Over the masked layers ``l`` of one network with ``G`` masks::

      L_div = - 1 / (G (G - 1) P) * sum_l w_l * sum_{i, j} || |W_l| ⊙ (M_{l,i} - M_{l,j}) ||_1

  ``P`` is the number of masked weights, ``w_l = 2^l`` from input to output (released
  ``sparsity_layer_weights``: 1, 2, 4, 8 for four layers; 1, 2, 4 for three), ``|W_l|`` is
  detached, so the term moves only the thresholds. It is minimised, i.e. the weighted distance
  between every two agents' masks is maximised.
* (K2') The binary mask is differentiated with a straight-through estimator whose backward is
  ``tanh`` of the incoming gradient (``compare_STE``). Since ``|x|`` has subgradient 0 at 0, a weight
  on which all agents' masks agree gets no diversity gradient: the term widens existing
  differences (the initial thresholds make a few) rather than creating them.
* (K5) Coefficient. The released learners add ``alpha_t * L_div`` to the RL loss with
  ``alpha_t = |alpha * mean(L_RL) / mean(L_div)|`` over the last 100 updates (``deque_len``);
  ``alpha`` = 0.5 (MPE), 5 (SMACv2), 0.1 (MaMuJoCo actors and critic ensembles).
* (K4) Reset. Every ``reset_interval`` updates, except within the last interval of training, each
  weight that every agent masks out is, with probability ``reset_ratio``, re-drawn from
  ``nn.Linear``'s default ``kaiming_uniform_(a=sqrt(5))`` and its ``N`` thresholds re-drawn as
  ``-(U(0,1) * 5 + 5)``. The first layer is not reset in the MPE and SMACv2 agents (``reset_layers
  = [fc2, fc3, fc4]``); MaMuJoCo resets all. Released intervals and ratios: 200k env steps and
  0.1 (MPE), 1M and 0.2 (SMACv2), 1M and 0.5 (MaMuJoCo). Optimizer state is left as it is.

SB3 has no hook for an extra loss term, so :class:`KaleidoscopeRegularizer` adds it at the
optimizer: a step *pre*-hook computes ``L_div`` and accumulates its gradient into the thresholds'
``.grad`` (gradients add, so this equals adding the term to the loss), and a step *post*-hook
counts updates and runs the reset schedule. The RL loss value that (K5) needs is not visible there,
so the default ``coef_mode="grad"`` keeps (K5)'s purpose -- a coefficient free of the RL loss's
scale -- with the quantities the hook sees: ``alpha_t = alpha * mean ||g_RL|| / mean ||g_div||``
over the thresholds of the network, same window. ``coef_mode="loss"`` is (K5) itself for code that
can pass the loss (:meth:`KaleidoscopeRegularizer.observe_loss`); ``"fixed"`` uses ``alpha``.

Clipping: SB3 calls ``clip_grad_norm_`` between ``backward`` and ``step``, so the hook's gradient
arrives after clipping (the released QMIX learner clips the sum). With ``"grad"`` the ratio of the
two gradients is ``alpha`` either way; Adam and RMSprop normalise each entry, so the global clip
factor barely changes the update. ``max_grad_norm`` re-clips the sum for a strict bound.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from policies.learned.diversity import (
    MaskSTE,
    default_layer_weights,
    diversity_gradients,
    diversity_loss,
)
from policies.learned.layers import mask_layers_of
from policies.learned.reset import reset_masked_weights

__all__ = [
    "COEF_MODES",
    "KALEIDOSCOPE_DEFAULTS",
    "KaleidoscopeRegularizer",
    "MaskSTE",
    "MaskScheduleWarning",
    "default_layer_weights",
    "diversity_loss",
    "reset_masked_weights",
]

COEF_MODES = ("grad", "loss", "fixed")

KALEIDOSCOPE_DEFAULTS: dict[str, Any] = {
    "div_coef": 0.5,
    "coef_mode": "grad",
    "history_len": 100,
    "reset_ratio": 0.1,
    "reset_first_layer": False,
    "threshold_reset_scale": 5.0,
    "threshold_reset_bias": 5.0,
}
"""The released MPE settings (the benchmark closest to ours); interval: 200k env steps there."""


class MaskScheduleWarning(UserWarning):
    """A learned-mask policy trains with a reset interval in env timesteps that was never converted."""


class KaleidoscopeRegularizer(nn.Module):
    """(K3)-(K5) for SB3 without forking ``train()``: the optimizer's step hooks do it.

    Attach it as a submodule of the policy: its schedule position and coefficient history are
    buffers, so ``state_dict`` / SB3's ``save`` and ``load`` restore them; the networks' thresholds
    are their own parameters. Building it again (as ``load`` does) registers the hooks again.

    Args:
        networks: The learned-mask networks (e.g. actor and critic), each with its own (K3) term
            and coefficient.
        optimizer: The optimizer of their weights and thresholds.
        div_coef: ``alpha`` (released: 0.5 MPE, 5 SMACv2, 0.1 MaMuJoCo). 0 disables (K3).
        coef_mode: ``"grad"`` (default), ``"loss"`` or ``"fixed"``; see the module docstring.
        history_len: Window of the coefficient's running means (100).
        reset_interval: Optimizer steps between resets (K4); ``None``: never reset.
        reset_ratio: Probability of resetting a weight masked by every agent (0.1).
        reset_first_layer: Reset the input layer too (MaMuJoCo); ``False`` as MPE / SMACv2.
        threshold_reset_scale: Reset thresholds ``-(U(0,1) * scale + bias)``: scale (5).
        threshold_reset_bias: Bias of the same (5).
        horizon: Optimizer steps of the whole training; no reset within ``reset_interval`` of it.
        max_grad_norm: Clip all gradients to this norm after adding (K3); ``None``: no clip.
        reset_timesteps: The reset interval in env timesteps (the papers' unit), for
            :func:`policies.learned.training.set_mask_schedule` to convert into ``reset_interval``.
            While it is given and ``reset_interval`` is not, the first optimizer step warns
            (:class:`MaskScheduleWarning`) that no reset can happen yet.
        owner: Name used in error messages.

    Raises:
        ValueError: for an unknown ``coef_mode``, a negative ``div_coef``, a non-positive
            ``history_len`` or ``reset_interval``, or a network without learned-mask layers or
            whose thresholds the optimizer does not train.
    """

    step: torch.Tensor
    last_reset: torch.Tensor
    horizon: torch.Tensor
    interval: torch.Tensor
    history: torch.Tensor
    n_seen: torch.Tensor

    def __init__(
        self,
        networks: Sequence[nn.Module],
        optimizer: torch.optim.Optimizer,
        *,
        div_coef: float = 0.5,
        coef_mode: str = "grad",
        history_len: int = 100,
        reset_interval: int | None = None,
        reset_ratio: float = 0.1,
        reset_first_layer: bool = False,
        threshold_reset_scale: float = 5.0,
        threshold_reset_bias: float = 5.0,
        horizon: int | None = None,
        max_grad_norm: float | None = None,
        reset_timesteps: int | None = None,
        owner: str = "KaleidoscopeRegularizer",
    ) -> None:
        super().__init__()
        if coef_mode not in COEF_MODES:
            raise ValueError(f"{owner}: coef_mode={coef_mode!r} is unknown; use one of {COEF_MODES}")
        if not div_coef >= 0:
            raise ValueError(f"{owner}: div_coef must be >= 0, got {div_coef!r}; Kaleidoscope's MPE value is 0.5")
        if not 0.0 <= reset_ratio <= 1.0:
            raise ValueError(f"{owner}: reset_ratio must be in [0, 1], got {reset_ratio!r}; Kaleidoscope uses 0.1")
        for name, value in (("history_len", history_len), ("reset_interval", reset_interval), ("horizon", horizon)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{owner}: {name} must be a positive int of optimizer steps, got {value!r}")
        if reset_timesteps is not None and (
            isinstance(reset_timesteps, bool) or not isinstance(reset_timesteps, int) or reset_timesteps < 1
        ):
            raise ValueError(f"{owner}: reset_timesteps must be a positive int of env timesteps, got {reset_timesteps!r}")
        self.reset_timesteps = reset_timesteps
        self._warned_schedule = False
        self.owner = owner
        self.div_coef = float(div_coef)
        self.coef_mode = coef_mode
        self.reset_ratio = float(reset_ratio)
        self.reset_first_layer = bool(reset_first_layer)
        self.threshold_reset = (float(threshold_reset_scale), float(threshold_reset_bias))
        self.max_grad_norm = max_grad_norm
        # Plain lists: the networks belong to the policy, not to this module.
        self._networks = list(networks)
        self._thresholds = [[layer.thresholds for layer in mask_layers_of(net)] for net in self._networks]
        trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
        for net, thresholds in zip(self._networks, self._thresholds):
            if not thresholds:
                raise ValueError(f"{owner}: {type(net).__name__} has no learned-mask layer")
            if any(id(t) not in trained for t in thresholds):
                raise ValueError(
                    f"{owner}: the optimizer does not train the thresholds of {type(net).__name__}; "
                    "build the optimizer over the network's parameters (thresholds included)"
                )
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.register_buffer("last_reset", torch.zeros((), dtype=torch.long))
        self.register_buffer("horizon", torch.tensor(-1 if horizon is None else horizon))
        self.register_buffer("interval", torch.tensor(-1 if reset_interval is None else reset_interval))
        self.register_buffer("history", torch.zeros(len(self._networks), 2, history_len, dtype=torch.float64))
        self.register_buffer("n_seen", torch.zeros((), dtype=torch.long))
        self._pending_loss: float | None = None
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None
        self._last_reset_count = 0
        self._optimizer = optimizer
        self._handles = [
            optimizer.register_step_pre_hook(self._before_step),
            optimizer.register_step_post_hook(self._after_step),
        ]

    # ------------------------------------------------------------------ schedule

    def set_schedule(self, *, reset_interval: int | None = None, horizon: int | None = None) -> None:
        """Set the reset interval and / or the training horizon, both in optimizer steps."""
        for name, value in (("reset_interval", reset_interval), ("horizon", horizon)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{self.owner}.set_schedule: {name} must be a positive int, got {value!r}")
        if reset_interval is not None:
            self.interval.fill_(reset_interval)
        if horizon is not None:
            self.horizon.fill_(horizon)

    @property
    def networks(self) -> list[nn.Module]:
        """The regularised networks, each with its own (K3) term and coefficient."""
        return list(self._networks)

    @property
    def reset_interval(self) -> int | None:
        """Optimizer steps between resets (K4), or ``None``."""
        value = int(self.interval)
        return None if value < 0 else value

    def reset_due(self, step: int) -> bool:
        """(K4) schedule: ``reset_interval`` steps since the last reset, and not in the last interval."""
        interval = self.reset_interval
        if interval is None or step - int(self.last_reset) < interval:
            return False
        horizon = int(self.horizon)
        return horizon < 0 or horizon - step > interval

    def remove_hooks(self) -> None:
        """Detach from the optimizer: no diversity term, no step counting, no reset any more."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def rebind_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """Move both hooks to a new optimizer (if the model's optimizer is replaced)."""
        self.remove_hooks()
        self._optimizer = optimizer
        self._handles = [
            optimizer.register_step_pre_hook(self._before_step),
            optimizer.register_step_post_hook(self._after_step),
        ]

    # ------------------------------------------------------------------ coefficient

    def observe_loss(self, loss: float | torch.Tensor) -> None:
        """Give the RL loss of the coming optimizer step (``coef_mode="loss"``, K5)."""
        self._pending_loss = float(loss)

    def coefficients(self) -> torch.Tensor:
        """``alpha_t`` of every network from the recorded window (``alpha`` before any record)."""
        alpha = torch.full((self.history.shape[0],), self.div_coef, dtype=self.history.dtype, device=self.history.device)
        seen = int(self.n_seen)
        if self.coef_mode == "fixed" or seen == 0:
            return alpha
        reference, diversity = self.history[:, :, : min(seen, self.history.shape[-1])].mean(-1).unbind(-1)
        return torch.where(diversity == 0, alpha, (alpha * reference / diversity).abs())

    def coefficient(self, index: int = 0) -> float:
        """``alpha_t`` of network ``index`` (see :meth:`coefficients`)."""
        return float(self.coefficients()[index])

    @property
    def last(self) -> dict[str, float]:
        """The last step's (K3) value summed over the networks, the first network's ``alpha_t``
        and the number of weights reset by the last reset."""
        out = {"n_reset": float(self._last_reset_count)}
        if self._last is not None:
            losses, coefs = self._last
            out.update(div_loss=float(losses.sum()), div_coef=float(coefs[0]))
        return out

    def _record(self, values: torch.Tensor) -> None:
        slot = int(self.n_seen) % self.history.shape[-1]
        self.history[:, :, slot] = values.to(self.history)
        self.n_seen += 1

    # ------------------------------------------------------------------ hooks

    def _before_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if self.div_coef == 0.0:
            return
        if self.coef_mode == "loss" and self._pending_loss is None:
            raise RuntimeError(
                f"{self.owner}: coef_mode='loss' needs the RL loss of every optimizer step; call "
                "observe_loss(loss) before optimizer.step(), or use coef_mode='grad'"
            )
        if self.coef_mode == "grad":
            terms = [diversity_gradients(net) for net in self._networks]
            detached = torch.stack([loss.to(self.history) for loss, _ in terms])
            rl_norms = torch.stack([_norm([p.grad for p in ps], self.history) for ps in self._thresholds])
            div_norms = torch.stack([_norm(gs, self.history) for _, gs in terms])
            self._record(torch.stack([rl_norms.to(self.history), div_norms.to(self.history)], -1))
            coefs = self.coefficients()
            grads = [[g * coef.to(g.dtype) for g in gs] for coef, (_, gs) in zip(coefs, terms)]
        else:
            if self.coef_mode == "loss":
                with torch.no_grad():
                    values = torch.stack([diversity_loss(net).to(self.history) for net in self._networks])
                reference = torch.full_like(values, float(self._pending_loss))  # type: ignore[arg-type]
                self._record(torch.stack([reference, values], -1))
            coefs = self.coefficients()
            terms = [diversity_gradients(net, float(coef)) for coef, net in zip(coefs, self._networks)]
            detached = torch.stack([loss.to(self.history) for loss, _ in terms])
            grads = [gs for _, gs in terms]
        self._pending_loss = None
        for params, gs in zip(self._thresholds, grads):
            for param, grad in zip(params, gs):
                param.grad = grad if param.grad is None else param.grad + grad
        if self.max_grad_norm is not None:
            params = [p for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, self.max_grad_norm)
        self._last = (detached, coefs)

    def _after_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self.step += 1
        step = int(self.step)
        if self.reset_timesteps is not None and self.reset_interval is None and not self._warned_schedule:
            self._warned_schedule = True
            warnings.warn(
                f"{self.owner}: the weight reset every {self.reset_timesteps:,} env timesteps needs the "
                "algorithm's optimizer steps per timestep, which the policy cannot see; until "
                "policies.set_mask_schedule(model, total_timesteps) is called (or model.learn gets "
                "callback=policies.LearnedMaskCallback()) no weight is reset",
                MaskScheduleWarning,
                stacklevel=2,
            )
        if self.reset_due(step):
            scale, bias = self.threshold_reset
            n_reset = sum(
                reset_masked_weights(
                    net,
                    self.reset_ratio,
                    reset_first_layer=self.reset_first_layer,
                    threshold_reset_scale=scale,
                    threshold_reset_bias=bias,
                )
                for net in self._networks
            )
            self.last_reset.fill_(step)
            self._last_reset_count = n_reset

    def extra_repr(self) -> str:
        """Coefficient, mode and schedule."""
        return (
            f"networks={len(self._networks)}, div_coef={self.div_coef}, coef_mode={self.coef_mode!r}, "
            f"reset_interval={self.reset_interval}, reset_ratio={self.reset_ratio}"
        )


def _norm(tensors: Sequence[torch.Tensor | None], like: torch.Tensor) -> torch.Tensor:
    """Global 2-norm of the given tensors (0 if none), as ``like``'s dtype and device."""
    present = [t.detach() for t in tensors if t is not None]
    if not present:
        return like.new_zeros(())
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t) for t in present])).to(like)
