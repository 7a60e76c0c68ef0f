"""MAST benchmark: dense vs static sparse vs sparse-evolved DQN, with and without MAST's value pieces.

Task: mpe2 ``simple_spread_v3`` (cooperative navigation) with ``N`` agents, discrete actions and
short episodes, or with ``--task bps`` blind-particle spread (:mod:`integrations.bps`), through
:func:`ps_wrappers.make_vec_env`; one shared Q-network with the agent id
(FuPS+id). For every seed it trains

* ``dense``: :class:`~policies.dqn.policies.FullSharingQPolicy`;
* ``static-s``: :class:`~policies.dqn.SparseEvolvedQPolicy` with ``evolve=False``
  (a fixed random Erdos-Renyi topology at sparsity ``s``, MAST's "SS" baseline);
* ``rigl-s``: :class:`~policies.dqn.SparseEvolvedQPolicy` (RigL evolution);

each once with plain DQN targets (``td_lambda``, ``soft_mellowmax`` and ``dual_buffer`` off) and
once with MAST's value pieces on (:class:`~policies.mast.dqn.MASTDQN` defaults). Every run ends
with a greedy evaluation; FLOPs and model size come from :func:`policies.sparse.flops.flops_report`.

Run (about 25 minutes on 2 cores with the defaults)::

    .venv/bin/python benchmarks/mast_sparsity.py --procs 2

It prints a markdown table (with RigL minus static paired by seed), writes the raw results as
JSON and a PNG with the learning curves and the final returns. ``--merge A.json B.json`` combines
runs of one setting (e.g. other seeds) without training. The follow-up runs of docs/mast.md, e.g.::

    .venv/bin/python benchmarks/mast_sparsity.py --task bps --groups 1 1 1 1 1 1 --n-envs 2 \\
        --hidden 256 --total-timesteps 600000 --sparsities 0.9 \\
        --only dense/mast static-0.9/mast rigl-0.9/mast
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Args:
    """Benchmark settings (every field is a command-line option)."""

    total_timesteps: int = 50_000
    """Agent-steps of training per run (all env slots together)."""
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    """Seeds; each configuration is trained once per seed."""
    sparsities: list[float] = field(default_factory=lambda: [0.8, 0.9])
    """Sparsity levels of the static and evolved networks."""
    task: str = "spread"
    """``spread``: mpe2 simple_spread (cooperative); ``bps``: blind-particle spread (SePS)."""
    n_agents: int = 2
    """Agents (and landmarks) of simple_spread."""
    groups: list[int] = field(default_factory=lambda: [2, 2, 2])
    """Group sizes of blind-particle spread (``--task bps``)."""
    shared_reward: bool = False
    """Blind-particle spread with a team reward (every agent gets the mean; cooperative)."""
    max_cycles: int = 25
    """Episode length."""
    n_envs: int = 4
    """Env copies (slots = n_envs * n_agents)."""
    hidden: int = 128
    """Width of the two hidden layers of the Q-network."""
    update_interval: int = 200
    """Gradient steps between RigL topology updates (MAST Table 4: 200)."""
    zeta: float = 0.5
    """Initial RigL update fraction (MAST Table 4: 0.5)."""
    sparse_init: str = "dense"
    """Initialisation of the sparse networks: ``dense`` (masked) or ``fan_in`` (rescaled)."""
    eval_episodes: int = 10
    """Greedy evaluation episodes per env copy at the end of training."""
    curve_points: int = 16
    """Points of the learning curve (mean training episode return in each window)."""
    procs: int = 2
    """Parallel worker processes (each uses one torch thread)."""
    only: list[str] = field(default_factory=list)
    """Run only the configurations with these names (e.g. dense/plain rigl-0.9/mast)."""
    out_json: str = "/tmp/mast_benchmark.json"
    """Where to write the raw results."""
    out_png: str = "docs/mast_benchmark.png"
    """Where to write the plot."""
    merge: list[str] = field(default_factory=list)
    """Train nothing: merge these result JSON files (e.g. runs of other seeds), print the table
    and write ``--out-json`` and ``--out-png``. The files must share the task and network."""


def configurations(args: Args) -> list[dict[str, Any]]:
    """Every (topology, value pieces) pair to train."""
    topologies: list[dict[str, Any]] = [{"topology": "dense", "sparsity": 0.0}]
    for s in args.sparsities:
        topologies.append({"topology": f"static-{s:g}", "sparsity": s, "evolve": False})
        topologies.append({"topology": f"rigl-{s:g}", "sparsity": s, "evolve": True})
    configs = []
    for topo in topologies:
        for mast in (False, True):
            name = f"{topo['topology']}/{'mast' if mast else 'plain'}"
            if args.only and name not in args.only:
                continue
            configs.append({**topo, "mast": mast, "name": name})
    return configs


def make_env_fn(args: Args) -> Any:
    """The benchmark task's env constructor."""
    if args.task == "bps":
        from integrations import bps

        return lambda: bps.parallel_env(
            group_sizes=tuple(args.groups),
            max_cycles=args.max_cycles,
            shared_reward=args.shared_reward,
        )
    if args.task != "spread":
        raise ValueError(f"--task must be 'spread' or 'bps', got {args.task!r}")
    from mpe2 import simple_spread_v3

    return lambda: simple_spread_v3.parallel_env(
        N=args.n_agents, max_cycles=args.max_cycles, continuous_actions=False
    )


