"""Soft Mellowmax (MAST Eq. 3-4) and truncated TD(lambda) returns (Eqs. 5-7) against hand values."""

from __future__ import annotations

import math

import pytest
import torch

from policies.mast.targets import lambda_returns, mellowmax, soft_mellowmax


def _hand_lambda_return(rewards, values, terminal_last, length, gamma, lam):
    """(1 - lam) sum_{n<L} lam^(n-1) T^(n) + lam^(L-1) T^(L), with T^(n) written out."""

    def n_step(n):
        ret = sum(gamma**i * rewards[i] for i in range(n))
        bootstrap = 0.0 if (n == length and terminal_last) else values[n - 1]
        return ret + gamma**n * bootstrap

    head = sum((1 - lam) * lam ** (n - 1) * n_step(n) for n in range(1, length))
    return head + lam ** (length - 1) * n_step(length)


@pytest.mark.parametrize("lam", [0.0, 0.6, 0.8, 1.0])
@pytest.mark.parametrize("length,terminal", [(1, False), (3, False), (4, True), (4, False)])
def test_lambda_return_matches_hand_computation(lam, length, terminal):
    gamma = 0.9
    rewards = [1.0, -0.5, 2.0, 0.25]
    values = [3.0, 1.5, -1.0, 4.0]
    terminals = [0.0] * 4
    if terminal:
        terminals[length - 1] = 1.0
    got = lambda_returns(
        torch.tensor([rewards]),
        torch.tensor([values]),
        torch.tensor([terminals]),
        torch.tensor([length]),
        gamma,
        lam,
    )
    assert got.item() == pytest.approx(
        _hand_lambda_return(rewards, values, terminal, length, gamma, lam)
    )


def test_lambda_return_numbers_written_out():
    # L = 2, lam = 0.5, gamma = 0.5: 0.5 * (1 + 0.5 * 4) + 0.5 * (1 + 0.5 * 2 + 0.25 * 8) = 3.5
    got = lambda_returns(
        torch.tensor([[1.0, 2.0, 9.0]]),
        torch.tensor([[4.0, 8.0, 9.0]]),
        torch.zeros(1, 3),
        torch.tensor([2]),
        0.5,
        0.5,
    )
    assert got.item() == pytest.approx(3.5)


def test_lambda_zero_is_the_one_step_target_and_entries_past_the_window_are_ignored():
    rewards = torch.tensor([[1.0, 100.0], [2.0, 100.0]])
    values = torch.tensor([[5.0, 100.0], [7.0, 100.0]])
    terminals = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    got = lambda_returns(rewards, values, terminals, torch.tensor([2, 1]), 0.99, 0.0)
    assert got.tolist() == pytest.approx([1.0 + 0.99 * 5.0, 2.0])


def test_soft_mellowmax_approaches_max_for_large_omega():
    q = torch.tensor([[1.0, 2.0, 3.5], [-4.0, 0.0, -1.0]])
    for omega in (1e3, 1e5):
        assert soft_mellowmax(q, omega=omega, alpha=1.0).tolist() == pytest.approx(
            [3.5, 0.0], abs=2e-3
        )
    assert (soft_mellowmax(q, omega=10.0) <= q.max(-1).values + 1e-6).all()


def test_soft_mellowmax_with_alpha_zero_is_mellowmax():
    q = torch.tensor([[1.0, 2.0, 3.5, -0.5]])
    omega = 2.0
    hand = math.log(sum(math.exp(omega * v) for v in q[0].tolist()) / 4) / omega
    assert soft_mellowmax(q, omega=omega, alpha=0.0).item() == pytest.approx(hand)
    assert mellowmax(q, omega=omega).item() == pytest.approx(hand)


def test_soft_mellowmax_equation_3_written_out():
    q = [0.5, -1.0, 2.0]
    alpha, omega = 1.0, 3.0
    z = sum(math.exp(alpha * v) for v in q)
    hand = math.log(sum(math.exp(alpha * v) / z * math.exp(omega * v) for v in q)) / omega
    assert soft_mellowmax(torch.tensor([q]), omega=omega, alpha=alpha).item() == pytest.approx(hand)


def test_mellowmax_of_small_omega_is_the_mean_and_invalid_actions_are_left_out():
    q = torch.tensor([[1.0, 2.0, 6.0, 1e4]])
    valid = torch.tensor([[True, True, True, False]])
    assert mellowmax(q, omega=1e-4, valid=valid).item() == pytest.approx(3.0, abs=1e-3)
    assert soft_mellowmax(q, omega=1e4, valid=valid).item() == pytest.approx(6.0, abs=1e-3)


def test_soft_mellowmax_is_stable_for_large_values():
    q = torch.tensor([[1e4, 1e4 - 1.0]])
    assert torch.isfinite(soft_mellowmax(q, omega=10.0)).all()


def test_soft_mellowmax_rejects_non_positive_omega():
    with pytest.raises(ValueError, match=r"soft_mellowmax: omega must be > 0, got 0"):
        soft_mellowmax(torch.zeros(1, 2), omega=0)
