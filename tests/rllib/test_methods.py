"""Every sharing method trains on RLlib (local Ray, 2 CPUs, one remote env runner).

The identity task (:class:`ps_wrappers.testing.AgentIdentityEnv`: every agent sees the same
observation and agent ``i`` is paid for action ``i``; chance and FuPS score 10 of 40, a perfect
team 40) is learned by every identity-aware method; the runners hold the learner's weights and
masks; fixed masks stay fixed and RigL's topology moves inside RLlib's training; the trained module
exported as its SB3 policy (:func:`policies.rllib.module_policy`) plays as well in
:func:`ps_wrappers.evaluate`; a checkpoint restores weights, masks and RigL's schedule position.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from tests.rllib.conftest import SKIP_REASON

pytest.importorskip("ray.rllib", reason=SKIP_REASON)

import ray.cloudpickle  # noqa: E402
from ray.rllib.core import COMPONENT_LEARNER, COMPONENT_RL_MODULE  # noqa: E402
from ray.rllib.core.rl_module.rl_module import RLModule  # noqa: E402

import ps_wrappers  # noqa: E402
from policies.methods.learned import REGULARIZER_ATTRIBUTE  # noqa: E402
from policies.rllib import (  # noqa: E402
    adaps_module,
    kaleidoscope_module,
    module_policy,
    restore_algorithm,
    seps_module,
    shared_ppo_config,
    snp_ps_module,
    sparse_module,
)
from ps_wrappers.testing import AgentIdentityEnv  # noqa: E402

pytestmark = pytest.mark.usefixtures("ray_cluster")
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

ITERATIONS = 5  # x 1000 env steps
METHODS = {
    "SePS (one network per agent)": seps_module(clusters="agent"),
    "SNP-PS": snp_ps_module(),
    "AdaPS": adaps_module(clusters=[0, 1, 2, 3]),
    "sparse FuPS+id": sparse_module(agent_id=True, sparsity=0.8, update_interval=10),
    "Kaleidoscope": kaleidoscope_module(),
}
EVOLVING = {"sparse FuPS+id"}
"""Methods whose mask buffers change in training (RigL's drop / grow)."""
SCHEDULED = EVOLVING | {"Kaleidoscope"}
"""Methods with optimizer hooks whose schedule position is state (RigL's step, Kaleidoscope's resets)."""


def _learner_state(algo: Any, inference_only: bool = True) -> dict[str, np.ndarray]:
    path = f"{COMPONENT_LEARNER}/{COMPONENT_RL_MODULE}/shared"
    state = algo.learner_group.get_state(components=path, inference_only=inference_only)
    return {k: np.asarray(v).copy() for k, v in state[COMPONENT_LEARNER][COMPONENT_RL_MODULE]["shared"].items()}


def _buffers(algo: Any) -> dict[str, np.ndarray]:
    """The module's non-parameter state (masks, cluster maps, topology counters), learner side."""
    params = {name for name, _ in algo.get_module("shared").named_parameters()}
    return {k: v for k, v in _learner_state(algo).items() if k not in params}


@pytest.fixture(scope="module", params=list(METHODS))
def trained(request: Any) -> Iterator[tuple[str, Any, list[float], dict[str, np.ndarray]]]:
    """A method trained on the identity task: its name, algorithm, returns and buffers before training."""
    name = request.param
    config = shared_ppo_config(
        AgentIdentityEnv, module=METHODS[name], num_env_runners=1, num_envs_per_env_runner=8, seed=0,
        total_env_steps=ITERATIONS * 1000,
    ).training(train_batch_size=1000, minibatch_size=250, num_epochs=4, lr=3e-3)
    algo = config.build_algo()
    before = _buffers(algo)
    returns = [float(algo.train()["env_runners"]["episode_return_mean"]) for _ in range(ITERATIONS)]
    yield name, algo, returns, before
    algo.stop()


def test_identity_aware_methods_learn_the_identity_task(trained: Any) -> None:
    name, _, returns, _ = trained
    # Chance (and FuPS, see test_training) is 10 of 40.
    assert returns[-1] >= 24.0 and returns[-1] > returns[0] + 10.0, (name, returns)


def test_runners_hold_the_learners_weights_and_masks(trained: Any) -> None:
    _, algo, _, _ = trained
    learner = _learner_state(algo)
    assert not any(k.startswith("vf") for k in learner)
    remote = algo.env_runner_group.foreach_env_runner(lambda r: r.module["shared"].get_state(), local_env_runner=False)
    for state in [*remote, algo.env_runner.module["shared"].get_state()]:
        assert set(state) == set(learner)
        for key, value in learner.items():
            np.testing.assert_array_equal(np.asarray(state[key]), value, err_msg=key)


def test_fixed_masks_stay_fixed_and_rigl_moves_its_topology(trained: Any) -> None:
    name, algo, _, before = trained
    after = _buffers(algo)
    assert set(after) == set(before)
    masks = [k for k in before if "mask" in k.rsplit(".", 1)[-1]]
    if name in ("SNP-PS", "AdaPS", "sparse FuPS+id"):
        assert masks, sorted(before)
    changed = [k for k in masks if not np.array_equal(before[k], after[k])]
    if name in EVOLVING:
        assert changed, "RigL never changed a mask inside RLlib's training"
        assert all(before[k].sum() == after[k].sum() for k in masks)  # drop = grow: each layer keeps its density
        assert abs(algo.get_module("shared").sparse_topology.sparsity() - 0.8) < 0.01
    else:
        assert changed == []


def test_the_exported_sb3_policy_plays_as_the_trained_module(trained: Any) -> None:
    name, algo, _, _ = trained
    policy = module_policy(algo, AgentIdentityEnv)
    greedy = ps_wrappers.evaluate(policy, AgentIdentityEnv, 5, seed=100).mean_team_return
    assert greedy >= 30.0, (name, greedy)  # greedy play of a policy that learned the identity


def test_checkpoint_round_trip_keeps_weights_masks_and_schedule(trained: Any, tmp_path: Any) -> None:
    name, algo, _, _ = trained
    state = _learner_state(algo, inference_only=False)
    algo.save(str(tmp_path))
    # The learner's module alone, its class imported by name (policies.rllib.module). Kaleidoscope's
    # regulariser is the learner's (attached to its optimizer), so a bare module has no such state.
    module = RLModule.from_checkpoint(str(tmp_path / "learner_group" / "learner" / "rl_module" / "shared"))
    alone = {k: np.asarray(v) for k, v in module.get_state().items()}
    assert set(alone) == {k for k in state if not k.startswith(f"{REGULARIZER_ATTRIBUTE}.")}, name
    for key, value in alone.items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)
    if name not in SCHEDULED:
        return
    # The whole algorithm: its learner re-attaches the optimizer hooks, then loads their state.
    restored = restore_algorithm(str(tmp_path))
    try:
        again = _learner_state(restored, inference_only=False)
    finally:
        restored.stop()
    assert set(again) == set(state)
    for key, value in state.items():
        np.testing.assert_array_equal(again[key], value, err_msg=key)
    counter = "sparse_topology.step" if name in EVOLVING else f"{REGULARIZER_ATTRIBUTE}.step"
    assert int(again[counter]) > 0  # the schedule position travelled with the weights
