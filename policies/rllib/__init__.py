"""Our sharing networks on Ray RLlib's new API stack (optional extra ``ps-toolkit[rllib]``).

``import policies`` never imports Ray; importing this sub-package does::

    from policies.rllib import fups_module, shared_ppo_config
    config = shared_ppo_config(simple_spread_v3.parallel_env, module=fups_module(agent_id=True))
    algo = config.build_algo()

See ``docs/rllib.md``.
"""

from __future__ import annotations

try:
    import ray.rllib  # noqa: F401
except ModuleNotFoundError as err:  # pragma: no cover - exercised only without the extra
    raise ModuleNotFoundError(
        "policies.rllib needs Ray RLlib, which is not installed. Install the optional extra: "
        "pip install 'ps-toolkit[rllib]' (ray[rllib]==2.60.0).",
        name=err.name,
    ) from err

from policies.rllib.checkpoint import restore_algorithm, sync_runner_weights
from policies.rllib.config import (
    HASH_SEED,
    EnvToModuleConnectors,
    MapToModule,
    deterministic_runtime_env,
    shared_ppo_config,
)
from policies.rllib.module import ACTIVATIONS, SharedMLPModule, fups_module

__all__ = [
    "ACTIVATIONS",
    "HASH_SEED",
    "EnvToModuleConnectors",
    "MapToModule",
    "SharedMLPModule",
    "deterministic_runtime_env",
    "fups_module",
    "restore_algorithm",
    "shared_ppo_config",
    "sync_runner_weights",
]
