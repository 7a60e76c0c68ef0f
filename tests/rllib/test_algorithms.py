"""APPO and IMPALA train the same sharing module as PPO; image observations go through the method's CNN trunk.

Local Ray, 2 CPUs, one remote env runner each (APPO / IMPALA add one remote learner).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
import pytest

from tests.rllib.conftest import SKIP_REASON

pytest.importorskip("ray.rllib", reason=SKIP_REASON)

import ray.cloudpickle  # noqa: E402
from ray.rllib.core import COMPONENT_LEARNER, COMPONENT_RL_MODULE  # noqa: E402

from policies.rllib import shared_config, shared_ppo_config, snp_ps_module  # noqa: E402
from ps_wrappers.testing import AgentIdentityEnv, ImageIdentityEnv  # noqa: E402

pytestmark = pytest.mark.usefixtures("ray_cluster")
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _learner_state(algo: Any) -> dict[str, np.ndarray]:
    path = f"{COMPONENT_LEARNER}/{COMPONENT_RL_MODULE}/shared"
    state = algo.learner_group.get_state(components=path, inference_only=True)
    return {k: np.asarray(v).copy() for k, v in state[COMPONENT_LEARNER][COMPONENT_RL_MODULE]["shared"].items()}


@pytest.mark.parametrize("algorithm", ["APPO", "IMPALA"])
def test_appo_and_impala_train_the_same_module(algorithm: str) -> None:
    config = shared_config(
        AgentIdentityEnv, algorithm=algorithm, module=snp_ps_module(), num_env_runners=1, num_envs_per_env_runner=4, seed=0
    ).training(train_batch_size_per_learner=200).reporting(min_time_s_per_iteration=1)
    algo = config.build_algo()
    try:
        initial = _learner_state(algo)
        sampled = trained_rows = 0
        deadline = time.monotonic() + 60  # asynchronous: the first iterations may return before any update
        while (not sampled or not trained_rows) and time.monotonic() < deadline:
            result = algo.train()
            sampled = int(result["env_runners"].get("num_env_steps_sampled_lifetime", 0) or 0)
            trained_rows = int((result.get("learners") or {}).get("shared", {}).get("num_module_steps_trained_lifetime", 0) or 0)
        trained = _learner_state(algo)
        calls = algo.learner_group.foreach_learner(lambda learner: type(learner.module["shared"]).__name__)
        modules = [call.get() for call in calls]
    finally:
        algo.stop()
    assert sampled > 0 and trained_rows > 0 and modules == ["SharingRLModule"]
    assert any(not np.array_equal(initial[k], trained[k]) for k in initial if k.startswith("pi."))
    assert all(np.array_equal(initial[k], trained[k]) for k in initial if "mask" in k.rsplit(".", 1)[-1])  # SNP-PS masks fixed


def _images() -> Any:
    return ImageIdentityEnv(n_agents=3, n_actions=3, image_size=7, channels=2)


def test_image_observations_train_through_the_methods_cnn_trunk() -> None:
    config = shared_ppo_config(_images, module=snp_ps_module(), num_env_runners=1, num_envs_per_env_runner=4, seed=0)
    algo = config.training(train_batch_size=400, minibatch_size=200, num_epochs=2).build_algo()
    try:
        module = algo.get_module("shared")
        initial = _learner_state(algo)
        result = algo.train()
        trained = _learner_state(algo)
    finally:
        algo.stop()
    assert module.layout.is_image and module.observation_space["observations"].dtype == np.uint8  # channels first
    assert result["env_runners"]["num_env_steps_sampled_lifetime"] >= 400
    conv = [k for k in trained if k.startswith("trunk.") and trained[k].ndim == 4]
    assert conv and any(not np.array_equal(initial[k], trained[k]) for k in conv)  # the CNN trained
