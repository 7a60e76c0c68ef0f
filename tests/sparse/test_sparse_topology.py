"""SparseTopology on plain torch modules: densities, exact zeros, masked optimizer state, RigL."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from policies.sparse.topology import (
    SparseTopology,
    cosine_update_fraction,
    erdos_renyi_densities,
    layer_densities,
    select_sparse_layers,
)


def _mlp(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3)
    )


def _train(net: nn.Module, opt: torch.optim.Optimizer, steps: int) -> None:
    for _ in range(steps):
        x = torch.randn(16, 10)
        loss = (net(x) - x[:, :3]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def _pruned_abs_sum(topo: SparseTopology) -> float:
    return sum(
        float((layer.weight.detach() * ~layer.weight_mask).abs().sum()) for _, layer in topo.layers
    )


def test_erdos_renyi_density_is_proportional_to_fan_sum_over_size():
    shapes = [(64, 10), (64, 64), (3, 64)]
    dens = erdos_renyi_densities(shapes, 0.9)
    active = sum(d * o * i for d, (o, i) in zip(dens, shapes))
    assert active == pytest.approx(0.1 * sum(o * i for o, i in shapes))
    raw = [(o + i) / (o * i) for o, i in shapes]
    assert dens[0] / raw[0] == pytest.approx(dens[1] / raw[1])


def test_erdos_renyi_caps_small_layers_at_dense_and_resolves_the_rest():
    shapes = [(256, 256), (1, 256)]  # the 256 -> 1 head would need density > 1
    dens = erdos_renyi_densities(shapes, 0.8)
    assert dens[1] == 1.0
    total = 256 * 256 + 256
    assert dens[0] * 256 * 256 + 256 == pytest.approx(0.2 * total)


def test_uniform_densities_and_unknown_method():
    assert layer_densities([(4, 4), (8, 2)], 0.75, "uniform") == [0.25, 0.25]
    with pytest.raises(ValueError, match="density method 'random' is unknown"):
        layer_densities([(4, 4)], 0.5, "random")


@pytest.mark.parametrize("bad", [1.0, -0.1, True, "0.9"])
def test_sparsity_must_be_a_fraction(bad):
    net = _mlp()
    with pytest.raises(
        ValueError, match=r"SparseTopology: sparsity must be a fraction .* in \[0, 1\)"
    ):
        SparseTopology(net, torch.optim.Adam(net.parameters()), sparsity=bad)


def test_bad_schedule_arguments_are_named():
    net = _mlp()
    opt = torch.optim.Adam(net.parameters())
    with pytest.raises(ValueError, match="MyPolicy: update_interval must be a positive"):
        SparseTopology(net, opt, update_interval=0, owner="MyPolicy")
    with pytest.raises(ValueError, match=r"zeta must be in \(0, 1\], got 1.5"):
        SparseTopology(net, opt, zeta=1.5)
    with pytest.raises(ValueError, match="t_end must be a positive number"):
        SparseTopology(net, opt, t_end=0)
    with pytest.raises(ValueError, match="density_method='er' is unknown"):
        SparseTopology(net, opt, density_method="er")
    with pytest.raises(ValueError, match=r"sparse_init='kaiming' is unknown; use one of"):
        SparseTopology(net, opt, sparse_init="kaiming")
    with pytest.raises(ValueError, match="found no trainable nn.Linear or convolution layer"):
        SparseTopology(net, opt, exclude=("",))


def test_select_skips_frozen_layers_and_layers_outside_the_optimizer():
    net = _mlp()
    net[2].weight.requires_grad_(False)
    opt = torch.optim.Adam([net[0].weight, net[0].bias])
    assert [name for name, _ in select_sparse_layers(net, opt)] == ["0"]
    assert [name for name, _ in select_sparse_layers(net, None, exclude=("4",))] == ["0"]


def test_initial_masks_have_the_target_sparsity_and_zero_weights():
    net = _mlp()
    topo = SparseTopology(net, torch.optim.Adam(net.parameters()), sparsity=0.9)
    assert topo.sparsity() == pytest.approx(0.9, abs=2e-3)
    assert _pruned_abs_sum(topo) == 0.0
    for _, layer in topo.layers:
        assert layer.weight_mask.dtype == torch.bool
        assert "weight_mask" in dict(layer.named_buffers())


def test_fan_in_init_rescales_every_unit_to_its_active_inputs_and_keeps_the_mirror_a_copy():
    net, target = _mlp(0), _mlp(0)
    dense = [layer.weight.detach().clone() for layer in net if isinstance(layer, nn.Linear)]
    topo = SparseTopology(
        net,
        torch.optim.Adam(net.parameters()),
        sparsity=0.9,
        sparse_init="fan_in",
        mirrors=[target],
    )
    for (name, layer), before in zip(topo.layers, dense):
        mask = layer.weight_mask
        fan_in = mask.sum(dim=1, keepdim=True).clamp(min=1)
        expected = before * mask * torch.sqrt(layer.in_features / fan_in)
        assert torch.allclose(layer.weight.detach(), expected)
        assert torch.equal(
            dict(target.named_modules())[name].weight.detach(), layer.weight.detach()
        )
    # a unit with a tenth of its inputs starts with the spread of a dense unit, not a tenth of it
    hidden = topo.layers[1][1]
    assert float(hidden.weight.detach().pow(2).sum(dim=1).mean()) == pytest.approx(
        float(dense[1].pow(2).sum(dim=1).mean()), rel=0.3
    )


@pytest.mark.parametrize("optimizer", [torch.optim.Adam, torch.optim.RMSprop, torch.optim.SGD])
def test_pruned_weights_and_their_optimizer_state_stay_zero(optimizer):
    net = _mlp()
    kwargs = {"momentum": 0.9} if optimizer is torch.optim.SGD else {}
    opt = optimizer(net.parameters(), lr=1e-2, **kwargs)
    topo = SparseTopology(net, opt, sparsity=0.8, update_interval=5, t_end=40)
    counts = [int(layer.weight_mask.sum()) for _, layer in topo.layers]
    for _ in range(6):
        _train(net, opt, 5)
        assert _pruned_abs_sum(topo) == 0.0
        assert [int(layer.weight_mask.sum()) for _, layer in topo.layers] == counts
        for _, layer in topo.layers:
            for value in opt.state[layer.weight].values():
                if isinstance(value, torch.Tensor) and value.shape == layer.weight.shape:
                    assert float((value * ~layer.weight_mask).abs().sum()) == 0.0
    assert int(topo.step) == 30


def test_gradients_reaching_clipping_and_optimizer_are_sparse():
    net = _mlp()
    opt = torch.optim.SGD(net.parameters(), lr=0.0)
    topo = SparseTopology(net, opt, sparsity=0.9)
    net(torch.randn(4, 10)).sum().backward()
    for _, layer in topo.layers:
        assert float((layer.weight.grad * ~layer.weight_mask).abs().sum()) == 0.0
        assert float(layer.weight.grad.abs().sum()) > 0.0


def test_rigl_update_drops_smallest_grows_largest_dense_gradient_and_keeps_density():
    torch.manual_seed(0)
    layer = nn.Linear(4, 2, bias=False)
    opt = torch.optim.SGD(layer.parameters(), lr=0.0)
    topo = SparseTopology(layer, opt, sparsity=0.5, density_method="uniform")
    with torch.no_grad():
        layer.weight_mask.copy_(torch.tensor([[1, 1, 0, 0], [1, 1, 0, 0]], dtype=torch.bool))
        layer.weight.copy_(torch.tensor([[0.1, 2.0, 0.0, 0.0], [-3.0, 0.05, 0.0, 0.0]]))
    topo.capture_dense_gradients()
    # dense gradient = x summed: largest at column 3, then column 2
    layer(torch.tensor([[0.0, 0.0, 0.5, 2.0]])).sum().backward()
    moved = topo.update_topology(fraction=0.5)  # k = 0.5 * 4 active = 2
    expected = torch.tensor([[0, 1, 0, 1], [1, 0, 0, 1]], dtype=torch.bool)
    assert torch.equal(layer.weight_mask, expected)
    assert moved == 2
    assert int(layer.weight_mask.sum()) == 4
    assert layer.weight[0, 3].item() == 0.0 and layer.weight[1, 3].item() == 0.0  # grown at zero
    assert layer.weight[0, 1].item() == 2.0 and layer.weight[1, 0].item() == -3.0


def test_topology_evolves_during_training_and_is_frozen_after_t_end():
    net = _mlp()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    topo = SparseTopology(net, opt, sparsity=0.9, update_interval=10, t_end=30)
    start = {k: v.clone() for k, v in topo.masks().items()}
    _train(net, opt, 30)
    assert topo.last_update["step"] == 20.0 and topo.last_update["moved"] > 0
    changed = {k: v.clone() for k, v in topo.masks().items()}
    assert any(not torch.equal(start[k], changed[k]) for k in start)
    _train(net, opt, 40)
    assert all(torch.equal(changed[k], v) for k, v in topo.masks().items())


def test_static_topology_never_changes():
    net = _mlp()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    topo = SparseTopology(net, opt, sparsity=0.9, evolve=False, update_interval=5)
    start = {k: v.clone() for k, v in topo.masks().items()}
    _train(net, opt, 30)
    assert all(torch.equal(start[k], v) for k, v in topo.masks().items())
    assert topo.update_fraction() == 0.0
    assert _pruned_abs_sum(topo) == 0.0


def test_cosine_update_fraction():
    assert cosine_update_fraction(0, 0.5, 100) == pytest.approx(0.5)
    assert cosine_update_fraction(50, 0.5, 100) == pytest.approx(0.25)
    assert cosine_update_fraction(25, 0.5, 100) == pytest.approx(0.25 * (1 + math.cos(math.pi / 4)))
    assert cosine_update_fraction(100, 0.5, 100) == 0.0


def test_state_dict_restores_masks_and_schedule_in_a_fresh_module():
    net = _mlp(0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    topo = SparseTopology(net, opt, sparsity=0.9, update_interval=5, t_end=100)
    _train(net, opt, 12)
    holder = nn.ModuleDict({"net": net, "topo": topo})
    state = holder.state_dict()
    net2 = _mlp(1)
    opt2 = torch.optim.Adam(net2.parameters(), lr=1e-2)
    topo2 = SparseTopology(net2, opt2, sparsity=0.9, update_interval=5)
    holder2 = nn.ModuleDict({"net": net2, "topo": topo2})
    holder2.load_state_dict(state)
    assert int(topo2.step) == 12 and topo2.t_end == 100
    assert all(torch.equal(a, b) for a, b in zip(topo.masks().values(), topo2.masks().values()))
    x = torch.randn(5, 10)
    assert torch.equal(net(x), net2(x))
    _train(net2, opt2, 3)  # hooks of the fresh module act on the loaded masks
    assert _pruned_abs_sum(topo2) == 0.0 and int(topo2.step) == 15


def test_mirror_gets_masks_and_is_masked_before_forward():
    net = _mlp(0)
    target = _mlp(1)
    target.load_state_dict(net.state_dict(), strict=False)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    topo = SparseTopology(net, opt, sparsity=0.9, update_interval=5, t_end=100, mirrors=[target])
    _train(net, opt, 10)
    mirror = dict(target.named_modules())
    for name, layer in topo.layers:
        assert torch.equal(mirror[name].weight_mask, layer.weight_mask)
    with torch.no_grad():  # a soft (Polyak) update leaves weight outside the mask
        for p in target.parameters():
            p.add_(1.0)
    target(torch.randn(2, 10))
    for name, layer in topo.layers:
        assert float((mirror[name].weight.detach() * ~layer.weight_mask).abs().sum()) == 0.0


def test_mirror_with_other_layers_is_rejected():
    net = _mlp()
    other = nn.Sequential(nn.Linear(10, 32))
    with pytest.raises(ValueError, match="mirror Sequential has no Linear .0. of shape"):
        SparseTopology(net, torch.optim.Adam(net.parameters()), mirrors=[other])


def test_set_horizon_validates():
    net = _mlp()
    topo = SparseTopology(net, torch.optim.Adam(net.parameters()), update_interval=7)
    assert topo.t_end == 700
    topo.set_horizon(50)
    assert topo.t_end == 50
    with pytest.raises(ValueError, match=r"SparseTopology.set_horizon: t_end must be a positive"):
        topo.set_horizon(-3)


def _fit_sparse_inputs(evolve: bool, seed: int = 0, steps: int = 1200) -> tuple[float, float]:
    """Regress a target on 4 of 64 inputs with a 95%-sparse MLP; returns (test MSE, input density
    of the 4 relevant inputs in the first layer)."""
    relevant, width = 4, 128
    g = torch.Generator().manual_seed(1234)
    w_in, w_out = torch.randn(relevant, 16, generator=g), torch.randn(16, 1, generator=g)

    def target(x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x[:, :relevant] @ w_in) @ w_out

    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Linear(64, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1)
    )
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    SparseTopology(
        net, opt, sparsity=0.95, evolve=evolve, update_interval=50, t_end=int(0.75 * steps)
    )
    for _ in range(steps):
        x = torch.randn(64, 64)
        loss = (net(x) - target(x)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    x = torch.randn(4096, 64)
    with torch.no_grad():
        mse = float((net(x) - target(x)).pow(2).mean())
    return mse, float(net[0].weight_mask[:, :relevant].float().mean())


def test_rigl_moves_connections_to_the_relevant_inputs_and_beats_a_static_mask():
    # 60 of 64 inputs are noise: a random static mask spends ~94% of its first layer on them,
    # RigL's gradient-based growth moves connections to the 4 inputs the target depends on.
    static_mse, static_density = _fit_sparse_inputs(evolve=False)
    rigl_mse, rigl_density = _fit_sparse_inputs(evolve=True)
    assert rigl_density > 2 * static_density
    assert rigl_mse < 0.3 * static_mse  # measured: 0.022 vs 0.31 (seed 0)
