"""Sharing-method benchmark suite: the SePS / SNP-PS comparison on BPS, LBF, C-RWARE, simple_world_comm.

Trains every method (NoPS, FuPS, FuPS+id, SePS, SNP-PS, SNP-PS with pruning 0.5, AdaPS, Sparse+id,
Kaleidoscope) with PPO and the same budget on each env, over several seeds, two training processes
at a time (one torch thread each). Writes ``runs.jsonl`` (one line per finished run; rerunning
skips finished runs), ``results.md`` (greedy evaluation return, final training return, parameters,
wall time per method and env), learning curves per env, the SePS cluster embedding, the SNP-PS /
AdaPS / Kaleidoscope mask overlap and Kaleidoscope's mask overlap over training.

Usage:
    python -m benchmarks.suite --quick               # minutes: tiny budgets, one seed
    python -m benchmarks.suite --out out/suite       # about an hour on 2 cores
    python -m benchmarks.suite --envs bps --methods FuPS SePS --seeds 0 1
    python -m benchmarks.suite --envs bps15          # BPS(1), the SePS paper's scale (15 agents)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ps_wrappers
from ps_toolkit.plots import agent_names as _agent_names
from ps_toolkit.plots import (
    plot_cluster_embedding,
    plot_learning_curves,
    plot_mask_history,
    plot_mask_overlap,
)
from ps_toolkit.registry import make_env_fn
from ps_toolkit.training import TrainConfig, train

__all__ = ["ABLATIONS", "ENVS", "METHOD_ORDER", "VARIANTS", "Args", "EnvSetting", "main", "run_job", "write_results"]

METHOD_ORDER = ("NoPS", "FuPS", "FuPS+id", "SePS", "SNP-PS", "SNP-PS 0.5", "AdaPS", "Sparse+id", "Kaleidoscope")
"""The suite's methods: ``ps_toolkit.registry`` names and the variants of :data:`VARIANTS`."""

ABLATIONS = ("Kaleidoscope -id",)
"""Variants run only when named (``--methods``): Kaleidoscope's masks without the agent id input."""

VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "SNP-PS 0.5": ("SNP-PS", {"actor_pruning": 0.5, "critic_pruning": 0.5}),
    "Kaleidoscope -id": ("Kaleidoscope", {"agent_id": False}),
}
"""Suite method -> (registry method, policy kwargs): a method with other options than its defaults."""


@dataclass(frozen=True)
class EnvSetting:
    """An env of the suite with its budget and PPO hyperparameters."""

    title: str
    """Name in tables and plots."""
    env: str
    """``ps_toolkit.registry`` env name or module path."""
    env_kwargs: dict[str, Any]
    """``parallel_env`` arguments."""
    steps: int
    """Training steps per run (all agents)."""
    seeds: tuple[int, ...]
    """Seeds of the full suite."""
    ppo: dict[str, Any]
    """PPO hyperparameters."""
    quick_steps: int = 20_000
    """Training steps with ``--quick``."""


_PPO = {"n_steps": 128, "batch_size": 1024, "n_epochs": 10, "learning_rate": 1e-3}

ENVS: dict[str, EnvSetting] = {
    "bps": EnvSetting("BPS (2+2+2)", "bps", {"group_sizes": (2, 2, 2)}, 220_000, (0, 1, 2),
                      {**_PPO, "ent_coef": 0.0, "gamma": 0.95}),
    "lbf": EnvSetting("LBF 8x8, levels 1,1,1,2,2,2, food level 2", "lbforaging",
                      {"field_size": 8, "players": 6, "max_num_food": 6,
                       "player_levels": (1, 1, 1, 2, 2, 2), "food_level": 2},
                      200_000, (0, 1, 2), {**_PPO, "ent_coef": 0.01, "gamma": 0.99}),
    "crware": EnvSetting("C-RWARE(1)", "crware", {}, 60_000, (0, 1),
                         {**_PPO, "ent_coef": 0.01, "gamma": 0.99}),
    "swc": EnvSetting("simple_world_comm_v3", "mpe2.simple_world_comm_v3", {}, 60_000, (0, 1),
                      {**_PPO, "ent_coef": 0.0, "gamma": 0.95}),
    "bps15": EnvSetting("BPS(1): 15 agents, 3 groups of 5", "bps", {"group_sizes": (5, 5, 5)}, 600_000, (0, 1, 2),
                        {**_PPO, "ent_coef": 0.0, "gamma": 0.95}, quick_steps=60_000),
}
"""Suite env key -> setting."""


