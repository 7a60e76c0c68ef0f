"""``ps-train --backend rllib``: the same run on Ray RLlib's PPO, with the same arguments and run directory.

The method, its options (``--method-kwargs``), the clustering (``--cluster-kwargs``), the budget
(``--steps``, sized by :func:`ps_toolkit.budget.plan_budget` exactly as for SB3) and the PPO
hyperparameters (``--algo-kwargs``, SB3's names) mean the same on both backends:

=================  ===================  ==================================================
SB3 PPO            RLlib PPO            note
=================  ===================  ==================================================
``n_steps``        ``train_batch_size``  ``n_steps x n_envs`` env steps per iteration
``batch_size``     ``minibatch_size``    rows (agent steps) per minibatch
``n_epochs``       ``num_epochs``
``learning_rate``  ``lr``
``gamma``          ``gamma``
``gae_lambda``     ``lambda_``
``clip_range``     ``clip_param``
``ent_coef``       ``entropy_coeff``
``vf_coef``        ``vf_loss_coeff``
``max_grad_norm``  ``grad_clip``         global norm
=================  ===================  ==================================================

RLlib's own defaults that SB3's PPO does not have are switched off (KL penalty, value clipping).
The module is :class:`policies.rllib.SharingRLModule` of the method's PPO policy class
(:func:`ps_toolkit.registry.policy_class`), so the run directory gets the same data-only
``policy/`` (the trained module as that SB3 policy, :func:`policies.rllib.module_policy`) that
``ps-train evaluate`` reads; ``rllib_checkpoint/`` (RLlib's format, pickled: code) replaces
``model.zip`` to resume training.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from stable_baselines3 import PPO

import ps_wrappers
from policies import ClusterResult, cluster_agents, count_parameters
from ps_toolkit.budget import Budget, algorithm_default, plan_budget
from ps_toolkit.registry import make_env_fn, method_spec, policy_class

if TYPE_CHECKING:
    from ps_toolkit.training import Run, TrainConfig

__all__ = ["CHECKPOINT_DIR", "SB3_TO_RLLIB", "RLlibModel", "build_rllib", "check_rllib_config", "rllib_training", "train_rllib"]

CHECKPOINT_DIR = "rllib_checkpoint"
"""RLlib's checkpoint in a run directory (``algo.save``): pickled, so code; to resume training."""

SB3_TO_RLLIB = {
    "n_epochs": "num_epochs",
    "learning_rate": "lr",
    "gamma": "gamma",
    "gae_lambda": "lambda_",
    "clip_range": "clip_param",
    "ent_coef": "entropy_coeff",
    "vf_coef": "vf_loss_coeff",
    "max_grad_norm": "grad_clip",
}
"""SB3 PPO hyperparameter -> RLlib ``PPOConfig.training`` argument (besides ``n_steps`` and ``batch_size``)."""


def check_rllib_config(config: TrainConfig) -> None:
    """The checks ``--backend rllib`` adds to :func:`ps_toolkit.validation.check_config`.

    Raises:
        ValueError: for another algorithm than PPO, hyperparameters without an RLlib counterpart,
            ``normalize``, or ``n_envs`` not a multiple of ``num_env_runners``.
    """
    if config.algorithm.lower() != "ppo":
        raise ValueError(f"--backend rllib trains PPO (RLlib's, with SB3's hyperparameter names); got --algo {config.algorithm}")
    allowed = {"n_steps", "batch_size", *SB3_TO_RLLIB}
    unknown = sorted(set(config.algo_kwargs) - allowed)
    if unknown:
        raise ValueError(f"--algo-kwargs: with --backend rllib, PPO takes no {unknown}; it takes {', '.join(sorted(allowed))}")
    if config.normalize:
        raise ValueError(
            "--normalize is not available with --backend rllib (its SlotMeanStdFilter statistics are not exported "
            "to normalizer.npz); use policies.rllib.shared_ppo_config(normalize=True) directly, or --backend sb3"
        )
    runners = config.num_env_runners
    if runners and config.n_envs % runners:
        raise ValueError(f"--n-envs {config.n_envs} must be a multiple of --num-env-runners {runners} (env copies per runner)")


def rllib_training(algo_kwargs: dict[str, Any], budget: Budget) -> dict[str, Any]:
    """``PPOConfig.training`` arguments for SB3-named PPO hyperparameters and a planned budget."""
    merged = {**algo_kwargs, **budget.algo_kwargs}
    settings: dict[str, Any] = {
        rllib: merged.get(sb3, algorithm_default(PPO, sb3)) for sb3, rllib in SB3_TO_RLLIB.items()
    }
    n_steps = int(merged.get("n_steps", algorithm_default(PPO, "n_steps")))
    settings["train_batch_size"] = n_steps * budget.copies
    settings["minibatch_size"] = int(merged.get("batch_size", algorithm_default(PPO, "batch_size")))
    settings.update(use_kl_loss=False, kl_coeff=0.0, vf_clip_param=float("inf"), grad_clip_by="global_norm")
    return settings


