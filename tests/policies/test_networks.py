"""The agent-conditioned networks: masked-neuron gradients, shared-neuron learning, routing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from policies.core.heads import NeuronMaskedMLP, RoutedMLP, SharedMLP
from policies.methods.masks import adaps_masks, default_pruning, resolve_pruning, snp_ps_masks

N_AGENTS = 3


def _one_hot(agent: list[int]) -> torch.Tensor:
    return torch.eye(N_AGENTS)[torch.as_tensor(agent)]


def _masked_net() -> NeuronMaskedMLP:
    masks = [
        torch.tensor([[1.0, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]),
        # neuron 0: pruned for agent 0 only; neuron 1: pruned for agents 1 and 2; 2, 3: shared by all
        torch.tensor([[0.0, 1, 1, 1], [1, 0, 1, 1], [1, 0, 1, 1]]),
    ]
    torch.manual_seed(0)
    return NeuronMaskedMLP(5, [4, 4], 2, N_AGENTS, masks, group_of_agent=[0, 1, 2])


def _grads_from(net: nn.Module, agent: int) -> dict[str, torch.Tensor]:
    net.zero_grad()
    x = torch.randn(8, 5, generator=torch.Generator().manual_seed(agent))
    net(x, _one_hot([agent] * 8)).pow(2).sum().backward()
    return {name: p.grad.clone() for name, p in net.named_parameters()}


def test_masked_neurons_get_zero_gradient_from_the_agents_that_prune_them():
    net = _masked_net()
    g0, g1, g2 = (_grads_from(net, a) for a in range(3))
    # Neuron 0 of the second hidden layer: incoming weights, bias and outgoing weights.
    assert torch.all(g0["hidden.1.weight"][0] == 0) and g0["hidden.1.bias"][0] == 0
    assert torch.all(g0["head.weight"][:, 0] == 0)
    for g in (g1, g2):
        assert torch.all(g["hidden.1.weight"][1] == 0) and g["hidden.1.bias"][1] == 0
        assert torch.all(g["head.weight"][:, 1] == 0)
    # ... while the agents that keep them do train them.
    assert g1["hidden.1.weight"][0].abs().sum() > 0 and g2["hidden.1.weight"][0].abs().sum() > 0
    assert g0["hidden.1.weight"][1].abs().sum() > 0


def test_shared_neurons_learn_from_every_agent_that_shares_them():
    net = _masked_net()
    per_agent = [_grads_from(net, a)["hidden.1.weight"][2] for a in range(3)]
    assert all(g.abs().sum() > 0 for g in per_agent)
    net.zero_grad()
    x = torch.cat([torch.randn(8, 5, generator=torch.Generator().manual_seed(a)) for a in range(3)])
    net(x, _one_hot([0] * 8 + [1] * 8 + [2] * 8)).pow(2).sum().backward()
    joint = net.hidden[1].weight.grad[2]
    torch.testing.assert_close(joint, sum(per_agent))


def test_masked_net_rows_equal_a_dense_net_with_the_agent_mask_applied():
    net = _masked_net()
    x = torch.randn(6, 5)
    agents = [0, 1, 2, 2, 1, 0]
    out = net(x, _one_hot(agents))
    for row, agent in enumerate(agents):
        h = x[row]
        for layer, mask in zip(net.hidden, net.agent_masks()):
            h = torch.tanh(layer(h)) * mask[agent]
        torch.testing.assert_close(out[row], net.head(h))


def test_masks_are_buffers_without_gradient_in_the_state_dict():
    net = _masked_net()
    state = net.state_dict()
    assert {"group_of_agent", "neuron_mask_0", "neuron_mask_1"} <= set(state)
    assert all(not b.requires_grad for b in net.buffers())
    assert {n for n, _ in net.named_parameters()}.isdisjoint({"neuron_mask_0", "neuron_mask_1"})


def test_agent_id_adds_n_times_width_parameters():
    plain = SharedMLP(5, [16, 16], 2, N_AGENTS)
    with_id = SharedMLP(5, [16, 16], 2, N_AGENTS, agent_id=True)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(with_id) - count(plain) == N_AGENTS * 16
    x = torch.randn(3, 5)
    assert not torch.allclose(with_id(x, _one_hot([0, 0, 0]))[0], with_id(x, _one_hot([1, 1, 1]))[0])
    torch.testing.assert_close(plain(x, _one_hot([0, 1, 2])), plain(x, _one_hot([2, 2, 2])))


@pytest.mark.parametrize("batch", [4, 300])
@pytest.mark.parametrize("route_all_max_rows", [0, 10**6])
def test_routed_rows_use_their_cluster_network_in_both_routing_modes(batch, route_all_max_rows):
    torch.manual_seed(0)
    net = RoutedMLP(5, [8], 2, N_AGENTS, cluster_of_agent=[0, 1, 0], route_all_max_rows=route_all_max_rows)
    x = torch.randn(batch, 5)
    agents = torch.randint(0, N_AGENTS, (batch,)).tolist()
    out = net(x, _one_hot(agents))
    expected = torch.stack([net.nets[[0, 1, 0][a]](x[i : i + 1], _one_hot([a]))[0] for i, a in enumerate(agents)])
    torch.testing.assert_close(out, expected)


def test_routed_clusters_do_not_share_gradients():
    torch.manual_seed(0)
    net = RoutedMLP(5, [8], 2, N_AGENTS, cluster_of_agent=[0, 1, 1])
    net(torch.randn(4, 5), _one_hot([1, 2, 1, 2])).sum().backward()
    assert all(p.grad is None or torch.all(p.grad == 0) for p in net.nets[0].parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.nets[1].parameters())


def test_every_layer_is_a_plain_linear_and_can_be_replaced():
    class Tagged(nn.Linear):
        pass

    def swap(layer: nn.Linear) -> nn.Linear:
        new = Tagged(layer.in_features, layer.out_features)
        new.load_state_dict(layer.state_dict())
        return new

    for net in (_masked_net(), RoutedMLP(5, [8, 8], 2, N_AGENTS, [0, 1, 2]), SharedMLP(5, [8], 2, N_AGENTS)):
        x, oh = torch.randn(3, 5), _one_hot([0, 1, 2])
        before = net(x, oh)
        n_linear = len(net.linear_layers())
        assert n_linear == sum(isinstance(m, nn.Linear) for m in net.modules())
        net.replace_linear(swap)
        assert len(net.linear_layers()) == n_linear and all(isinstance(m, Tagged) for m in net.linear_layers())
        torch.testing.assert_close(net(x, oh), before)


def test_snp_ps_masks_prune_a_fixed_number_of_neurons_per_agent_and_layer():
    masks = snp_ps_masks(5, [10, 64], [0.0, 0.25], seed=3)
    assert [m.shape for m in masks] == [(5, 10), (5, 64)]
    assert torch.all(masks[0] == 1)
    assert torch.all(masks[1].sum(1) == 64 - 16)
    assert len({tuple(row.tolist()) for row in masks[1]}) == 5  # independent draws per agent
    torch.testing.assert_close(masks[1], snp_ps_masks(5, [10, 64], [0.0, 0.25], seed=3)[1])


def test_default_pruning_follows_the_paper_table():
    assert default_pruning(3, "pi") == (0.0, 0.1, 0.1)  # LBF actors 0-0.1-0.1
    assert default_pruning(3, "vf") == (0.0, 0.1, 0.9)  # LBF critics 0-0.1-0.9
    assert default_pruning(2, "q") == (0.0, 0.1)  # SMAC (QMIX) 0-0.1
    assert resolve_pruning(0.5, [4, 4], "pi", "P", "actor_pruning") == (0.5, 0.5)


@pytest.mark.parametrize(
    ("ratios", "match"),
    [([0.1], r"P: actor_pruning must give one pruning ratio per hidden layer \[8, 8\]"), ([0.1, 1.0], r"in \[0, 1\)")],
)
def test_invalid_pruning_ratios_are_rejected(ratios, match):
    with pytest.raises(ValueError, match=match):
        resolve_pruning(ratios, [8, 8], "pi", "P", "actor_pruning")


def test_adaps_masks_threshold_the_sigmoid_of_a_fixed_random_mapping():
    centres = np.array([[0.0, 1.0], [2.0, -1.0], [5.0, 3.0]])
    masks = adaps_masks(centres, [64, 64], seed=0)
    again = adaps_masks(centres * 10.0, [64, 64], seed=0)  # scale-free: centres are standardised
    for m, m2 in zip(masks, again):
        torch.testing.assert_close(m, m2)
    kept = torch.cat(masks, dim=1)
    assert set(kept.unique().tolist()) <= {0.0, 1.0}
    assert 0.05 < 1 - kept.mean() < 0.5  # a sizeable share of neurons is dropped per cluster
    assert len({tuple(row.tolist()) for row in kept}) == 3  # distinct subnetworks per cluster
    looser = torch.cat(adaps_masks(centres, [64, 64], seed=0, threshold=0.6), dim=1)
    assert torch.all(looser <= kept) and looser.sum() < kept.sum()  # a larger lambda drops more


def test_loading_other_masks_updates_the_forward_pass():
    dense_first = _masked_net()  # layer 0 unpruned: its mask is skipped in the forward pass
    other = NeuronMaskedMLP(
        5, [4, 4], 2, N_AGENTS, [torch.tensor([[0.0, 1, 1, 1]] * 3), torch.ones(3, 4)], group_of_agent=[0, 1, 2]
    )
    dense_first.load_state_dict(other.state_dict())
    x, oh = torch.randn(3, 5), _one_hot([0, 1, 2])
    torch.testing.assert_close(dense_first(x, oh), other(x, oh))
    h = torch.tanh(dense_first.hidden[0](x))
    assert torch.all(dense_first.agent_masks()[0][:, 0] == 0) and h[:, 0].abs().sum() > 0