@dataclass
class Args:
    """Settings of the suite."""

    quick: bool = False
    """Tiny budgets (``quick_steps``), one seed, few evaluation episodes: minutes."""
    envs: tuple[str, ...] = ("bps", "lbf", "crware", "swc")
    """Env keys to run (``bps``, ``lbf``, ``crware``, ``swc``, ``bps15``); the default leaves out
    ``bps15`` (600k steps per run)."""
    methods: tuple[str, ...] = METHOD_ORDER
    """Methods to run."""
    seeds: tuple[int, ...] | None = None
    """Seeds (default: each env's seeds; ``(0,)`` with ``--quick``)."""
    workers: int = 2
    """Training processes in parallel."""
    n_envs: int = 8
    """Env copies per run."""
    eval_episodes: int = 20
    """Greedy evaluation episodes after training (3 with ``--quick``)."""
    out: Path = Path("out/suite")
    """Output directory."""
    cluster_kwargs: dict[str, Any] = field(default_factory=dict)
    """``cluster_agents`` arguments for SePS / AdaPS (paper procedure: defaults; quick: small)."""


def _jobs(args: Args) -> list[dict[str, Any]]:
    jobs = []
    for key in args.envs:
        setting = ENVS[key]
        seeds = args.seeds if args.seeds is not None else ((0,) if args.quick else setting.seeds)
        for seed in seeds:
            for method in args.methods:
                jobs.append({
                    "key": key, "title": setting.title, "env": setting.env,
                    "env_kwargs": dict(setting.env_kwargs), "method": method, "seed": seed,
                    "steps": setting.quick_steps if args.quick else setting.steps,
                    "ppo": dict(setting.ppo), "n_envs": args.n_envs,
                    "eval_episodes": 3 if args.quick else args.eval_episodes,
                    "cluster_kwargs": dict(args.cluster_kwargs), "out": str(args.out),
                    "figures": seed == seeds[0],
                })
    return jobs


