"""Blind-particle spread scaling: agent-steps per second for 10, 100 and 1,000 agents.

Measures the raw ``integrations.bps`` ParallelEnv (BPS and BPS-h) and the same env through
``ps_wrappers.make_vec_env`` (one SB3 slot per agent). Actions are drawn in advance so that only
stepping is timed; episode resets are included (25-step episodes). Prints a markdown table and the
thread settings.

Usage:
    .venv/bin/python benchmarks/bps_scaling.py [--agent-steps 500000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import dataclass, fields

import numpy as np
import torch

from integrations import bps


@dataclass
class Args:
    """Benchmark settings."""

    agents: tuple[int, ...] = (10, 100, 1000)
    """Agent counts to measure (split into 3 colour groups as evenly as possible)."""
    agent_steps: int = 500_000
    """Agent-steps per measurement (env steps = agent_steps / agents)."""
    repeats: int = 3
    """Measurements per cell; the table shows the median."""
    torch_threads: int = 1
    """torch.set_num_threads value (torch is imported by make_vec_env's SB3 dependency)."""
    seed: int = 0
    """Seed of the env and of the random actions."""


def groups_of(n: int) -> tuple[int, ...]:
    """Split ``n`` agents into 3 groups (fewer if ``n < 3``)."""
    k = min(3, n)
    return tuple(n // k + (1 if i < n % k else 0) for i in range(k))


def raw_rate(n: int, heterogeneous: bool, args: Args) -> float:
    """Agent-steps/s of the raw ParallelEnv."""
    env = bps.parallel_env(group_sizes=groups_of(n), heterogeneous=heterogeneous)
    rng = np.random.default_rng(args.seed)
    pool = [
        dict(zip(env.possible_agents, rng.integers(0, 5, n).tolist())) for _ in range(64)
    ]
    steps = max(1, args.agent_steps // n)
    env.reset(seed=args.seed)
    start = time.perf_counter()
    for t in range(steps):
        if not env.agents:
            env.reset()
        env.step(pool[t % 64])
    return steps * n / (time.perf_counter() - start)


def vec_rate(n: int, args: Args) -> float:
    """Agent-steps/s through ``ps_wrappers.make_vec_env`` (one copy, ``n`` slots)."""
    from functools import partial

    from ps_wrappers import make_vec_env

    venv = make_vec_env(partial(bps.parallel_env, group_sizes=groups_of(n)), n_envs=1, seed=0)
    rng = np.random.default_rng(args.seed)
    pool = [rng.integers(0, 5, venv.num_envs) for _ in range(64)]
    steps = max(1, args.agent_steps // n)
    venv.reset()
    start = time.perf_counter()
    for t in range(steps):
        venv.step(pool[t % 64])
    elapsed = time.perf_counter() - start
    venv.close()
    return steps * n / elapsed


def thread_report(args: Args) -> str:
    """Describe the torch / numpy threading in effect."""
    env_vars = {
        k: os.environ.get(k, "unset")
        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    }
    blas = "threadpoolctl not installed"
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(
            f"{i['internal_api']}={i['num_threads']}" for i in threadpool_info()
        ) or "no BLAS pools loaded"
    except ImportError:
        pass
    return (
        f"torch {torch.__version__} threads={torch.get_num_threads()} "
        f"(set_num_threads({args.torch_threads})); numpy {np.__version__} BLAS: {blas}; "
        f"env: {env_vars}; cpu_count={os.cpu_count()}; {platform.processor() or platform.machine()}"
    )


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for f in fields(Args):
        if f.name == "agents":
            parser.add_argument("--agents", type=int, nargs="+", default=list(Args.agents))
        else:
            parser.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default)
    ns = parser.parse_args()
    args = Args(**{**vars(ns), "agents": tuple(ns.agents)})
    torch.set_num_threads(args.torch_threads)
    print(thread_report(args))
    print(f"{args.agent_steps} agent-steps per cell, median of {args.repeats}\n")
    print("| agents | raw BPS (agent-steps/s) | raw BPS-h (agent-steps/s) | make_vec_env BPS (agent-steps/s) | make_vec_env / raw |")
    print("|---:|---:|---:|---:|---:|")
    for n in args.agents:
        raw = float(np.median([raw_rate(n, False, args) for _ in range(args.repeats)]))
        het = float(np.median([raw_rate(n, True, args) for _ in range(args.repeats)]))
        vec = float(np.median([vec_rate(n, args) for _ in range(args.repeats)]))
        print(f"| {n} | {raw:,.0f} | {het:,.0f} | {vec:,.0f} | {vec / raw:.2f} |")


if __name__ == "__main__":
    main()
