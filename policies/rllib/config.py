"""``shared_ppo_config`` (and APPO, IMPALA): from a PettingZoo env to an RLlib config with one shared module.

::

    config = shared_ppo_config(simple_spread_v3.parallel_env, module=snp_ps_module(),
                               num_env_runners=2, seed=0)
    algo = config.build_algo()
    print(algo.train()["env_runners"]["episode_return_mean"])

The config maps every agent to one ``ModuleID`` (parameter sharing), builds each env runner's env
with :func:`ps_wrappers.rllib.to_rllib`, adds the env-to-module connectors
(:class:`~ps_wrappers.rllib.KeepTruncations`, optionally
:class:`~ps_wrappers.rllib.SlotMeanStdFilter`, :class:`~ps_wrappers.rllib.AgentIdOneHot`), gives the
sharing module the env's agent names and an ``init_seed`` (so every process builds the same
module), and uses a learner of :mod:`policies.rllib.learner` (the method's optimizer hooks). It is a
plain RLlib config: change anything with RLlib's own methods (``.training(lr=...)``,
``.learners(...)``, ``.resources(...)``).
"""

from __future__ import annotations

import dataclasses
import os
import random
import warnings
from collections.abc import Sequence
from typing import Any

import ray
from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
from ray.rllib.algorithms.appo import APPOConfig
from ray.rllib.algorithms.impala import IMPALAConfig
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from policies.rllib.learner import SharingAPPOLearner, SharingIMPALALearner, SharingPPOLearner
from policies.rllib.module import SharingRLModule
from policies.rllib.spec import fups_module
from ps_wrappers.action_padding import InvalidActionMode
from ps_wrappers.images import ImageMode
from ps_wrappers.make_vec_env import AECMode
from ps_wrappers.rllib import (
    AgentIdOneHot,
    KeepTruncations,
    PettingZooMultiAgentEnv,
    SlotMeanStdFilter,
)
from ps_wrappers.rllib.options import EnvFn, env_config

__all__ = [
    "ALGORITHMS",
    "HASH_SEED",
    "EnvToModuleConnectors",
    "MapToModule",
    "deterministic_runtime_env",
    "shared_appo_config",
    "shared_config",
    "shared_impala_config",
    "shared_ppo_config",
]

ALGORITHMS: dict[str, tuple[type[AlgorithmConfig], type]] = {
    "PPO": (PPOConfig, SharingPPOLearner),
    "APPO": (APPOConfig, SharingAPPOLearner),
    "IMPALA": (IMPALAConfig, SharingIMPALALearner),
}
"""RLlib algorithms a sharing module trains with: config class and learner class."""

HASH_SEED = "0"
"""``PYTHONHASHSEED`` that :func:`deterministic_runtime_env` gives Ray's worker processes."""


class MapToModule:
    """``policy_mapping_fn`` mapping every agent to one ``ModuleID`` (picklable, unlike a lambda)."""

    def __init__(self, module_id: str) -> None:
        """Map every agent to ``module_id``."""
        self.module_id = module_id

    def __call__(self, agent_id: Any, episode: Any = None, **kwargs: Any) -> str:
        """The shared ``ModuleID``."""
        return self.module_id


class EnvToModuleConnectors:
    """``env_to_module_connector`` factory: optional filter, truncation fix, then agent one-hot.

    The filter, the only piece with a state, comes first: RLlib 2.60's
    ``ConnectorPipelineV2.merge_states`` pairs the i-th non-empty state with the i-th connector,
    so a stateless piece before it would receive (and drop) the filter statistics when the env
    runners' states are merged.
    """

    def __init__(self, agents: Sequence[Any], normalize: bool, agent_ids: bool) -> None:
        """Remember the agents (their one-hot order) and which connectors to add."""
        self.agents = list(agents)
        self.normalize = bool(normalize)
        self.agent_ids = bool(agent_ids)

    def __call__(self, env: Any = None, spaces: Any = None, device: Any = None) -> list:
        """The connector pieces, in order (the one-hot after the filter, so it stays exact)."""
        pieces: list = [SlotMeanStdFilter()] if self.normalize else []
        pieces.append(KeepTruncations())
        if self.agent_ids:
            pieces.append(AgentIdOneHot(agents=self.agents))
        return pieces