def _job_id(job: dict[str, Any]) -> str:
    return f"{job['key']}|{job['method']}|{job['seed']}|{job['steps']}"


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train and evaluate one (env, method, seed); returns the record written to ``runs.jsonl``."""
    torch.set_num_threads(1)
    method, method_kwargs = VARIANTS.get(job["method"], (job["method"], {}))
    config = TrainConfig(env=job["env"], env_kwargs=job["env_kwargs"], method=method, method_kwargs=method_kwargs,
                         algorithm="ppo", algo_kwargs=job["ppo"], steps=job["steps"], seed=job["seed"],
                         n_envs=job["n_envs"], cluster_kwargs=job["cluster_kwargs"])
    start = time.perf_counter()
    run = train(config)
    env_fn = make_env_fn(config.env, config.env_kwargs)
    evaluation = ps_wrappers.evaluate(run.model, env_fn, n_episodes=job["eval_episodes"], seed=10_000 + config.seed)
    n_agents = len(evaluation.agent_returns)
    figures = Path(job["out"]) / "figures"
    slug = f"{job['key']}_{job['method'].lower().replace('+', '_').replace(' ', '_').replace('.', '')}"
    if job["figures"] and run.clusters is not None and job["method"] == "SePS":
        plot_cluster_embedding(run.clusters, figures / f"{slug}_clusters.png", f"{job['title']}: SePS embedding")
    if job["figures"] and method in ("SNP-PS", "AdaPS", "Kaleidoscope"):
        agents = _agent_names(run.model)
        plot_mask_overlap(run.model.policy.policy_network, agents, figures / f"{slug}_mask_overlap.png",
                          f"{job['title']}: {job['method']} actor mask overlap")
    if job["figures"] and run.result.mask_history:
        plot_mask_history(run.result.mask_history, figures / f"{slug}_mask_history.png",
                          f"{job['title']}: {job['method']} masks over training")
    record = {
        "id": _job_id(job), "key": job["key"], "title": job["title"], "method": job["method"],
        "seed": job["seed"], "steps": job["steps"],
        "eval_return": evaluation.mean_team_return / n_agents, "n_agents": n_agents,
        "train_return": run.result.returns[-1] if run.result.returns else float("nan"),
        "params": run.result.params, "train_seconds": run.result.seconds,
        "cluster_seconds": run.result.cluster_seconds, "total_seconds": time.perf_counter() - start,
        "clusters": None if run.clusters is None else list(run.clusters.cluster_of_agent),
        "curve": [run.result.steps, run.result.returns],
        "mask_history": run.result.mask_history,
    }
    return record


def write_results(records: list[dict[str, Any]], out: Path, args: Args) -> str:
    """Write ``results.md`` and one learning-curve PNG per env; returns the markdown."""
    lines: list[str] = []
    for key in [k for k in ENVS if any(r["key"] == k for r in records)]:
        rows = [r for r in records if r["key"] == key]
        setting = ENVS[key]
        seeds = sorted({r["seed"] for r in rows})
        team = all("n_agents" in r for r in rows)  # runs recorded before the column existed lack it
        lines += [f"### {setting.title}", "",
                  f"PPO, {rows[0]['steps']:,} steps per run, seeds {seeds}, {args.n_envs} env copies; "
                  f"hyperparameters {setting.ppo}.", "",
                  "| method | greedy eval return per agent |" + (" greedy eval team return |" if team else "")
                  + " final training return per agent | params | train time (s) | clusters |",
                  "|---|---:|" + ("---:|" if team else "") + "---:|---:|---:|---|"]
        curves = {}
        for method in [m for m in METHOD_ORDER + ABLATIONS if any(r["method"] == m for r in rows)]:
            runs = [r for r in rows if r["method"] == method]
            ev = np.array([r["eval_return"] for r in runs])
            tr = np.array([r["train_return"] for r in runs])
            clusters = "; ".join(str(tuple(r["clusters"])) for r in runs if r["clusters"] is not None)
            seconds = np.mean([r["train_seconds"] + r["cluster_seconds"] for r in runs])
            team_cell = ""
            if team:
                totals = np.array([r["eval_return"] * r["n_agents"] for r in runs])
                team_cell = f" {totals.mean():.1f} ± {totals.std():.1f} |"
            lines.append(f"| {method} | {ev.mean():.3f} ± {ev.std():.3f} |{team_cell} {tr.mean():.3f} ± {tr.std():.3f} | "
                         f"{runs[0]['params']:,} | {seconds:.0f} | {clusters or '-'} |")
            curves[method] = [tuple(r["curve"]) for r in runs]
        lines += ["", "(mean ± std over seeds; train time includes SePS/AdaPS clustering)", ""]
        plot_learning_curves(curves, out / f"curves_{key}.png", f"{setting.title}: PPO, mean over seeds {seeds}")
    text = "\n".join(lines)
    (out / "results.md").write_text(text + "\n")
    return text


def main(argv: list[str] | None = None) -> str:
    """Run the suite (skipping finished runs) and write the results; returns the markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--envs", nargs="+", default=list(Args.envs), choices=list(ENVS))
    parser.add_argument("--methods", nargs="+", default=list(Args.methods), choices=list(METHOD_ORDER + ABLATIONS))
    parser.add_argument("--seeds", nargs="+", type=int, default=None)
    parser.add_argument("--workers", type=int, default=Args.workers)
    parser.add_argument("--out", type=Path, default=Args.out)
    parser.add_argument("--report-only", action="store_true", help="only rewrite results from runs.jsonl")
    ns = parser.parse_args(argv)
    args = Args(quick=ns.quick, envs=tuple(ns.envs), methods=tuple(ns.methods),
                seeds=None if ns.seeds is None else tuple(ns.seeds), workers=ns.workers, out=ns.out,
                cluster_kwargs={"n_samples": 2_000, "n_updates": 300} if ns.quick else {})
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "runs.jsonl"
    done = {json.loads(line)["id"] for line in log.read_text().splitlines()} if log.exists() else set()
    jobs = [] if ns.report_only else [j for j in _jobs(args) if _job_id(j) not in done]
    print(f"{len(jobs)} runs to do ({len(done)} already in {log}), {args.workers} workers", flush=True)
    (args.out / "suite_args.json").write_text(json.dumps(asdict(args), default=str, indent=1))
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(args.workers, maxtasksperchild=1) as pool:
        for record in pool.imap_unordered(run_job, jobs):
            with log.open("a") as f:
                f.write(json.dumps(record) + "\n")
            print(f"[{time.perf_counter() - start:6.0f}s] {record['id']}: eval {record['eval_return']:.3f} "
                  f"train {record['train_return']:.3f} ({record['total_seconds']:.0f}s)", flush=True)
    wanted = {_job_id(j) for j in _jobs(args)}
    records = [r for r in map(json.loads, log.read_text().splitlines()) if r["id"] in wanted]
    text = write_results(records, args.out, args)
    print(text)
    wall = time.perf_counter() - start
    if jobs:
        with (args.out / "wall_times.txt").open("a") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M')} {len(jobs)} runs, {args.workers} workers: {wall:.0f}s\n")
    print(f"suite wall time {wall:.0f}s; wrote {args.out / 'results.md'}")
    return text


if __name__ == "__main__":
    main()
