"""Shared fixtures of the sparse / MAST tests: a tiny agent-identity vec env."""

from __future__ import annotations

import pytest
import torch

import ps_wrappers
from ps_wrappers.testing import AgentIdentityEnv


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _identity_venv(n_envs: int = 2, seed: int = 0):
    """Three agents that see the same observation and must each pick their own action."""
    return ps_wrappers.make_vec_env(
        lambda: AgentIdentityEnv(n_agents=3, n_actions=3, obs_dim=4, max_steps=10),
        n_envs=n_envs,
        seed=seed,
    )


@pytest.fixture
def make_venv():
    """Factory of agent-identity vec envs (closed after the test)."""
    made = []

    def make(n_envs: int = 2, seed: int = 0):
        made.append(_identity_venv(n_envs, seed))
        return made[-1]

    yield make
    for env in made:
        env.close()


@pytest.fixture
def venv(make_venv):
    """A 2-copy, 3-agent agent-identity vec env (6 slots)."""
    return make_venv()