def deterministic_runtime_env(runtime_env: dict[str, Any] | None = None) -> dict[str, Any]:
    """``runtime_env`` for ``ray.init`` with ``PYTHONHASHSEED`` fixed in every Ray worker.

    RLlib's multi-agent episodes iterate Python sets of agent ids, whose order depends on the
    string-hash seed of each process: without a fixed ``PYTHONHASHSEED`` two runs with the same
    ``seed`` order agents differently on the env runners and diverge. Start Ray with
    ``ray.init(runtime_env=deterministic_runtime_env())`` (or ``ray.init(address=...,
    runtime_env=...)`` on a cluster). The driver (local env runner and learner) needs the variable
    set when Python starts, e.g. ``PYTHONHASHSEED=0 python train.py``, for runs to match across
    driver processes.

    Args:
        runtime_env: An existing runtime_env to extend (its ``env_vars`` are kept).
    """
    env = dict(runtime_env or {})
    env["env_vars"] = {**dict(env.get("env_vars") or {}), "PYTHONHASHSEED": HASH_SEED}
    return env


def _fix_hash_seed(num_env_runners: int) -> None:
    """Give Ray's workers a fixed ``PYTHONHASHSEED``, or warn when that is no longer possible."""
    if not ray.is_initialized():
        # A local Ray started later (by ray.init() or automatically) spawns its workers from this
        # process's environment, so they inherit the variable (this process keeps its own seed).
        os.environ.setdefault("PYTHONHASHSEED", HASH_SEED)
        return
    if not num_env_runners:
        return
    env_vars = (ray.get_runtime_context().runtime_env or {}).get("env_vars") or {}
    if "PYTHONHASHSEED" not in env_vars and "PYTHONHASHSEED" not in os.environ:
        warnings.warn(
            "shared_ppo_config: seed is set but Ray was started without PYTHONHASHSEED for its "
            "workers, so env runners order agents differently and same-seed runs differ; start Ray "
            "with ray.init(runtime_env=policies.rllib.deterministic_runtime_env())",
            stacklevel=3,
        )


def _complete_spec(spec: RLModuleSpec, env: PettingZooMultiAgentEnv, seed: int | None, total_env_steps: int | None) -> RLModuleSpec:
    """A sharing module's spec with the env's agents, its padded Box shapes, an ``init_seed`` and the horizon."""
    if not (isinstance(spec.module_class, type) and issubclass(spec.module_class, SharingRLModule)):
        return spec
    config = dict(spec.model_config) if isinstance(spec.model_config, dict) else {}
    layout = env.layout
    config["agents"] = [str(a) for a in layout.agents]
    config["action_shapes"] = [list(shape) for shape in layout.action_shapes]
    if config.get("init_seed") is None:
        config["init_seed"] = int(seed) if seed is not None else random.SystemRandom().randrange(2**31)
    if total_env_steps is not None:
        config["total_timesteps"] = int(total_env_steps) * len(layout.agents)
    return dataclasses.replace(spec, model_config=config)


