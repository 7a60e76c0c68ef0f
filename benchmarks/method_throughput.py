"""PPO training throughput of every sharing method relative to FuPS, interleaved in one process.

The setting of the suite's BPS(1) comparison (``benchmarks/suite.py``, env ``bps15``): blind-particle
spread with 15 agents in 3 groups of 5, 8 env copies (120 slots), PPO with the suite's BPS
hyperparameters (``n_steps=128, batch_size=1024, n_epochs=10``), SB3's 64-64 actor and critic.
Every method of the suite is built as ``ps-train`` builds it (``ps_toolkit.registry``), except that
SePS and AdaPS get the three colour groups as clusters (the identity clustering is a one-off cost
before training, timed apart by the suite) and Kaleidoscope's reset schedule is set as in a
``ps-train`` run. Each round trains every method once, in turn, so machine-load drift hits all
alike; the table gives the median over rounds of agent-steps per CPU second of this process (one
torch thread) and the time relative to FuPS. The HetDPS paper (AAMAS 2026) reports training speed
relative to FuPS (GPU): Kaleidoscope 0.97x, AdaPS 0.61x, SePS 0.99x.

Usage::

    .venv/bin/python -m benchmarks.method_throughput                 # full run
    .venv/bin/python -m benchmarks.method_throughput --rounds 1 --timesteps 15360   # quick check
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from dataclasses import dataclass

import torch
from stable_baselines3 import PPO

import ps_wrappers
from benchmarks.suite import ENVS, METHOD_ORDER, VARIANTS
from integrations import bps
from policies import set_evolution_horizon, set_mask_schedule
from policies.learned import regularizers_of
from ps_toolkit.registry import method_spec

__all__ = ["Args", "main"]


@dataclass
class Args:
    """Benchmark settings."""

    group_sizes: tuple[int, ...] = (5, 5, 5)
    """BPS colour groups (BPS(1): three groups of five)."""
    n_envs: int = 8
    """Env copies (slots = copies x agents)."""
    timesteps: int = 3 * 128 * 120
    """Agent-steps timed per method and round (three PPO rollouts, after one untimed rollout)."""
    rounds: int = 3
    """Rounds; the median is reported."""
    seed: int = 0
    """Seed of env and model."""


def _model(method: str, args: Args) -> PPO:
    name, extra = VARIANTS.get(method, (method, {}))
    spec = method_spec(name)
    kwargs = {**spec.kwargs, **extra}
    if spec.identity_clusters:
        kwargs["clusters"] = [g for g, size in enumerate(args.group_sizes) for _ in range(size)]
    env_fn = functools.partial(bps.parallel_env, group_sizes=args.group_sizes)
    venv = ps_wrappers.make_vec_env(env_fn, n_envs=args.n_envs, seed=args.seed)
    model = PPO(spec.actor_critic, venv, policy_kwargs=kwargs, seed=args.seed, device="cpu", **ENVS["bps15"].ppo)
    total = args.timesteps * (args.rounds + 1)
    if hasattr(model.policy, "sparse_topology"):
        set_evolution_horizon(model, total)
    if regularizers_of(model):
        set_mask_schedule(model, total)
    model.learn(model.n_steps * venv.num_envs)  # warm-up: one rollout and update, untimed
    return model


def main(args: Args) -> dict[str, tuple[float, float]]:
    """Run the benchmark and print a Markdown table; returns ``{method: (CPU steps/s, time vs FuPS)}``."""
    torch.set_num_threads(1)
    models = {method: _model(method, args) for method in METHOD_ORDER}
    rates: dict[str, list[float]] = {method: [] for method in METHOD_ORDER}
    for _ in range(args.rounds):
        for method, model in models.items():
            before, cpu = model.num_timesteps, time.process_time()
            model.learn(args.timesteps, reset_num_timesteps=False)
            rates[method].append((model.num_timesteps - before) / (time.process_time() - cpu))
    medians = {method: statistics.median(values) for method, values in rates.items()}
    reference = medians["FuPS"]
    n_agents = sum(args.group_sizes)
    print(
        f"PPO on BPS {'+'.join(map(str, args.group_sizes))} ({n_agents} agents), {args.n_envs} copies = "
        f"{args.n_envs * n_agents} slots, hyperparameters {ENVS['bps15'].ppo}, net 64-64, "
        f"{args.timesteps:,} agent-steps x {args.rounds} rounds (median), 1 torch thread, CPU time\n"
    )
    print("| method | agent-steps / CPU s | time vs FuPS | training speed vs FuPS |")
    print("|---|---:|---:|---:|")
    out = {}
    for method, rate in medians.items():
        print(f"| {method} | {rate:,.0f} | {reference / rate:.2f}x | {rate / reference:.2f}x |")
        out[method] = (rate, reference / rate)
    return out


def _parse() -> Args:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--group-sizes", type=int, nargs="+", default=list(Args.group_sizes))
    for name in ("n_envs", "timesteps", "rounds", "seed"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(Args, name))
    ns = parser.parse_args()
    return Args(tuple(ns.group_sizes), ns.n_envs, ns.timesteps, ns.rounds, ns.seed)


if __name__ == "__main__":
    main(_parse())
