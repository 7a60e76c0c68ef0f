"""Mask statistics, and a learning test: agents that need different functions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from policies import SharedMLP
from policies.learned.layers import LearnedMaskMLP
from policies.learned.regularizer import KaleidoscopeRegularizer
from policies.learned.stats import mask_statistics
from ps_toolkit.plots import mask_overlap


def _hand_masked() -> LearnedMaskMLP:
    """One 1 x 4 layer, weights 0.5; agents keep {0,1,2,3}, {0,1}, {0,1}, {} respectively."""
    net = LearnedMaskMLP(4, [], 1, 4)
    keep, drop = -10.0, 10.0
    with torch.no_grad():
        net.head.weight.fill_(0.5)
        net.head.thresholds.copy_(
            torch.tensor([[[keep] * 4], [[keep, keep, drop, drop]], [[keep, keep, drop, drop]], [[drop] * 4]])
        )
    return net


def test_statistics_of_hand_made_masks():
    stats = mask_statistics(_hand_masked())
    np.testing.assert_allclose(stats.density, [1.0, 0.5, 0.5, 0.0])
    np.testing.assert_allclose(stats.overlap[0], [1.0, 0.5, 0.5, 0.0])
    np.testing.assert_allclose(stats.overlap[1, 2], 1.0)
    np.testing.assert_allclose(stats.overlap[3, 3], 1.0)  # two empty masks are equal
    np.testing.assert_allclose(stats.distance[0], [0.0, 0.5, 0.5, 1.0])
    assert stats.dead_fraction == 0.0 and stats.n_weights == 4
    summary = stats.as_dict()
    assert summary["masks/density"] == pytest.approx(0.5)
    assert summary["masks/distance"] == pytest.approx(np.mean([0.5, 0.5, 1.0, 0.0, 0.5, 0.5]))


def test_statistics_are_per_agent_with_a_group_map_and_fit_the_overlap_plot():
    net = LearnedMaskMLP(4, [6], 2, 3, group_of_agent=[0, 1, 0])
    stats = mask_statistics(net)
    assert stats.overlap.shape == (3, 3) and stats.overlap[0, 2] == 1.0
    assert stats.layer_density.shape == (3, 2)
    # the SNP-PS figure's overlap measure reads the same per-agent masks
    np.testing.assert_allclose(mask_overlap(net), stats.overlap)


def test_statistics_need_learned_masks():
    with pytest.raises(TypeError, match="mask_statistics: SharedMLP has no learned-mask layer"):
        mask_statistics(SharedMLP(4, [6], 2, 3))


def test_learned_masks_beat_one_shared_network_when_agents_need_different_functions():
    """Four agents, the same inputs, four different targets ``tanh(A_i x)``; both networks get
    the agent one-hot and have the same weights (16-16); learned masks (with the diversity term)
    must reach a clearly lower error than FuPS+id after the same 1,000 Adam steps."""
    n_agents, dim, out = 4, 8, 4
    maps = torch.randn(n_agents, out, dim, generator=torch.Generator().manual_seed(100))

    def sample(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = torch.randn(n, dim, generator=gen)
        agent = torch.randint(n_agents, (n,), generator=gen)
        return x, torch.eye(n_agents)[agent], torch.tanh(torch.einsum("bod,bd->bo", maps[agent], x))

    def test_error(kind: str) -> float:
        torch.manual_seed(0)
        if kind == "shared":
            net: torch.nn.Module = SharedMLP(dim, [16, 16], out, n_agents, agent_id=True)
        else:
            net = LearnedMaskMLP(dim, [16, 16], out, n_agents, agent_id=True)
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        if kind == "masks":
            KaleidoscopeRegularizer([net], opt)
        gen = torch.Generator().manual_seed(0)
        for _ in range(1000):
            x, one_hot, y = sample(128, gen)
            opt.zero_grad()
            (net(x, one_hot) - y).pow(2).mean().backward()
            opt.step()
        x, one_hot, y = sample(4096, torch.Generator().manual_seed(999))
        with torch.no_grad():
            return float((net(x, one_hot) - y).pow(2).mean())

    shared, masks = test_error("shared"), test_error("masks")
    assert masks < 0.75 * shared, (masks, shared)
