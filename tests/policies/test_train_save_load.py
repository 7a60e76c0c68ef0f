"""Every class trains with its algorithm on simple_world_comm_v3 and survives save / load."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3 import A2C, DQN, PPO

import ps_wrappers
from policies import (
    FullSharingPolicy,
    FullSharingQPolicy,
    MaskedDQN,
    MaskedExplorationWarning,
    PrunedMaskPolicy,
    PrunedMaskQPolicy,
    SelectiveSharingPolicy,
    SelectiveSharingQPolicy,
)

ALGO_KWARGS = {
    PPO: {"n_steps": 16, "batch_size": 64, "n_epochs": 2},
    A2C: {"n_steps": 4},
    MaskedDQN: {"learning_starts": 48, "buffer_size": 1000, "train_freq": 4, "target_update_interval": 50},
}
CASES = [(algo, cls) for algo in (PPO, A2C) for cls in (FullSharingPolicy, SelectiveSharingPolicy, PrunedMaskPolicy)]
CASES += [(MaskedDQN, cls) for cls in (FullSharingQPolicy, SelectiveSharingQPolicy, PrunedMaskQPolicy)]


def _buffers(policy: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: b.clone() for name, b in policy.named_buffers()}


@pytest.mark.parametrize(("algo", "cls"), CASES, ids=[f"{a.__name__}-{c.__name__}" for a, c in CASES])
def test_trains_on_world_comm_and_save_load_restores_actions_masks_and_clusters(algo, cls, world_comm_venv, tmp_path):
    venv = world_comm_venv()
    model = algo(cls, venv, seed=0, **ALGO_KWARGS[algo])
    model.learn(300)
    assert model.num_timesteps >= 300
    obs = np.concatenate([venv.reset()] + [venv.step(model.predict(venv.reset())[0])[0] for _ in range(2)])
    actions, _ = model.predict(obs, deterministic=True)
    buffers = _buffers(model.policy)
    model.save(tmp_path / "model")
    torch.manual_seed(123)  # a different RNG state: masks drawn at construction would differ
    loaded = algo.load(tmp_path / "model", env=venv)
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], actions)
    loaded_buffers = _buffers(loaded.policy)
    assert loaded_buffers.keys() == buffers.keys()
    for name, value in buffers.items():
        torch.testing.assert_close(loaded_buffers[name], value, msg=name)
    if cls in (SelectiveSharingPolicy, SelectiveSharingQPolicy):
        clusters = [v for k, v in loaded_buffers.items() if k.endswith("cluster_of_agent")]
        assert clusters and all(c.tolist() == [0, 1, 1, 1, 2, 2] for c in clusters)  # by type
    # Policy-only save / load (constructor parameters) gives the same actions too.
    model.policy.save(tmp_path / "policy")
    policy = cls.load(tmp_path / "policy")
    np.testing.assert_array_equal(policy.predict(obs, deterministic=True)[0], actions)


def test_pruned_masks_depend_on_the_model_seed(world_comm_venv):
    venv = world_comm_venv()
    masks = [
        PPO(PrunedMaskPolicy, venv, seed=s).policy.policy_network.agent_masks()[1] for s in (0, 0, 1)
    ]
    torch.testing.assert_close(masks[0], masks[1])
    assert not torch.equal(masks[0], masks[2])


def test_stock_dqn_works_when_the_env_replaces_invalid_actions_and_warns(world_comm_venv):
    simple_world_comm_v3 = pytest.importorskip("mpe2.simple_world_comm_v3")
    venv = ps_wrappers.make_vec_env(simple_world_comm_v3.parallel_env, n_envs=1, seed=0, invalid_action="random_valid")
    with pytest.warns(MaskedExplorationWarning, match="MaskedDQN"):
        DQN(FullSharingQPolicy, venv, learning_starts=24, train_freq=2, seed=0).learn(60)
