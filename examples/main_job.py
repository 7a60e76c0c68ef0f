"""The README's main job: parameter sharing at work in a few minutes.

Trains SB3 PPO with three ways of sharing one network on blind-particle spread (BPS, SePS paper
section 4.1, bundled as ``integrations.bps``): agents in colour groups must each reach their
group's landmark but cannot observe their own colour. Fully shared parameters without identity
(FuPS) cannot tell the groups apart; adding the agent id (FuPS+id) or giving each agent its own
pruning mask of the shared network (SNP-PS) can. Prints a results table and writes a plot of the
learning curves.

Usage: python -m examples.main_job [--steps 200000] [--seeds 0 1] [--out out/main_job]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO

import ps_wrappers
from integrations import bps
from policies import FullSharingPolicy, PrunedMaskPolicy, count_parameters
from ps_toolkit.plots import plot_learning_curves
from ps_toolkit.training import ReturnLogger


@dataclass
class Args:
    """Settings of the main job."""

    steps: int = 200_000
    """PPO environment steps per method and seed (agent-steps: one per slot)."""
    seeds: tuple[int, ...] = (0, 1)
    """Training seeds; the table reports the mean over them."""
    group_sizes: tuple[int, ...] = (2, 2, 2)
    """Agents per colour group of BPS."""
    n_envs: int = 8
    """Env copies (slots = copies x agents)."""
    eval_episodes: int = 20
    """Greedy evaluation episodes after training."""
    out: Path = Path("out/main_job")
    """Directory for the plot and the results table."""
    methods: dict[str, tuple[type, dict[str, Any]]] = field(
        default_factory=lambda: {
            "FuPS": (FullSharingPolicy, {}),
            "FuPS+id": (FullSharingPolicy, {"agent_id": True}),
            "SNP-PS": (PrunedMaskPolicy, {}),
        }
    )
    """Method name -> (policy class, policy kwargs)."""


def train_one(args: Args, env_fn: Callable[[], Any], policy: type, kwargs: dict, seed: int) -> dict:
    """Train one method with one seed; return its curve, evaluation and cost."""
    venv = ps_wrappers.make_vec_env(env_fn, n_envs=args.n_envs, seed=seed)
    model = PPO(
        policy, venv, policy_kwargs=kwargs, n_steps=128, batch_size=1024, n_epochs=10,
        learning_rate=1e-3, ent_coef=0.0, gamma=0.95, seed=seed, device="cpu",
    )
    recorder = ReturnLogger()
    start = time.perf_counter()
    model.learn(args.steps, callback=recorder)
    seconds = time.perf_counter() - start
    result = ps_wrappers.evaluate(model, env_fn, n_episodes=args.eval_episodes, seed=10_000 + seed)
    n_agents = len(venv.layout.agents)
    return {
        "curve": (recorder.steps, recorder.returns),
        "eval_return": result.mean_team_return / n_agents,
        "params": count_parameters(model),
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> dict[str, dict]:
    """Run the main job; returns the results per method."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=Args.steps)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(Args.seeds))
    parser.add_argument("--out", type=Path, default=Args.out)
    ns = parser.parse_args(argv)
    args = Args(steps=ns.steps, seeds=tuple(ns.seeds), out=ns.out)
    torch.set_num_threads(1)
    env_fn = lambda: bps.parallel_env(group_sizes=args.group_sizes)  # noqa: E731
    groups = "+".join(map(str, args.group_sizes))
    print(f"Blind-particle spread, groups {groups}; PPO, {args.steps:,} steps, seeds {list(args.seeds)}; torch threads 1")
    results: dict[str, dict] = {}
    curves: dict[str, list] = {}
    for name, (policy, kwargs) in args.methods.items():
        runs = [train_one(args, env_fn, policy, kwargs, s) for s in args.seeds]
        curves[name] = [r["curve"] for r in runs]
        evals = [r["eval_return"] for r in runs]
        results[name] = {
            "eval_return": float(np.mean(evals)),
            "eval_spread": float(np.std(evals)),
            "params": runs[0]["params"],
            "seconds": float(np.mean([r["seconds"] for r in runs])),
        }
        print(f"  {name:8s} done: greedy return per agent {results[name]['eval_return']:8.2f}")
    lines = [
        "| method | greedy return per agent (mean ± std over seeds) | trainable params | train time (s) |",
        "|---|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['eval_return']:.2f} ± {r['eval_spread']:.2f} | {r['params']:,} | {r['seconds']:.0f} |")
    for name, value in bps.scripted_returns(args.group_sizes, n_episodes=args.eval_episodes, seed=10_000).items():
        lines.append(f"| scripted: go to {name} (reference) | {value:.2f} | 0 | 0 |")
    table = "\n".join(lines)
    print()
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(table + "\n")
    plot_learning_curves(curves, args.out / "learning_curves.png", f"BPS ({groups}): PPO with three kinds of sharing")
    print(f"\nwrote {args.out / 'results.md'} and {args.out / 'learning_curves.png'}")
    return results


if __name__ == "__main__":
    main()
