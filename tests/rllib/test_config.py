"""``shared_ppo_config``: one module for every agent, the connectors in order, hash seeds, errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.rllib.conftest import SKIP_REASON

pytest.importorskip("ray.rllib", reason=SKIP_REASON)

from mpe2 import simple_world_comm_v3  # noqa: E402

from policies.rllib import SharedMLPModule, fups_module, shared_ppo_config  # noqa: E402
from ps_wrappers.rllib import (  # noqa: E402
    AgentIdOneHot,
    KeepTruncations,
    PettingZooMultiAgentEnv,
    SlotMeanStdFilter,
)


def test_every_agent_maps_to_the_one_shared_module() -> None:
    config = shared_ppo_config(simple_world_comm_v3.parallel_env, num_env_runners=3, num_envs_per_env_runner=4, normalize=True)
    agents = ["leadadversary_0", "adversary_0", "adversary_1", "adversary_2", "agent_0", "agent_1"]
    assert {config.policy_mapping_fn(a, None) for a in agents} == {"shared"}
    spec = config.rl_module_spec  # one spec: RLlib builds it inference-only (no critic) on env runners
    assert set(config.policies) == {"shared"} and spec.module_class is SharedMLPModule
    model_config = spec.model_config
    assert model_config["policy"] == "FullSharingPolicy"
    assert model_config["policy_kwargs"]["kwargs"]["agent_id"] is True  # default: FuPS+id
    assert model_config["agents"] == agents and isinstance(model_config["init_seed"], int)
    assert config.env is PettingZooMultiAgentEnv and config.disable_env_checking is True
    assert (config.num_env_runners, config.num_envs_per_env_runner) == (3, 4)
    pieces = config._env_to_module_connector()
    assert [type(p) for p in pieces] == [SlotMeanStdFilter, KeepTruncations, AgentIdOneHot]
    assert pieces[-1].agents == agents  # possible_agents order, not sorted


def test_bad_arguments_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"num_env_runners must be an int >= 0, got -1"):
        shared_ppo_config(simple_world_comm_v3.parallel_env, num_env_runners=-1)
    with pytest.raises(ValueError, match=r"num_envs_per_env_runner must be an int >= 1, got 0"):
        shared_ppo_config(simple_world_comm_v3.parallel_env, num_envs_per_env_runner=0)
    with pytest.raises(TypeError, match=r"module must be an RLModuleSpec \(e.g. policies.rllib.fups_module\(\)\), got dict"):
        shared_ppo_config(simple_world_comm_v3.parallel_env, module={"agent_id": True})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"to_rllib expects a zero-argument callable"):
        shared_ppo_config(simple_world_comm_v3.parallel_env())  # type: ignore[arg-type]
    assert fups_module().model_config["policy_kwargs"]["kwargs"]["agent_id"] is False


def test_a_seeded_config_gives_a_later_local_ray_fixed_hash_seeds() -> None:
    code = """
import os, ray
from ps_wrappers.testing import AgentIdentityEnv
from policies.rllib import shared_ppo_config
shared_ppo_config(AgentIdentityEnv, seed=0)
ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
@ray.remote
def seed():
    return os.environ.get("PYTHONHASHSEED"), hash("agent_0")
print(ray.get(seed.remote()))
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    reference = subprocess.run(
        [sys.executable, "-c", "print(hash('agent_0'))"], capture_output=True, text=True, env={**env, "PYTHONHASHSEED": "0"}
    )
    assert out.stdout.strip().splitlines()[-1] == f"('0', {reference.stdout.strip()})"


@pytest.mark.usefixtures("ray_cluster")
def test_rllib_env_checker_would_kill_the_runner_so_the_config_disables_it() -> None:
    from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner

    config = shared_ppo_config(simple_world_comm_v3.parallel_env, seed=0)
    MultiAgentEnvRunner(config=config).stop()  # checker disabled: the runner comes up
    checked = config.copy(copy_frozen=False).environment(disable_env_checking=False)
    with pytest.raises(ValueError, match=r"step\(\)` method seems to be faulty") as info:
        MultiAgentEnvRunner(config=checked)
    assert "which its action mask forbids" in str(info.value.__cause__)