def shared_config(
    env_fn: EnvFn,
    *,
    algorithm: str = "PPO",
    module: RLModuleSpec | None = None,
    num_env_runners: int = 0,
    num_envs_per_env_runner: int = 1,
    seed: int | None = None,
    normalize: bool = False,
    agent_ids: bool = True,
    module_id: str = "shared",
    pad: bool = True,
    aec_mode: AECMode = "auto",
    invalid_action: InvalidActionMode = "raise",
    images: ImageMode = "auto",
    total_env_steps: int | None = None,
) -> AlgorithmConfig:
    """An RLlib config of ``algorithm`` that trains one module shared by every agent of a PettingZoo env.

    Args:
        env_fn: Zero-argument callable returning a fresh PettingZoo env (shipped to every runner).
        algorithm: ``"PPO"``, ``"APPO"`` or ``"IMPALA"`` (:data:`ALGORITHMS`).
        module: The shared module's ``RLModuleSpec``; default :func:`fups_module` with
            ``agent_id=agent_ids`` (FuPS+id). Any helper of :mod:`policies.rllib.spec` gives one.
        num_env_runners: Remote env runners (0: sample in the driver). On a cluster, one per CPU
            you want sampling; Ray places them on any node.
        num_envs_per_env_runner: Env copies each runner steps (vectorised in the runner).
        seed: Seeds RLlib (runner ``i`` resets its copy ``j`` with ``seed + i + j``), PPO's
            minibatches and the module's ``init_seed`` (initial weights and random masks; drawn
            once here when ``None``, so all processes agree). Same-seed runs match only when every
            Ray worker has one ``PYTHONHASHSEED``: when Ray is not running yet, this sets
            ``os.environ["PYTHONHASHSEED"]`` (unless set) so that a local Ray started afterwards
            passes it to its workers; when Ray runs already without it (see
            :func:`deterministic_runtime_env`), it warns.
        normalize: Standardise the features with :class:`~ps_wrappers.rllib.SlotMeanStdFilter`.
        agent_ids: Add ``obs["agent_id"]`` (:class:`~ps_wrappers.rllib.AgentIdOneHot`); needed by
            every method but FuPS, which ignores it.
        module_id: The one ``ModuleID`` every agent maps to.
        pad, aec_mode, invalid_action, images: As :func:`ps_wrappers.rllib.to_rllib`.
        total_env_steps: Env steps the run will train, if known: RigL freezes the topology after
            75% of them and Kaleidoscope resets no weight in the last interval (their schedules).

    Returns:
        The config; RLlib's env checker is disabled (it samples padded actions, which the env
        refuses by design; :func:`ps_wrappers.rllib.check_rllib_env` is its replacement).

    Raises:
        TypeError, ValueError: for a bad ``env_fn`` or option (from :func:`to_rllib`).
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"shared_config: algorithm must be one of {sorted(ALGORITHMS)}, got {algorithm!r}")
    cfg = env_config(env_fn, pad=pad, aec_mode=aec_mode, invalid_action=invalid_action, images=images)
    probe = PettingZooMultiAgentEnv(cfg)  # validates the env on the driver, where errors are readable
    agents = list(probe.possible_agents)
    probe.close()
    if not isinstance(num_env_runners, int) or num_env_runners < 0:
        raise ValueError(f"shared_config: num_env_runners must be an int >= 0, got {num_env_runners!r}")
    if not isinstance(num_envs_per_env_runner, int) or num_envs_per_env_runner < 1:
        raise ValueError(
            f"shared_config: num_envs_per_env_runner must be an int >= 1, got {num_envs_per_env_runner!r}"
        )
    if total_env_steps is not None and (isinstance(total_env_steps, bool) or not isinstance(total_env_steps, int) or total_env_steps < 1):
        raise ValueError(f"shared_config: total_env_steps must be a positive int or None, got {total_env_steps!r}")
    spec = fups_module(agent_id=agent_ids) if module is None else module
    if not isinstance(spec, RLModuleSpec):
        raise TypeError(
            f"shared_config: module must be an RLModuleSpec (e.g. policies.rllib.fups_module()), got {type(spec).__name__}"
        )
    spec = _complete_spec(spec, probe, seed, total_env_steps)
    if seed is not None:
        _fix_hash_seed(num_env_runners)
    config_class, learner_class = ALGORITHMS[algorithm]
    return (
        config_class()
        .environment(PettingZooMultiAgentEnv, env_config=cfg, disable_env_checking=True)
        .env_runners(
            num_env_runners=num_env_runners,
            num_envs_per_env_runner=num_envs_per_env_runner,
            env_to_module_connector=EnvToModuleConnectors(agents, normalize, agent_ids),
        )
        .multi_agent(policies={module_id}, policy_mapping_fn=MapToModule(module_id))
        # A single-module spec, not a MultiRLModuleSpec: RLlib 2.60 marks only such a spec
        # inference_only for the env runners, which then build no critic and need no critic sync.
        .rl_module(rl_module_spec=spec)
        .learners(learner_class=learner_class)
        .debugging(seed=seed)
    )


def shared_ppo_config(env_fn: EnvFn, **kwargs: Any) -> PPOConfig:
    """:func:`shared_config` for PPO: an RLlib ``PPOConfig`` with one module shared by every agent.

    Example:
        >>> from mpe2 import simple_spread_v3
        >>> from policies.rllib import snp_ps_module
        >>> config = shared_ppo_config(simple_spread_v3.parallel_env, module=snp_ps_module(), seed=0)
        >>> type(config).__name__, config.learner_class.__name__
        ('PPOConfig', 'SharingPPOLearner')
    """
    return shared_config(env_fn, algorithm="PPO", **kwargs)  # type: ignore[return-value]


def shared_appo_config(env_fn: EnvFn, **kwargs: Any) -> APPOConfig:
    """:func:`shared_config` for APPO (the module's target networks come from ``TargetNetworkAPI``)."""
    return shared_config(env_fn, algorithm="APPO", **kwargs)  # type: ignore[return-value]


def shared_impala_config(env_fn: EnvFn, **kwargs: Any) -> IMPALAConfig:
    """:func:`shared_config` for IMPALA."""
    return shared_config(env_fn, algorithm="IMPALA", **kwargs)  # type: ignore[return-value]
