"""One training run: check the config, size the budget, build the vec env and the model, train.

Example:
    >>> from ps_toolkit.training import TrainConfig, train
    >>> run = train(TrainConfig(env="bps", env_kwargs={"group_sizes": [1, 1]}, method="FuPS+id",
    ...                         steps=2_000, n_envs=2, algo_kwargs={"n_steps": 64}))  # doctest: +SKIP
    >>> run.result.params  # doctest: +SKIP
    8838
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

import ps_wrappers
from policies import (
    ClusterResult,
    LearnedMaskCallback,
    cluster_agents,
    count_parameters,
    set_evolution_horizon,
    set_mask_schedule,
)
from policies.learned import regularizers_of
from ps_toolkit.budget import Budget, plan_budget
from ps_toolkit.registry import (
    algorithm_class,
    check_action_space,
    make_env_fn,
    method_spec,
    policy_class,
)
from ps_toolkit.validation import check_config

__all__ = [
    "ReturnLogger",
    "Run",
    "RunResult",
    "TrainConfig",
    "build_model",
    "train",
]


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved as ``run.json`` next to the model)."""

    env: str = "bps"
    """Integration name (``bps``, ``lbforaging``, ``crware``, ``rware``, ``smac``) or a PettingZoo
    module path with ``parallel_env`` (``mpe2.simple_world_comm_v3``)."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of ``parallel_env``."""
    method: str = "SNP-PS"
    """Sharing method (``ps_toolkit.registry.METHODS``)."""
    method_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra policy kwargs (method options, ``net_arch``, ...)."""
    algorithm: str = "ppo"
    """``ppo``, ``a2c``, ``dqn`` (masked exploration) or ``mast-dqn``."""
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    """Algorithm hyperparameters (``n_steps``, ``learning_rate``, ...)."""
    steps: int = 100_000
    """Training steps, counted per slot (one per agent per env copy per env step). SB3 trains
    whole rollouts (PPO, A2C) and whole env steps: :func:`ps_toolkit.budget.plan_budget` sizes
    ``n_steps`` to this budget unless ``algo_kwargs`` gives it, and says what will run."""
    seed: int = 0
    """Seeds the vec env, the model, the masks and the clustering."""
    n_envs: int = 8
    """Env copies; the vec env has ``n_envs x agents`` slots."""
    cluster_kwargs: dict[str, Any] = field(default_factory=dict)
    """Arguments of ``policies.cluster_agents`` for SePS and AdaPS (``n_clusters``, ...)."""
    normalize: bool = False
    """Wrap the vec env in ``ps_wrappers.SlotVecNormalize`` (features and rewards standardised;
    its statistics are saved as data, ``normalizer.npz``, and used when evaluating)."""
    backend: str = "sb3"
    """``sb3`` (Stable-Baselines3, in this process) or ``rllib`` (Ray RLlib's PPO with the same method,
    budget and hyperparameter names; needs ``ps-toolkit[rllib]``; :mod:`ps_toolkit.rllib_backend`)."""
    num_env_runners: int = 0
    """RLlib env runners (``--backend rllib``): 0 samples in this process; ``n_envs`` is split among them."""


@dataclass
class RunResult:
    """Learning curves and cost of a run."""

    steps: list[int]
    """Timesteps at the end of each rollout."""
    returns: list[float]
    """Mean per-agent episode return of the last 100 episodes (SB3's ``ep_info_buffer``)."""
    team_returns: list[float]
    """Mean team return of the episodes that ended in each rollout (NaN if none)."""
    seconds: float
    """Wall time of ``learn`` (clustering excluded)."""
    cluster_seconds: float
    """Wall time of the identity clustering (0 without)."""
    params: int
    """Trainable parameters (``policies.count_parameters``)."""
    trained_steps: int = 0
    """Steps trained (``model.num_timesteps``): the planned :attr:`Budget.total`."""
    mask_history: list[dict[str, Any]] = field(default_factory=list)
    """Learned-mask statistics over training (Kaleidoscope; ``policies.LearnedMaskCallback.history``),
    empty for other methods."""


@dataclass
class Run:
    """A trained model with its config, budget, clustering and result."""

    config: TrainConfig
    model: Any
    """The SB3 algorithm, or for ``backend="rllib"`` a :class:`ps_toolkit.rllib_backend.RLlibModel`."""
    clusters: ClusterResult | None
    result: RunResult
    budget: Budget | None = None
    """The steps that ran and why (:func:`ps_toolkit.budget.plan_budget`)."""


class ReturnLogger(BaseCallback):
    """Records per-agent and team episode returns, to the curves and to SB3's logger.

    At the end of every rollout: ``returns/agent/<name>`` (mean return of that agent's episodes
    in the rollout), ``returns/team`` and ``returns/per_agent`` (mean of the last 100 episodes);
    they reach TensorBoard when the model has ``tensorboard_log``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[int] = []
        self.returns: list[float] = []
        self.team_returns: list[float] = []
        self._agent: dict[str, list[float]] = defaultdict(list)
        self._team: list[float] = []

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", ()):
            episode = info.get("episode")
            if episode is not None and "agent" in episode:
                self._agent[str(episode["agent"])].append(float(episode["r"]))
            team = info.get("team_episode")
            if team is not None:
                self._team.append(float(team["r"]))
        return True

    def _on_rollout_end(self) -> None:
        for agent, values in self._agent.items():
            self.logger.record(f"returns/agent/{agent}", float(np.mean(values)))
        team = float(np.mean(self._team)) if self._team else float("nan")
        if self._team:
            self.logger.record("returns/team", team)
        self._agent.clear()
        self._team.clear()
        if self.model.ep_info_buffer:
            mean = float(np.mean([e["r"] for e in self.model.ep_info_buffer]))
            self.logger.record("returns/per_agent", mean)
            self.steps.append(self.num_timesteps)
            self.returns.append(mean)
            self.team_returns.append(team)


def build_model(
    config: TrainConfig, tensorboard_log: str | None = None
) -> tuple[Any, ClusterResult | None, float, Budget]:
    """Check ``config``, build its vec env and model, and plan its budget.

    Returns:
        The model (an SB3 algorithm; the RLlib ``Algorithm`` for ``backend="rllib"``), the clusters
        (SePS / AdaPS identity clustering, else ``None``), the clustering time and the
        :class:`~ps_toolkit.budget.Budget` to pass to ``learn``.

    Raises:
        ValueError, TypeError: for a bad config (named field, value and fix), before any step.
        ModuleNotFoundError: for ``backend="rllib"`` without the ``rllib`` extra.
    """
    check_config(config)
    if config.backend == "rllib":
        from ps_toolkit.rllib_backend import build_rllib

        return build_rllib(config)
    spec = method_spec(config.method)
    env_fn = make_env_fn(config.env, config.env_kwargs)
    venv = ps_wrappers.make_vec_env(env_fn, n_envs=config.n_envs, seed=config.seed)
    check_action_space(config.algorithm, venv.action_space, config.env)
    budget = plan_budget(config.algorithm, config.steps, venv.num_envs, config.n_envs, config.algo_kwargs)
    kwargs = {**spec.kwargs, **config.method_kwargs}
    # Identity clustering (below) reads raw observations, so it sees the vec env unwrapped.
    clusters: ClusterResult | None = None
    start = time.perf_counter()
    if spec.identity_clusters and "clusters" not in kwargs:
        clusters = cluster_agents(venv, seed=config.seed, **config.cluster_kwargs)
        kwargs["clusters"] = clusters
    cluster_seconds = time.perf_counter() - start
    algo = algorithm_class(config.algorithm)
    if config.normalize:
        venv = ps_wrappers.SlotVecNormalize(venv, gamma=float(config.algo_kwargs.get("gamma", 0.99)))
    model = algo(
        policy_class(config.method, config.algorithm), venv, policy_kwargs=kwargs, seed=config.seed,
        device="cpu", tensorboard_log=tensorboard_log, **{**config.algo_kwargs, **budget.algo_kwargs},
    )
    if hasattr(model.policy, "sparse_topology"):
        set_evolution_horizon(model, budget.total)
    if regularizers_of(model):
        set_mask_schedule(model, budget.total)
    return model, clusters, cluster_seconds, budget


def _mask_logger(model: BaseAlgorithm, total: int) -> LearnedMaskCallback | None:
    """A callback logging the learned masks about 100 times over training (None for other methods)."""
    if not regularizers_of(model):
        return None
    if isinstance(model, OffPolicyAlgorithm):  # a "rollout" is train_freq env steps there
        per_rollout = model.n_envs * int(getattr(model.train_freq, "frequency", 1))
    else:
        per_rollout = model.n_envs * int(getattr(model, "n_steps", 1))
    every = max(1, total // (100 * per_rollout))
    return LearnedMaskCallback(set_schedule=False, every=every)  # build_model set the schedule


def train(
    config: TrainConfig,
    *,
    tensorboard_log: str | None = None,
    progress_bar: bool = False,
    callback: BaseCallback | None = None,
    built: tuple[Any, ClusterResult | None, float, Budget] | None = None,
) -> Run:
    """Train ``config`` for its planned budget; returns the model and its learning curves and cost.

    Args:
        config: The run.
        tensorboard_log: TensorBoard directory (``None``: no logs).
        progress_bar: Show SB3's progress bar; its total is the planned budget.
        callback: Another SB3 callback to run.
        built: The result of :func:`build_model` for ``config`` when the caller built it first
            (to check everything before training); built here otherwise.

    Raises:
        ValueError: for an SB3 ``callback`` with ``backend="rllib"``.
    """
    if config.backend == "rllib":
        from ps_toolkit.rllib_backend import train_rllib

        if callback is not None:
            raise ValueError("train: callback is an SB3 callback; backend='rllib' takes none")
        return train_rllib(config, built if built is not None else build_model(config), progress=progress_bar)
    model, clusters, cluster_seconds, budget = built if built is not None else build_model(config, tensorboard_log)
    logger = ReturnLogger()
    masks = _mask_logger(model, budget.total)
    extra = [c for c in (masks, callback) if c is not None]
    callbacks = CallbackList([logger, *extra])
    start = time.perf_counter()
    model.learn(budget.total, callback=callbacks, progress_bar=progress_bar,
                tb_log_name=f"{config.method}_seed{config.seed}")
    seconds = time.perf_counter() - start
    result = RunResult(logger.steps, logger.returns, logger.team_returns, seconds, cluster_seconds,
                       count_parameters(model), int(model.num_timesteps),
                       masks.history if masks is not None else [])
    return Run(config, model, clusters, result, budget)
