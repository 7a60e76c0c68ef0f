"""Benchmark: in-process vs multi-process ``make_vec_env`` on cheap and expensive envs (issue 3).

Steps 8 copies with precomputed random valid actions, interleaved rounds, median agent-steps/s.
Wall-clock time (the work is in other processes). The multi-process vec env pays a pipe round trip per step, so it only wins when one env step is
expensive (physics: multiwalker) and there are idle cores.

Usage: python -m benchmarks.subproc_throughput [--steps 300] [--rounds 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.timing import format_table, interleaved

N_COPIES = 8


def runner(venv: Any, steps: int) -> Callable[[], int]:
    """Step ``venv`` with precomputed random valid actions; return agent-steps done."""
    rng = np.random.default_rng(0)
    if venv.layout.n_actions:
        plan = [rng.integers(0, venv.layout.action_nvec[0], venv.num_envs) for _ in range(steps)]
    else:
        low, high = venv.action_space.low, venv.action_space.high
        plan = [rng.uniform(low, high, (venv.num_envs, *low.shape)).astype(np.float32) for _ in range(steps)]

    def run() -> int:
        venv.reset()
        for actions in plan:
            venv.step(actions)
        return steps * venv.num_envs

    return run


def main() -> None:
    """Print one table per env."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from mpe2 import simple_spread_v3
    from pettingzoo.sisl import multiwalker_v9

    import ps_wrappers as pw

    envs = {
        "multiwalker_v9 (Box2D physics)": multiwalker_v9.parallel_env,
        "simple_spread_v3 (cheap)": simple_spread_v3.parallel_env,
    }
    print(f"{N_COPIES} copies, {args.workers} workers, cpu_count={os.cpu_count()}\n")
    for name, fn in envs.items():
        local = pw.make_vec_env(fn, n_envs=N_COPIES, seed=0, invalid_action="random_valid")
        remote = pw.make_vec_env(
            fn, n_envs=N_COPIES, seed=0, vec_env_cls="subproc", n_workers=args.workers, invalid_action="random_valid"
        )
        try:
            rates = interleaved(
                {"in-process (dummy)": runner(local, args.steps), f"subproc, {args.workers} workers": runner(remote, args.steps)},
                args.rounds,
                clock="wall",
            )
        finally:
            remote.close()
        print(format_table(f"{name}: {args.steps} steps x {args.rounds} rounds (median)", rates, "in-process (dummy)", "agent-steps/s"))
        print()


if __name__ == "__main__":
    main()
