"""Our sharing networks on Ray RLlib's new API stack (optional extra ``ps-toolkit[rllib]``).

``import policies`` never imports Ray; importing this sub-package does::

    from policies.rllib import shared_ppo_config, snp_ps_module
    config = shared_ppo_config(simple_spread_v3.parallel_env, module=snp_ps_module())
    algo = config.build_algo()
    policy = module_policy(algo.get_module("shared"), simple_spread_v3.parallel_env)  # the SB3 policy

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
    ALGORITHMS,
    HASH_SEED,
    EnvToModuleConnectors,
    MapToModule,
    deterministic_runtime_env,
    shared_appo_config,
    shared_config,
    shared_impala_config,
    shared_ppo_config,
)
from policies.rllib.export import module_policy
from policies.rllib.learner import SharingAPPOLearner, SharingIMPALALearner, SharingPPOLearner
from policies.rllib.module import SharedMLPModule, SharingRLModule
from policies.rllib.spec import (
    ACTIVATIONS,
    adaps_module,
    fups_module,
    kaleidoscope_module,
    seps_module,
    sharing_module,
    snp_ps_module,
    sparse_module,
)

__all__ = [
    "ACTIVATIONS",
    "ALGORITHMS",
    "HASH_SEED",
    "EnvToModuleConnectors",
    "MapToModule",
    "SharedMLPModule",
    "SharingAPPOLearner",
    "SharingIMPALALearner",
    "SharingPPOLearner",
    "SharingRLModule",
    "adaps_module",
    "deterministic_runtime_env",
    "fups_module",
    "kaleidoscope_module",
    "module_policy",
    "restore_algorithm",
    "seps_module",
    "shared_appo_config",
    "shared_config",
    "shared_impala_config",
    "shared_ppo_config",
    "sharing_module",
    "snp_ps_module",
    "sparse_module",
    "sync_runner_weights",
]
