"""Kaleidoscope's diversity term (K3), its coefficient (K5), the reset (K4) and the step hooks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from policies.learned.diversity import diversity_gradients
from policies.learned.layers import LearnedMaskMLP, kaiming_bound
from policies.learned.regularizer import (
    KaleidoscopeRegularizer,
    MaskSTE,
    diversity_loss,
    reset_masked_weights,
)
from policies.learned.stats import mask_statistics

N_AGENTS = 4


def _net(seed: int = 0, low: float = -4.0, high: float = -1.0) -> LearnedMaskMLP:
    torch.manual_seed(seed)
    net = LearnedMaskMLP(5, [8, 8], 3, N_AGENTS)
    with torch.no_grad():
        for layer in net.mask_layers():
            layer.thresholds.uniform_(low, high)
    return net


def _thresholds(net: LearnedMaskMLP) -> list[nn.Parameter]:
    return [layer.thresholds for layer in net.mask_layers()]


def _pairwise_reference(net: LearnedMaskMLP) -> torch.Tensor:
    """(K3) written as the released code does: all ordered pairs, |W|-weighted masks, w_l = 2^l."""
    total = torch.zeros(())
    layers = net.mask_layers()
    for index, layer in enumerate(layers):
        magnitude = layer.weight.detach().abs()
        masks = MaskSTE.apply(magnitude - torch.sigmoid(layer.thresholds)) * magnitude
        total = total + 2**index * (masks[None] - masks[:, None]).abs().sum()
    n_weights = sum(layer.weight.numel() for layer in layers)
    return -total / (N_AGENTS * (N_AGENTS - 1) * n_weights)


def _rl_loss(net: LearnedMaskMLP, seed: int = 3) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    agent = torch.randint(N_AGENTS, (32,), generator=g)
    return net(torch.randn(32, 5, generator=g), torch.eye(N_AGENTS)[agent]).pow(2).mean()


def _captured_step(net, reg_kwargs, observe=None):
    """One SGD step with the regulariser; returns the gradients the optimizer applied."""
    opt = torch.optim.SGD(net.parameters(), lr=0.0)
    reg = KaleidoscopeRegularizer([net], opt, **reg_kwargs)
    captured: dict[str, torch.Tensor] = {}
    opt.register_step_pre_hook(  # registered after the regulariser's, so it sees the final .grad
        lambda o, a, k: captured.update({n: p.grad.clone() for n, p in net.named_parameters()})
    )
    loss = _rl_loss(net)
    loss.backward()
    if observe:
        reg.observe_loss(loss.detach())
    opt.step()
    return captured, reg, loss.detach()


def test_diversity_loss_equals_the_pairwise_sum_with_its_gradients():
    net = _net()
    value, reference = diversity_loss(net), _pairwise_reference(net)
    torch.testing.assert_close(value, reference)
    ours = torch.autograd.grad(value, _thresholds(net))
    theirs = torch.autograd.grad(reference, _thresholds(net))
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b)
    assert any(bool(g.abs().sum() > 0) for g in ours)
    # |W| is detached: the term moves thresholds only
    assert not any(layer.weight.requires_grad and layer.weight.grad is not None for layer in net.mask_layers())


def test_identical_masks_get_no_diversity_gradient_and_one_mask_has_no_term():
    net = _net()
    with torch.no_grad():
        for layer in net.mask_layers():
            layer.thresholds.copy_(layer.thresholds[:1].expand_as(layer.thresholds))
    grads = torch.autograd.grad(diversity_loss(net), _thresholds(net))
    assert all(bool((g == 0).all()) for g in grads)  # |x| has subgradient 0 at 0 (module docstring)
    single = LearnedMaskMLP(5, [8], 3, 1)
    assert float(diversity_loss(single)) == 0.0


def test_straight_through_estimator_passes_tanh_of_the_gradient():
    x = torch.tensor([-0.5, 0.2, 0.0], requires_grad=True)
    out = MaskSTE.apply(x)
    assert out.tolist() == [0.0, 1.0, 0.0]
    out.backward(torch.tensor([2.0, -1.0, 0.5]))
    torch.testing.assert_close(x.grad, torch.tanh(torch.tensor([2.0, -1.0, 0.5])))


def test_step_hook_equals_adding_the_term_to_the_loss():
    net, twin = _net(), _net()
    captured, _, _ = _captured_step(net, {"div_coef": 3.0, "coef_mode": "fixed"})
    (_rl_loss(twin) + 3.0 * diversity_loss(twin)).backward()
    for name, param in twin.named_parameters():
        torch.testing.assert_close(captured[name], param.grad, msg=name)
    plain = _net()
    _rl_loss(plain).backward()
    assert not torch.allclose(captured["head.thresholds"], plain.head.thresholds.grad)  # the term did act
    assert torch.equal(captured["head.weight"], plain.head.weight.grad)  # ... on thresholds only


def test_loss_mode_uses_the_released_adaptive_coefficient():
    net, twin = _net(), _net()
    captured, reg, rl = _captured_step(net, {"div_coef": 0.5, "coef_mode": "loss"}, observe=True)
    div = diversity_loss(twin)
    alpha = abs(0.5 * float(rl) / float(div.detach()))  # K5 after one update
    assert reg.coefficient() == pytest.approx(alpha)
    (_rl_loss(twin) + alpha * div).backward()
    for name, param in twin.named_parameters():
        torch.testing.assert_close(captured[name], param.grad, msg=name)


def test_grad_mode_scales_the_diversity_gradient_to_alpha_times_the_rl_gradient():
    net, ref = _net(), _net()
    rl_grads = list(torch.autograd.grad(_rl_loss(ref), _thresholds(ref)))
    captured, reg, _ = _captured_step(net, {"div_coef": 0.5, "coef_mode": "grad"})
    added = [captured[f"{name}.thresholds"] - g for name, g in zip(["hidden.0", "hidden.1", "head"], rl_grads)]
    norm = torch.linalg.vector_norm(torch.cat([a.flatten() for a in added]))
    rl_norm = torch.linalg.vector_norm(torch.cat([g.flatten() for g in rl_grads]))
    torch.testing.assert_close(norm, 0.5 * rl_norm)
    assert reg.last["div_coef"] > 0 and reg.last["div_loss"] < 0


def test_max_grad_norm_bounds_the_step_after_the_term_is_added():
    captured, _, _ = _captured_step(_net(), {"div_coef": 50.0, "coef_mode": "grad", "max_grad_norm": 0.01})
    total = torch.linalg.vector_norm(torch.cat([g.flatten() for g in captured.values()]))
    assert float(total) <= 0.01 + 1e-6


def test_diversity_keeps_agents_masks_apart_on_a_task_where_they_start_alike():
    """All agents get the same data; from the released initialisation (masks nearly equal) the
    term must raise its own objective, the weighted distance between masks, clearly above training
    without it, and the plain mask distance too."""

    def train(coef: float, seed: int) -> tuple[float, float]:
        torch.manual_seed(seed)
        net = LearnedMaskMLP(6, [16, 16], 2, N_AGENTS)
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        KaleidoscopeRegularizer([net], opt, div_coef=coef)
        g = torch.Generator().manual_seed(1)
        target = torch.randn(2, 6, generator=g)
        one_hot = torch.eye(N_AGENTS).repeat_interleave(32, 0)
        for _ in range(300):
            x = torch.randn(32, 6, generator=g)
            opt.zero_grad()
            loss = (net(x.repeat(N_AGENTS, 1), one_hot) - torch.tanh(x @ target.T).repeat(N_AGENTS, 1)).pow(2)
            loss.mean().backward()
            opt.step()
        return -float(diversity_loss(net).detach()), mask_statistics(net).as_dict()["masks/distance"]

    for seed in (0, 1):
        (weighted_off, plain_off), (weighted_on, plain_on) = train(0.0, seed), train(5.0, seed)
        assert weighted_on > 1.5 * weighted_off
        assert plain_on > plain_off


def _dead_net() -> LearnedMaskMLP:
    """Thresholds that mask every weight of magnitude < 0.2 for every agent, and more for some."""
    net = _net()
    with torch.no_grad():
        for layer in net.mask_layers():
            layer.thresholds.fill_(float(torch.logit(torch.tensor(0.2))))
            layer.thresholds[1:] += torch.rand_like(layer.thresholds[1:])
    return net


@pytest.mark.parametrize("first_layer", [False, True])
def test_reset_redraws_exactly_the_weights_every_agent_masks(first_layer):
    net = _dead_net()
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    dead = [~layer.masks().any(0) for layer in net.mask_layers()]
    n_reset = reset_masked_weights(net, 1.0, reset_first_layer=first_layer, generator=torch.Generator().manual_seed(0))
    reset_layers = set(range(3)) if first_layer else {1, 2}
    assert all(int(d.sum()) > 0 for d in dead)
    assert n_reset == sum(int(d.sum()) for i, d in enumerate(dead) if i in reset_layers)
    for index, (name, layer) in enumerate(zip(["hidden.0", "hidden.1", "head"], net.mask_layers())):
        chosen = dead[index] if index in reset_layers else torch.zeros_like(dead[index])
        weight, old_weight = layer.weight.detach(), before[f"{name}.weight"]
        assert torch.equal(weight[~chosen], old_weight[~chosen])
        assert torch.equal(layer.thresholds.detach()[:, ~chosen], before[f"{name}.thresholds"][:, ~chosen])
        assert torch.all(weight[chosen] != old_weight[chosen])
        assert bool((weight[chosen].abs() <= kaiming_bound(layer)).all())
        new = layer.thresholds.detach()[:, chosen]
        assert bool(((new >= -10.0) & (new <= -5.0)).all())  # -(U(0,1) * 5 + 5)
        assert torch.equal(layer.bias.detach(), before[f"{name}.bias"])
    assert reset_masked_weights(net, 0.0) == 0


def test_reset_ratio_is_the_probability_of_each_dead_weight():
    net = LearnedMaskMLP(5, [64, 64], 3, N_AGENTS)
    with torch.no_grad():
        for layer in net.mask_layers():
            layer.thresholds.fill_(10.0)  # everything masked by everyone
    n_dead = sum(layer.weight.numel() for layer in net.mask_layers()[1:])
    n_reset = reset_masked_weights(net, 0.25, generator=torch.Generator().manual_seed(0))
    assert abs(n_reset / n_dead - 0.25) < 0.02


def test_resets_happen_on_the_schedule_and_never_in_the_last_interval():
    net = _dead_net()
    opt = torch.optim.SGD(net.parameters(), lr=0.0)
    reg = KaleidoscopeRegularizer([net], opt, div_coef=0.0, reset_interval=3, reset_ratio=1.0, horizon=10)
    reset_steps = []
    for _ in range(12):
        before = net.head.weight.detach().clone()
        _rl_loss(net).backward()
        opt.step()
        if not torch.equal(before, net.head.weight.detach()):
            reset_steps.append(int(reg.step))
        with torch.no_grad():  # make weights dead again for the next reset
            net.head.weight.mul_(0.01)
    assert reset_steps == [3, 6]
    assert int(reg.last_reset) == 6


def test_schedule_and_coefficient_history_survive_a_state_dict_round_trip():
    def build():
        net = _dead_net()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        holder = nn.Module()
        holder.net = net
        holder.reg = KaleidoscopeRegularizer([net], opt, reset_interval=4)
        return holder, opt

    holder, opt = build()
    for _ in range(6):
        opt.zero_grad()
        _rl_loss(holder.net).backward()
        opt.step()
    fresh, _ = build()
    fresh.load_state_dict(holder.state_dict())
    for key in ("step", "last_reset", "interval", "horizon", "history", "n_seen"):
        assert torch.equal(getattr(fresh.reg, key), getattr(holder.reg, key)), key
    assert int(fresh.reg.step) == 6 and int(fresh.reg.last_reset) == 4
    assert fresh.reg.coefficient() == holder.reg.coefficient()
    assert not fresh.reg.reset_due(7) and fresh.reg.reset_due(8)


def test_bad_arguments_raise_clear_errors():
    net = _net()
    opt = torch.optim.Adam(net.parameters())
    with pytest.raises(ValueError, match="coef_mode='adaptive' is unknown"):
        KaleidoscopeRegularizer([net], opt, coef_mode="adaptive")
    with pytest.raises(ValueError, match="reset_interval must be a positive int"):
        KaleidoscopeRegularizer([net], opt, reset_interval=0)
    with pytest.raises(ValueError, match="does not train the thresholds of LearnedMaskMLP"):
        KaleidoscopeRegularizer([net], torch.optim.Adam([net.head.weight]))
    with pytest.raises(ValueError, match="has no learned-mask layer"):
        KaleidoscopeRegularizer([nn.Linear(2, 2)], opt)
    with pytest.raises(ValueError, match="ratio must be in"):
        reset_masked_weights(net, 1.5)
    KaleidoscopeRegularizer([net], opt, coef_mode="loss")
    _rl_loss(net).backward()
    with pytest.raises(RuntimeError, match=r"call observe_loss\(loss\) before optimizer.step\(\)"):
        opt.step()


@pytest.mark.parametrize("scale", [1.0, 0.3, 2000.0])
def test_closed_form_gradients_equal_autograd_through_the_estimator(scale):
    torch.manual_seed(3)
    net = LearnedMaskMLP(5, [8, 8], 3, N_AGENTS, group_of_agent=[0, 1, 1, 2])
    with torch.no_grad():
        for layer in net.mask_layers():
            layer.thresholds.uniform_(-4.0, -1.0)
    value, grads = diversity_gradients(net, scale)
    reference = diversity_loss(net)
    torch.testing.assert_close(value, reference.detach())
    for ours, theirs in zip(grads, torch.autograd.grad(scale * reference, _thresholds(net))):
        torch.testing.assert_close(ours, theirs)
    assert any(bool(g.abs().sum() > 0) for g in grads)
    single_value, single = diversity_gradients(LearnedMaskMLP(5, [8], 3, 1))
    assert float(single_value) == 0.0 and all(bool((g == 0).all()) for g in single)
