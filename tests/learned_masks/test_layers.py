"""Kaleidoscope's layers: per-row agent weights (K1), isolation between agents, gradients, caching."""

from __future__ import annotations

import io

import pytest
import torch
import torch.nn.functional as F

from policies.learned.conv import LearnedMaskConv2d
from policies.learned.layers import LearnedMaskLinear, LearnedMaskMLP, RowGroups, soft_threshold

N_AGENTS = 4


def _net(**kwargs) -> LearnedMaskMLP:
    torch.manual_seed(0)
    net = LearnedMaskMLP(5, [8, 8], 3, N_AGENTS, **kwargs)
    with torch.no_grad():  # thresholds that actually mask a good share of the weights
        for layer in net.mask_layers():
            layer.thresholds.uniform_(-4.0, -1.0)
    return net


def _batch(n_rows: int = 23, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    agent = torch.randint(N_AGENTS, (n_rows,), generator=g)
    return torch.randn(n_rows, 5, generator=g), agent, torch.eye(N_AGENTS)[agent]


def _reference(net: LearnedMaskMLP, x: torch.Tensor, agent: torch.Tensor) -> torch.Tensor:
    """Row by row, with the soft-thresholded weights of the row's mask (K1)."""
    outs = []
    for row, a in zip(x, agent.tolist()):
        h = torch.cat([row, torch.eye(N_AGENTS)[a]]) if net.agent_id else row
        group = int(net.group_of_agent[a])
        for k, layer in enumerate(net.mask_layers()):
            h = soft_threshold(layer.weight, layer.thresholds[group]) @ h + layer.bias
            h = torch.tanh(h) if k < len(net.mask_layers()) - 1 else h
        outs.append(h)
    return torch.stack(outs)


@pytest.mark.parametrize("kwargs", [{}, {"agent_id": True}, {"group_of_agent": [0, 1, 1, 0]}])
def test_every_row_uses_the_soft_thresholded_weights_of_its_own_mask(kwargs):
    net = _net(**kwargs)
    x, agent, one_hot = _batch()
    torch.testing.assert_close(net(x, one_hot), _reference(net, x, agent))
    assert any(bool((~layer.masks()).any()) for layer in net.mask_layers())  # masks are not all 1


def test_soft_threshold_zeroes_exactly_the_masked_weights():
    weight = torch.tensor([[0.5, -0.2, 0.05]])
    thresholds = torch.logit(torch.tensor([[[0.1, 0.1, 0.1]], [[0.3, 0.1, 0.01]]]))
    out = soft_threshold(weight, thresholds)
    torch.testing.assert_close(out, torch.tensor([[[0.4, -0.1, 0.0]], [[0.2, -0.1, 0.04]]]))


def test_masks_of_one_agent_never_affect_rows_of_another():
    net = _net()
    x, agent, one_hot = _batch(40)
    before = net(x, one_hot).detach()
    with torch.no_grad():  # move agent 2's thresholds everywhere
        for layer in net.mask_layers():
            layer.thresholds[2].uniform_(-3.0, 3.0)
    after = net(x, one_hot).detach()
    other = agent != 2
    assert torch.equal(after[other], before[other])
    assert not torch.allclose(after[~other], before[~other])
    # ... and rows of the other agents send no gradient to agent 2's thresholds.
    net.zero_grad()
    net(x[other], one_hot[other]).pow(2).sum().backward()
    for layer in net.mask_layers():
        assert torch.all(layer.thresholds.grad[2] == 0)
        assert layer.thresholds.grad[agent[other][0]].abs().sum() > 0


def test_thresholds_and_weights_get_the_gradient_of_the_soft_threshold():
    net = _net()
    x, agent, one_hot = _batch()
    net(x, one_hot).pow(2).sum().backward()
    ref = _net()
    _reference(ref, x, agent).pow(2).sum().backward()
    for layer, twin in zip(net.mask_layers(), ref.mask_layers()):
        torch.testing.assert_close(layer.thresholds.grad, twin.thresholds.grad)
        torch.testing.assert_close(layer.weight.grad, twin.weight.grad)
        # masked weights receive no gradient from the agents that mask them
        masked_for_all = ~layer.masks().any(0)
        assert torch.all(layer.weight.grad[masked_for_all] == 0)
        assert layer.thresholds.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "change",
    ["optimizer", "load_state_dict", "data", "copy"],
)
def test_outputs_follow_every_kind_of_parameter_change(change):
    """Acting (no gradients) always uses the current weights, whichever way they were written:
    an optimizer step, ``load_state_dict``, writes through ``.data`` (SB3's ``polyak_update`` of
    target networks, which does not bump version counters) or in-place copies."""
    net, other = _net(), _net()
    with torch.no_grad():
        for layer in other.mask_layers():
            layer.weight.mul_(1.5)
            layer.thresholds.sub_(0.5)
    x, _, one_hot = _batch()
    with torch.no_grad():
        first = net(x, one_hot)
    if change == "optimizer":
        opt = torch.optim.Adam(net.parameters(), lr=0.1)
        net(x, one_hot).sum().backward()
        opt.step()
    elif change == "load_state_dict":
        net.load_state_dict(other.state_dict())
    else:
        for mine, theirs in zip(net.parameters(), other.parameters()):
            if change == "data":
                mine.data.mul_(0.0)
                mine.data.add_(theirs.data)
            else:
                with torch.no_grad():
                    mine.copy_(theirs)
    with torch.no_grad():
        now = net(x, one_hot)
    assert not torch.allclose(now, first)
    torch.testing.assert_close(now, net(x, one_hot).detach())
    if change != "optimizer":
        torch.testing.assert_close(now, other(x, one_hot).detach())


