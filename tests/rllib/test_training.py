"""PPO on a local Ray cluster (2 CPUs, one remote env runner): what parameter sharing needs.

The identity task, dying agents and a padded heterogeneous env under an action audit; learner and
runner weights agree; a checkpoint restores in a fresh algorithm that acts identically; two runs
with one seed are identical.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.rllib.conftest import SKIP_REASON

pytest.importorskip("ray.rllib", reason=SKIP_REASON)

import ray.cloudpickle  # noqa: E402
from mpe2 import simple_world_comm_v3  # noqa: E402
from ray.rllib.core.columns import Columns  # noqa: E402

from policies.rllib import fups_module, restore_algorithm, shared_ppo_config  # noqa: E402
from ps_wrappers.rllib import ID_KEY, MASK_KEY, OBS_KEY  # noqa: E402
from ps_wrappers.testing import AgentIdentityEnv, DyingAgentsEnv, action_audit  # noqa: E402

pytestmark = pytest.mark.usefixtures("ray_cluster")
# The env factories below travel to the env runners by value: pytest imports this file under a
# module name that Ray's workers cannot import.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

ITERATIONS = 8  # x 1000 env steps (4 agents, 10-step episodes: a perfect team scores 40)
SNAPSHOT = 2  # iteration after which the learner weights are kept for the reproducibility test


def _identity_config(agent_id: bool, seed: int = 0) -> Any:
    return shared_ppo_config(
        AgentIdentityEnv, module=fups_module(agent_id=agent_id), num_env_runners=1, num_envs_per_env_runner=8, seed=seed
    ).training(train_batch_size=1000, minibatch_size=250, num_epochs=4, lr=3e-3)


def _weights(algo: Any) -> dict[str, np.ndarray]:
    return {k: np.asarray(v).copy() for k, v in algo.learner_group.get_weights()["shared"].items()}


def _return(result: dict) -> float:
    return float(result["env_runners"]["episode_return_mean"])


@pytest.fixture(scope="module")
def fups_id_run() -> Iterator[tuple[Any, list[float], dict[str, np.ndarray]]]:
    """FuPS+id trained on the identity task; its returns and the weights after SNAPSHOT iterations."""
    algo = _identity_config(agent_id=True).build_algo()
    returns: list[float] = []
    snapshot: dict[str, np.ndarray] = {}
    for i in range(ITERATIONS):
        returns.append(_return(algo.train()))
        if i + 1 == SNAPSHOT:
            snapshot = _weights(algo)
    yield algo, returns, snapshot
    algo.stop()


def _identity_batch(n_obs: int = 64, n_agents: int = 4) -> tuple[dict, torch.Tensor]:
    """Every observation shown to every agent (as in the env), with ids and full masks."""
    obs = torch.rand(n_obs, 4, generator=torch.Generator().manual_seed(0)) * 2 - 1
    features = obs.repeat_interleave(n_agents, 0)
    agents = torch.arange(n_agents).repeat(n_obs)
    batch = {
        Columns.OBS: {
            OBS_KEY: features,
            MASK_KEY: torch.ones(len(agents), 4),
            ID_KEY: torch.nn.functional.one_hot(agents, n_agents).float(),
        }
    }
    return batch, agents


def _greedy_accuracy(algo: Any) -> float:
    batch, agents = _identity_batch()
    with torch.no_grad():
        logits = algo.get_module("shared").forward_inference(batch)[Columns.ACTION_DIST_INPUTS]
    return float((logits.argmax(-1) == agents).float().mean())


def test_identity_task_fups_stays_at_chance_and_fups_id_learns(fups_id_run: Any) -> None:
    fups = _identity_config(agent_id=False).build_algo()
    try:
        fups_returns = [_return(fups.train()) for _ in range(ITERATIONS)]
        fups_accuracy = _greedy_accuracy(fups)
    finally:
        fups.stop()
    algo, returns, _ = fups_id_run
    # Chance is 10 of 40; FuPS cannot do better (one action for identical observations).
    assert max(fups_returns[-3:]) < 14.0 and fups_accuracy <= 0.25
    assert returns[-1] >= 27.0 and returns[-1] > returns[0] + 12.0
    assert _greedy_accuracy(algo) >= 0.9


def test_learner_and_runner_weights_are_equal(fups_id_run: Any) -> None:
    algo, _, _ = fups_id_run
    learner = _weights(algo)
    acting = {k: v for k, v in learner.items() if not k.startswith("vf.")}
    runners = algo.env_runner_group.foreach_env_runner(lambda r: r.module["shared"].get_state(), local_env_runner=False)
    assert len(runners) == 1 and any(k.startswith("vf.") for k in learner)
    for state in [*runners, algo.env_runner.module["shared"].get_state()]:
        assert set(state) == set(acting)  # runners are inference-only: no critic
        for key, value in acting.items():
            np.testing.assert_array_equal(np.asarray(state[key]), value, err_msg=key)


_RESTORE_MODULE = """
import sys, numpy as np, torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModule
module = RLModule.from_checkpoint(sys.argv[1])
obs = {k: torch.as_tensor(v) for k, v in np.load(sys.argv[2]).items()}
with torch.no_grad():
    out = module.forward_inference({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
np.save(sys.argv[3], out.numpy())
print(type(module).__module__)
"""


def test_checkpoint_restores_in_a_fresh_algorithm_that_acts_identically(fups_id_run: Any, tmp_path: Any) -> None:
    algo, _, _ = fups_id_run
    batch, _ = _identity_batch()
    np.savez(tmp_path / "obs.npz", **{k: v.numpy() for k, v in batch[Columns.OBS].items()})
    with tempfile.TemporaryDirectory() as path:
        algo.save(path)
        # The module alone, in a fresh Python process: its class is imported by name.
        module_dir = Path(path) / "learner_group" / "learner" / "rl_module" / "shared"
        out = subprocess.run(
            [sys.executable, "-c", _RESTORE_MODULE, str(module_dir), str(tmp_path / "obs.npz"), str(tmp_path / "out.npy")],
            capture_output=True, text=True, timeout=300,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip().splitlines()[-1] == "policies.rllib.module"
        elsewhere = np.load(tmp_path / "out.npy")
        restored = restore_algorithm(path)
    try:
        for key, value in _weights(algo).items():
            np.testing.assert_array_equal(_weights(restored)[key], value, err_msg=key)
        with torch.no_grad():
            before = algo.get_module("shared").forward_inference(batch)[Columns.ACTION_DIST_INPUTS]
            after = restored.get_module("shared").forward_inference(batch)[Columns.ACTION_DIST_INPUTS]
        assert torch.equal(before, after)
        np.testing.assert_array_equal(elsewhere, before.numpy())
        remote = restored.env_runner_group.foreach_env_runner(lambda r: r.module["shared"].get_state(), local_env_runner=False)
        np.testing.assert_array_equal(np.asarray(remote[0]["pi.head.weight"]), _weights(algo)["pi.head.weight"])
    finally:
        restored.stop()


def test_same_seed_runs_are_identical(fups_id_run: Any) -> None:
    _, returns, snapshot = fups_id_run
    again = _identity_config(agent_id=True).build_algo()
    try:
        repeat = [_return(again.train()) for _ in range(SNAPSHOT)]
        weights = _weights(again)
    finally:
        again.stop()
    assert repeat == returns[:SNAPSHOT]
    for key, value in snapshot.items():
        np.testing.assert_array_equal(weights[key], value, err_msg=key)


def _audits(runner: Any) -> list[tuple[int, list[str]]]:
    out = []
    for vector_env in runner.env.envs:
        env = vector_env.unwrapped.pettingzoo_env
        while not hasattr(env, "violations"):
            env = env.env
        out.append((env.received, list(env.violations)))
    return out


def _audited_swc() -> Any:
    return action_audit(simple_world_comm_v3.parallel_env(max_cycles=25))


def test_padded_heterogeneous_env_never_receives_an_invalid_action() -> None:
    config = shared_ppo_config(_audited_swc, num_env_runners=1, num_envs_per_env_runner=2, seed=0, normalize=True)
    algo = config.training(train_batch_size=400, minibatch_size=200, num_epochs=2).build_algo()
    try:
        algo.train()
        audits = algo.env_runner_group.foreach_env_runner(_audits, local_env_runner=False)[0]
        filter_state = algo.env_runner._env_to_module.get_state()["SlotMeanStdFilter"][None]
    finally:
        algo.stop()
    assert [received > 0 for received, _ in audits] == [True, True]
    assert [violations for _, violations in audits] == [[], []]
    # The runner's feature statistics reached the algorithm's own connector (merged states).
    assert filter_state["running_stats"][0]["num_pushes"] >= 400


def _audited_dying() -> Any:
    return action_audit(DyingAgentsEnv(lifetimes=(3, 5, 8), max_steps=6))


def test_dying_agents_train_without_ghost_actions() -> None:
    config = shared_ppo_config(_audited_dying, num_env_runners=1, num_envs_per_env_runner=2, seed=0)
    algo = config.training(train_batch_size=120, minibatch_size=60, num_epochs=1).build_algo()
    try:
        result = algo.train()
        audits = algo.env_runner_group.foreach_env_runner(_audits, local_env_runner=False)[0]
    finally:
        algo.stop()
    # Each agent earns 1 per step alive: lifetimes 3 and 5, agent_2 cut at 6 steps.
    assert result["env_runners"]["agent_episode_returns_mean"] == {"agent_0": 3.0, "agent_1": 5.0, "agent_2": 6.0}
    assert [violations for _, violations in audits] == [[], []] and all(r > 0 for r, _ in audits)