@dataclass
class RLlibModel:
    """What a ``--backend rllib`` run trained: the RLlib algorithm and its module as the SB3 policy."""

    algo: Any
    """The RLlib ``Algorithm``."""
    policy: Any
    """The trained module as its :mod:`policies.ppo` policy (:func:`policies.rllib.module_policy`)."""
    num_timesteps: int = 0
    """Steps trained, counted per slot as SB3 does (env steps x agents)."""

    @property
    def observation_space(self) -> Any:
        """The slot observation space of the policy (as the SB3 vec env's)."""
        return self.policy.observation_space


def _init_ray(num_env_runners: int) -> None:
    import ray

    from policies.rllib import deterministic_runtime_env

    if not ray.is_initialized():
        ray.init(num_cpus=max(1, num_env_runners) + 1, runtime_env=deterministic_runtime_env(),
                 include_dashboard=False, log_to_driver=False, configure_logging=False)


def build_rllib(config: TrainConfig) -> tuple[Any, ClusterResult | None, float, Budget]:
    """Cluster (SePS / AdaPS), plan the budget and build the RLlib algorithm of ``config``.

    Raises:
        ValueError, TypeError: for a bad config, before any step.
    """
    from policies.rllib import shared_ppo_config, sharing_module

    check_rllib_config(config)
    spec = method_spec(config.method)
    env_fn = make_env_fn(config.env, config.env_kwargs)
    venv = ps_wrappers.make_vec_env(env_fn, n_envs=config.n_envs, seed=config.seed)
    n_agents = len(ps_wrappers.get_layout(venv.observation_space, "ps-train").agents)
    budget = plan_budget(config.algorithm, config.steps, venv.num_envs, config.n_envs, config.algo_kwargs)
    kwargs = {**spec.kwargs, **config.method_kwargs}
    clusters: ClusterResult | None = None
    start = time.perf_counter()
    if spec.identity_clusters and "clusters" not in kwargs:
        clusters = cluster_agents(venv, seed=config.seed, **config.cluster_kwargs)  # the SB3 path's clustering
        kwargs["clusters"] = clusters
    cluster_seconds = time.perf_counter() - start
    venv.close()
    module = sharing_module(policy_class(config.method, config.algorithm), **kwargs)
    runners = config.num_env_runners
    _init_ray(runners)
    rllib_config = shared_ppo_config(
        env_fn, module=module, num_env_runners=runners, num_envs_per_env_runner=config.n_envs // max(1, runners),
        seed=config.seed, total_env_steps=budget.total // n_agents,
    ).training(**rllib_training(config.algo_kwargs, budget))
    return rllib_config.build_algo(), clusters, cluster_seconds, budget


def _per_agent(result: dict[str, Any]) -> float:
    returns = (result.get("env_runners") or {}).get("agent_episode_returns_mean") or {}
    return float(np.mean(list(returns.values()))) if returns else float("nan")


def train_rllib(config: TrainConfig, built: tuple[Any, ClusterResult | None, float, Budget], progress: bool = False) -> Run:
    """Train the built algorithm until the planned budget's env steps are sampled; the run's curves and cost."""
    from policies.rllib import module_policy
    from ps_toolkit.training import Run, RunResult

    algo, clusters, cluster_seconds, budget = built
    env_fn = make_env_fn(config.env, config.env_kwargs)
    n_agents = budget.slots // budget.copies
    target = math.ceil(budget.total / n_agents)
    steps: list[int] = []
    returns: list[float] = []
    team: list[float] = []
    env_steps = 0
    start = time.perf_counter()
    while env_steps < target:
        result = algo.train()
        env_steps = int(result["env_runners"].get("num_env_steps_sampled_lifetime", 0))
        steps.append(env_steps * n_agents)
        returns.append(_per_agent(result))
        team.append(float(result["env_runners"].get("episode_return_mean", float("nan"))))
        if progress:
            print(f"  {steps[-1]:,} / {budget.total:,} steps: mean return per agent {returns[-1]:.3f}", flush=True)
    seconds = time.perf_counter() - start
    policy = module_policy(algo, env_fn)
    model = RLlibModel(algo, policy, env_steps * n_agents)
    result_ = RunResult(steps, returns, team, seconds, cluster_seconds, count_parameters(policy), model.num_timesteps)
    return Run(config, model, clusters, result_, budget)


def save_rllib_checkpoint(run: Run, directory: Path) -> None:
    """``algo.save`` into ``directory / CHECKPOINT_DIR`` (RLlib's pickled format)."""
    run.model.algo.save(str((directory / CHECKPOINT_DIR).resolve()))