def run_one(job: tuple[dict[str, Any], int, dict[str, Any]]) -> dict[str, Any]:
    """Train and evaluate one configuration with one seed (in a worker process)."""
    import torch

    torch.set_num_threads(1)
    from stable_baselines3.common.callbacks import BaseCallback

    import ps_wrappers
    from policies import SparseEvolvedQPolicy
    from policies.dqn.policies import FullSharingQPolicy
    from policies.mast.dqn import MASTDQN
    from policies.sparse.flops import flops_report

    config, seed, raw = job
    args = Args(**raw)

    venv = ps_wrappers.make_vec_env(make_env_fn(args), n_envs=args.n_envs, seed=seed)
    policy_kwargs: dict[str, Any] = {"agent_id": True, "net_arch": [args.hidden, args.hidden]}
    policy: Any = FullSharingQPolicy
    if config["sparsity"] > 0:
        policy = SparseEvolvedQPolicy
        policy_kwargs.update(
            sparsity=config["sparsity"],
            evolve=config["evolve"],
            update_interval=args.update_interval,
            zeta=args.zeta,
            sparse_init=args.sparse_init,
        )
    value_pieces: dict[str, Any] = (
        {}
        if config["mast"]
        else {"td_lambda": False, "soft_mellowmax": False, "dual_buffer": False}
    )
    model = MASTDQN(
        policy,
        venv,
        learning_rate=5e-4,
        buffer_size=args.total_timesteps,
        learning_starts=2_000,
        batch_size=64,
        gamma=0.95,
        train_freq=1,
        gradient_steps=1,
        target_update_interval=2_000,
        exploration_fraction=0.3,
        exploration_final_eps=0.05,
        policy_kwargs=policy_kwargs,
        seed=seed,
        **value_pieces,
    )

    window = args.total_timesteps // args.curve_points
    curve: list[tuple[int, float]] = []

    class Curve(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.returns: list[float] = []
            self.next_point = window

        def _on_step(self) -> bool:
            for info in self.locals.get("infos", []):
                if "episode" in info:
                    self.returns.append(float(info["episode"]["r"]))
            if self.num_timesteps >= self.next_point:
                curve.append(
                    (
                        self.num_timesteps,
                        float(np.mean(self.returns)) if self.returns else float("nan"),
                    )
                )
                self.returns = []
                self.next_point += window
            return True

    start = time.time()
    model.learn(args.total_timesteps, callback=Curve())
    train_seconds = time.time() - start
    report = flops_report(model, target_evaluations=model.target_evaluations)
    final = evaluate(model, venv, args.eval_episodes)
    topo = getattr(model.policy, "sparse_topology", None)
    venv.close()
    return {
        "name": config["name"],
        "seed": seed,
        "final_return": final,
        "curve": curve,
        "train_seconds": train_seconds,
        "sparsity": report.sparsity,
        "flops_train_ratio": report.training_ratio,
        "flops_infer_ratio": report.inference_ratio,
        "size_ratio": report.size_ratio,
        "target_evaluations": model.target_evaluations,
        "topology_steps": int(topo.step) if topo is not None else 0,
        "t_end": topo.t_end if topo is not None else 0,
    }


def random_return(args: Args, seed: int = 1000) -> float:
    """Mean episode return per agent of uniformly random (valid) actions: the score's zero."""
    import ps_wrappers
    from policies.core.action_masks import random_valid_actions

    venv = ps_wrappers.make_vec_env(make_env_fn(args), n_envs=args.n_envs, seed=seed)
    layout = ps_wrappers.layout.get_flat_layout(venv.observation_space)
    rng = np.random.default_rng(seed)

    class Random:
        def predict(self, obs: Any, deterministic: bool = True) -> tuple[Any, None]:
            return random_valid_actions(obs, layout, venv.action_space, rng), None

    value = evaluate(Random(), venv, 4 * args.eval_episodes)
    venv.close()
    return value


def evaluate(model: Any, venv: Any, episodes: int) -> float:
    """Mean greedy episode return per agent over ``episodes`` episodes of every env copy."""
    obs = venv.reset()
    totals = np.zeros(venv.num_envs)
    finished: list[float] = []
    target = episodes * venv.num_envs
    while len(finished) < target:
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, done, _ = venv.step(action)
        totals += reward
        for slot in np.flatnonzero(done):
            finished.append(float(totals[slot]))
            totals[slot] = 0.0
    return float(np.mean(finished[:target]))


def summarise(results: list[dict[str, Any]], args: Args, random: float) -> str:
    """Markdown table: final return (mean +- std over seeds), relative to dense, FLOPs, size.

    Returns of simple_spread are negative distances, so "% of dense" is the normalised score
    ``(R - R_random) / (R_dense - R_random)``: the share of dense DQN's improvement over random
    actions that a configuration keeps.
    """
    names = [c["name"] for c in configurations(Args(**{**asdict(args), "only": []}))]
    by_name: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_name.setdefault(r["name"], []).append(r)
    dense = {
        mode: np.mean([r["final_return"] for r in by_name.get(f"dense/{mode}", [])] or [np.nan])
        for mode in ("plain", "mast")
    }
    lines = [
        f"Random actions: {random:.2f}.",
        "",
        "| configuration | sparsity | final return (mean ± std) | per seed | score vs dense DQN "
        "| score vs dense, same targets | train FLOPs | infer FLOPs | model size | s/run |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        runs = by_name.get(name)
        if not runs:
            continue
        runs = sorted(runs, key=lambda r: r["seed"])
        finals = np.array([r["final_return"] for r in runs])
        mode = name.split("/")[1]
        mean = float(finals.mean())
        per_seed = ", ".join(f"{v:.2f}" for v in finals)
        lines.append(
            f"| {name} | {np.mean([r['sparsity'] for r in runs]):.3f} "
            f"| {finals.mean():.2f} ± {finals.std():.2f} | {per_seed} "
            f"| {_score(mean, dense['plain'], random)} | {_score(mean, dense[mode], random)} "
            f"| {np.mean([r['flops_train_ratio'] for r in runs]):.3f}x "
            f"| {np.mean([r['flops_infer_ratio'] for r in runs]):.3f}x "
            f"| {np.mean([r['size_ratio'] for r in runs]):.3f}x "
            f"| {np.mean([r['train_seconds'] for r in runs]):.0f} |"
        )
    lines += paired_differences(by_name)
    return "\n".join(lines)


def _score(mean: float, reference: float, random: float) -> str:
    """Share of the reference's improvement over random actions, or n/a without a reference."""
    if np.isnan(reference):
        return "n/a"
    return f"{100.0 * (mean - random) / (reference - random):.1f}%"


def paired_interval(diffs: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Two-sided Student-t confidence interval of the mean of paired differences (NaN for n < 2)."""
    from scipy.stats import t

    n = len(diffs)
    if n < 2:
        return float("nan"), float("nan")
    half = float(t.ppf(0.5 + level / 2, n - 1)) * float(np.std(diffs, ddof=1)) / np.sqrt(n)
    return float(diffs.mean()) - half, float(diffs.mean()) + half


def paired_differences(by_name: dict[str, list[dict[str, Any]]]) -> list[str]:
    """RigL minus static final return, paired by seed (same env and initialisation stream).

    Each row gives the mean difference, its 95% Student-t interval over seeds, the per-seed
    differences and on how many seeds RigL finished ahead.
    """
    lines: list[str] = []
    for name in sorted(by_name):
        if not name.startswith("rigl-"):
            continue
        twin = "static-" + name[len("rigl-") :]
        rigl = {r["seed"]: r["final_return"] for r in by_name[name]}
        static = {r["seed"]: r["final_return"] for r in by_name.get(twin, [])}
        seeds = sorted(set(rigl) & set(static))
        if not seeds:
            continue
        diffs = np.array([rigl[k] - static[k] for k in seeds])
        if not lines:
            lines += ["", "| RigL minus static, paired by seed | mean | 95% interval | per seed | RigL ahead |"]
            lines += ["|---|---:|---:|---|---:|"]
        low, high = paired_interval(diffs)
        interval = "n/a" if np.isnan(low) else f"[{low:+.2f}, {high:+.2f}]"
        lines.append(
            f"| {name} vs {twin} | {diffs.mean():+.2f} | {interval} | {', '.join(f'{d:+.2f}' for d in diffs)} "
            f"| {int((diffs > 0).sum())} of {len(seeds)} |"
        )
    return lines


def plot(results: list[dict[str, Any]], path: str) -> None:
    """Learning curves (mean over seeds) for plain and MAST targets, and final returns."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = [m for m in ("plain", "mast") if any(r["name"].endswith("/" + m) for r in results)]
    fig, axes = plt.subplots(1, len(modes) + 1, figsize=(5.5 * (len(modes) + 1), 4.5))
    names = sorted({r["name"] for r in results})
    colours = {
        "dense": "black",
        "static-0.8": "tab:orange",
        "static-0.9": "tab:red",
        "static-0.95": "tab:brown",
        "rigl-0.8": "tab:cyan",
        "rigl-0.9": "tab:blue",
        "rigl-0.95": "tab:purple",
    }
    for ax, mode in zip(axes[:-1], modes):
        for name in names:
            topo, m = name.split("/")
            if m != mode:
                continue
            runs = [r for r in results if r["name"] == name]
            length = min(len(r["curve"]) for r in runs)
            steps = [p[0] for p in runs[0]["curve"][:length]]
            values = np.nanmean([[p[1] for p in r["curve"][:length]] for r in runs], axis=0)
            ax.plot(steps, values, label=topo, color=colours.get(topo))
        ax.set_title(f"training return, {'DQN targets' if mode == 'plain' else 'MAST targets'}")
        ax.set_xlabel("agent-steps")
        ax.set_ylabel("episode return per agent")
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    ax = axes[-1]
    for i, name in enumerate(names):
        finals = [r["final_return"] for r in results if r["name"] == name]
        ax.scatter([i] * len(finals), finals, color=colours.get(name.split("/")[0]), alpha=0.6)
        ax.plot([i - 0.3, i + 0.3], [np.mean(finals)] * 2, color="k")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=60, ha="right", fontsize=8)
    ax.set_title("final greedy return (dots: seeds, bar: mean)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def parse_args() -> Args:
    """Command-line options from the fields of :class:`Args`."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    defaults = Args()
    for name, value in asdict(defaults).items():
        flag = f"--{name.replace('_', '-')}"
        if isinstance(value, list):
            kind = float if name == "sparsities" else (int if name in ("seeds", "groups") else str)
            parser.add_argument(flag, nargs="*", type=kind, default=value)
        elif isinstance(value, bool):
            parser.add_argument(flag, action="store_true", default=value)
        else:
            parser.add_argument(flag, type=type(value), default=value)
    return Args(**vars(parser.parse_args()))


def merge(paths: list[str]) -> tuple[Args, float, list[dict[str, Any]]]:
    """Results of several JSON files of this script, with the settings of the first.

    Raises:
        ValueError: if the files differ in task, network, budget or evolution settings.
    """
    loaded = [json.loads(Path(p).read_text()) for p in paths]
    per_run = ("seeds", "sparsities", "only", "procs", "merge", "out_json", "out_png")
    fields = [f for f in asdict(Args()) if f not in per_run]
    first = Args(**loaded[0]["args"])
    for path, data in zip(paths[1:], loaded[1:]):
        other = Args(**data["args"])
        differ = sorted(f for f in fields if getattr(other, f) != getattr(first, f))
        if differ:
            raise ValueError(
                f"--merge: {path} differs from {paths[0]} in {differ}; merge runs of one setting only."
            )
    results = [r for data in loaded for r in data["results"]]
    first.sparsities = sorted({s for data in loaded for s in data["args"]["sparsities"]})
    first.seeds = sorted({r["seed"] for r in results})
    first.only = []
    return first, float(loaded[0]["random"]), results


def main() -> None:
    """Run every configuration and seed, then print the table and write JSON and PNG."""
    args = parse_args()
    if args.merge:
        merged, random, results = merge(args.merge)
        merged.out_json, merged.out_png = args.out_json, args.out_png
        Path(args.out_json).write_text(
            json.dumps({"args": asdict(merged), "random": random, "results": results}, indent=1)
        )
        print(summarise(results, merged, random))
        plot(results, args.out_png)
        print(f"wrote {args.out_json} and {args.out_png}")
        return
    jobs = [(c, seed, asdict(args)) for seed in args.seeds for c in configurations(args)]
    print(
        f"{len(jobs)} runs of {args.total_timesteps} agent-steps on {args.procs} processes",
        flush=True,
    )
    start = time.time()
    random = random_return(args)
    print(f"random actions: {random:.2f}", flush=True)
    results = []
    with mp.get_context("spawn").Pool(args.procs) as pool:
        for result in pool.imap_unordered(run_one, jobs):
            results.append(result)
            print(
                f"[{time.time() - start:6.0f}s] {result['name']:<18} seed {result['seed']}: "
                f"final {result['final_return']:.2f}, train FLOPs {result['flops_train_ratio']:.3f}x",
                flush=True,
            )
            Path(args.out_json).write_text(
                json.dumps({"args": asdict(args), "random": random, "results": results}, indent=1)
            )
    print(summarise(results, args, random))
    plot(results, args.out_png)
    print(f"wrote {args.out_json} and {args.out_png} in {time.time() - start:.0f}s")


if __name__ == "__main__":
    main()