def test_state_dict_round_trip_gives_identical_outputs():
    net = _net(group_of_agent=[0, 0, 1, 2])
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(123)
    fresh = LearnedMaskMLP(5, [8, 8], 3, N_AGENTS, group_of_agent=[0, 0, 1, 2])
    fresh.load_state_dict(torch.load(buffer))
    x, _, one_hot = _batch()
    assert torch.equal(fresh(x, one_hot), net(x, one_hot))
    assert {k for k in net.state_dict() if "thresholds" in k} == {f"hidden.{i}.thresholds" for i in (0, 1)} | {
        "head.thresholds"
    }


def test_threshold_initialisation_follows_the_released_configs():
    torch.manual_seed(0)
    layer = LearnedMaskLinear(64, 64, n_masks=3)
    assert layer.thresholds.shape == (3, 64, 64)
    thresholds = layer.thresholds.detach()
    assert -10.0 <= float(thresholds.min()) and float(thresholds.max()) <= -5.0
    # nearly every weight starts kept, and masks differ only on a few weights
    masks = layer.masks()
    assert 0.9 < float(masks.float().mean()) < 1.0
    assert 0 < int((masks[0] != masks[1]).sum()) < 0.1 * masks[0].numel()


def test_row_groups_place_rows_in_batch_order():
    groups = RowGroups.from_index(torch.tensor([2, 0, 2, 2, 1]), 3)
    assert groups.rank.tolist() == [0, 0, 1, 2, 0] and groups.max_rows == 3
    rows = torch.arange(5.0).unsqueeze(1)
    blocks = groups.scatter(rows)
    assert blocks[2, :, 0].tolist() == [0.0, 2.0, 3.0]
    assert torch.equal(groups.gather(blocks), rows)


def test_conv_rows_use_their_own_masked_kernel():
    torch.manual_seed(0)
    conv = LearnedMaskConv2d(3, 6, 3, n_masks=N_AGENTS, stride=2, padding=1)
    with torch.no_grad():
        conv.thresholds.uniform_(-3.0, -1.0)
    x = torch.randn(9, 3, 7, 7)
    agent = torch.tensor([0, 3, 3, 1, 0, 2, 3, 1, 0])
    out = conv(x, agent)
    ref = torch.cat([
        F.conv2d(x[b : b + 1], soft_threshold(conv.weight, conv.thresholds[a]), conv.bias, 2, 1)
        for b, a in enumerate(agent.tolist())
    ])
    torch.testing.assert_close(out, ref)
    out.pow(2).sum().backward()
    assert conv.thresholds.grad is not None and conv.thresholds.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"group_of_agent": [0, 1, 2]}, "one mask index per agent"),
        ({"group_of_agent": [0, 2, 2, 0]}, r"every index in 0..G-1"),
        ({"group_of_agent": [0, -1, 1, 0]}, "one mask index per agent"),
        ({"threshold_init_scale": -1.0}, "threshold_init_scale must be >= 0"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LearnedMaskMLP(5, [8], 3, N_AGENTS, **kwargs)


def test_bad_number_of_masks_raises():
    with pytest.raises(ValueError, match="LearnedMaskLinear: n_masks must be a positive int"):
        LearnedMaskLinear(3, 2, n_masks=0)
