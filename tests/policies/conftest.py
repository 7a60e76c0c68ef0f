"""Fixtures of the policy tests: vec envs over the agent-identity task and simple_world_comm."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

import ps_wrappers
from ps_wrappers.testing import AgentIdentityEnv

torch.set_num_threads(1)


@pytest.fixture
def identity_venv() -> Callable[..., object]:
    """Factory of vec envs over the agent-identity task."""

    def make(n_envs: int = 4, seed: int = 0) -> object:
        return ps_wrappers.make_vec_env(
            lambda: AgentIdentityEnv(n_agents=4, n_actions=4, obs_dim=4, max_steps=10), n_envs=n_envs, seed=seed
        )

    return make


@pytest.fixture
def world_comm_venv() -> Callable[..., object]:
    """Factory of vec envs over mpe2's heterogeneous simple_world_comm_v3."""
    simple_world_comm_v3 = pytest.importorskip("mpe2.simple_world_comm_v3")

    def make(n_envs: int = 2, seed: int = 0) -> object:
        return ps_wrappers.make_vec_env(simple_world_comm_v3.parallel_env, n_envs=n_envs, seed=seed)

    return make
