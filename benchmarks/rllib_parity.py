"""Benchmark: the same method, budget and PPO hyperparameters on SB3 and on Ray RLlib.

Each run is one :class:`ps_toolkit.training.TrainConfig` trained by :func:`ps_toolkit.training.train`
(what ``ps-train`` runs), once with ``backend="sb3"`` and once with ``backend="rllib"``: the same
method object builds the networks (:mod:`policies.rllib.build`), the same budget is planned
(:func:`ps_toolkit.budget.plan_budget`) and SB3's PPO hyperparameters are mapped to RLlib's
(:data:`ps_toolkit.rllib_backend.SB3_TO_RLLIB`). RLlib samples in this process
(``num_env_runners=0``), as SB3 does, so only the training code differs.

Tasks:

* ``identity``: :class:`ps_wrappers.testing.AgentIdentityEnv` (4 agents, 4 actions, 10 steps; chance
  and FuPS score 10 of 40, an identity-aware team 40);
* ``bps``: blind-particle spread 2+2+2 (:mod:`integrations.bps`) with the setting of the suite's
  BPS comparison (``benchmarks.suite.ENVS["bps"]``: 220,000 steps, 8 env copies, its PPO
  hyperparameters), whose SB3 results are in ``docs/results.md``.

For every (task, method, backend, seed): the greedy evaluation return per agent of the trained
policy (20 episodes, :func:`ps_wrappers.evaluate`; the RLlib module through its exported SB3 policy,
:func:`policies.rllib.module_policy`) and the mean per-agent training return of the last
iteration. The table gives mean +- std over seeds; ``--plot`` writes the learning curves.
``torch.set_num_threads(1)``.

Usage:
    python -m benchmarks.rllib_parity [--tasks identity bps] [--methods FuPS FuPS+id SNP-PS]
        [--seeds 0 1 2] [--bps-steps 220000] [--plot docs/rllib_parity.png] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import ps_wrappers
from benchmarks.suite import ENVS
from ps_toolkit.registry import make_env_fn
from ps_toolkit.training import TrainConfig, train
from ps_wrappers.testing import AgentIdentityEnv

BACKENDS = ("sb3", "rllib")
EVAL_EPISODES = 20


def parallel_env(**kwargs: Any) -> AgentIdentityEnv:
    """The identity task, importable by module path (``ps_toolkit.registry.make_env_fn``)."""
    return AgentIdentityEnv(**kwargs)


@dataclass(frozen=True)
class Task:
    """A task of the benchmark: env, budget and SB3 PPO hyperparameters (the same on both backends)."""

    env: str
    env_kwargs: dict[str, Any]
    steps: int
    n_envs: int
    ppo: dict[str, Any]


def tasks(identity_steps: int, bps_steps: int | None) -> dict[str, Task]:
    """The benchmark's tasks at the given budgets (``bps_steps=None``: the suite's)."""
    bps = ENVS["bps"]
    return {
        "identity": Task("benchmarks.rllib_parity", {}, identity_steps, 8,
                         {"n_steps": 32, "batch_size": 256, "n_epochs": 4, "learning_rate": 3e-3}),
        "bps": Task(bps.env, {k: list(v) if isinstance(v, tuple) else v for k, v in bps.env_kwargs.items()},
                    bps.steps if bps_steps is None else bps_steps, 8, dict(bps.ppo)),
    }


def run_one(task: Task, method: str, backend: str, seed: int) -> dict[str, Any]:
    """Train and evaluate one configuration; its figures."""
    config = TrainConfig(env=task.env, env_kwargs=task.env_kwargs, method=method, algorithm="ppo",
                         algo_kwargs=task.ppo, steps=task.steps, seed=seed, n_envs=task.n_envs, backend=backend)
    start = time.perf_counter()
    run = train(config)
    seconds = time.perf_counter() - start
    actor = run.model.policy if backend == "rllib" else run.model
    env_fn = make_env_fn(task.env, task.env_kwargs)
    greedy = ps_wrappers.evaluate(actor, env_fn, EVAL_EPISODES, seed=10_000)
    n_agents = len(env_fn().possible_agents)
    if backend == "rllib":
        run.model.algo.stop()
    return {"greedy": greedy.mean_team_return / n_agents, "train": run.result.returns[-1], "seconds": seconds,
            "steps": run.result.steps, "returns": run.result.returns}


def _mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def table(records: list[dict[str, Any]]) -> str:
    """A markdown table: per task and method, both backends' greedy and training returns and time."""
    lines = ["| task | method | backend | greedy return / agent | training return / agent | seconds / run |",
             "|---|---|---|---|---|---|"]
    keys = list(dict.fromkeys((r["task"], r["method"], r["backend"]) for r in records))
    for task, method, backend in keys:
        rows = [r for r in records if (r["task"], r["method"], r["backend"]) == (task, method, backend)]
        lines.append(f"| {task} | {method} | {backend} | {_mean_std([r['greedy'] for r in rows])} | "
                     f"{_mean_std([r['train'] for r in rows])} | {statistics.mean(r['seconds'] for r in rows):.0f} |")
    return "\n".join(lines)


def plot(records: list[dict[str, Any]], path: str) -> None:
    """Mean training return per agent over steps, one panel per task, a line per method and backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    task_names = list(dict.fromkeys(r["task"] for r in records))
    fig, axes = plt.subplots(1, len(task_names), figsize=(5 * len(task_names), 3.5), squeeze=False)
    for ax, task in zip(axes[0], task_names):
        for method, backend in dict.fromkeys((r["method"], r["backend"]) for r in records if r["task"] == task):
            rows = [r for r in records if (r["task"], r["method"], r["backend"]) == (task, method, backend)]
            n = min(len(r["returns"]) for r in rows)
            curve = np.mean([r["returns"][:n] for r in rows], axis=0)
            ax.plot(rows[0]["steps"][:n], curve, ("-" if backend == "sb3" else "--"), label=f"{method} ({backend})")
        ax.set_title(task)
        ax.set_xlabel("agent steps")
        ax.set_ylabel("training return per agent")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["identity", "bps"], choices=["identity", "bps"])
    parser.add_argument("--methods", nargs="+", default=["FuPS", "FuPS+id", "SNP-PS"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--identity-steps", type=int, default=12_000)
    parser.add_argument("--bps-steps", type=int, default=None, help="default: the suite's 220,000")
    parser.add_argument("--plot", default=None, help="write the learning curves to this PNG")
    parser.add_argument("--json", default=None, help="write the records to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    import ray

    from policies.rllib import deterministic_runtime_env

    ray.init(num_cpus=1, runtime_env=deterministic_runtime_env(), include_dashboard=False,
             log_to_driver=False, configure_logging=False)
    all_tasks = tasks(args.identity_steps, args.bps_steps)
    records = []
    start = time.perf_counter()
    for name in args.tasks:
        for method in args.methods:
            for seed in args.seeds:
                for backend in BACKENDS:
                    record = {"task": name, "method": method, "backend": backend, "seed": seed,
                              **run_one(all_tasks[name], method, backend, seed)}
                    records.append(record)
                    print(f"{name:8s} {method:8s} {backend:5s} seed {seed}: greedy {record['greedy']:.2f}, "
                          f"train {record['train']:.2f}, {record['seconds']:.0f}s", flush=True)
    print(f"\n{table(records)}\n\ntotal {time.perf_counter() - start:.0f}s; torch threads 1")
    if args.plot:
        plot(records, args.plot)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f)
    ray.shutdown()
    return records


if __name__ == "__main__":
    main()
