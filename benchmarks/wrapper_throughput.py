"""Micro-benchmark: our three wrappers vs SuperSuit's vs the raw env (issue 2).

Stacks pad_observations -> pad_actions -> agent_indicator on mpe2 simple_world_comm_v3 (Parallel
API) and times agent-steps/s side by side with SuperSuit's pad_observations_v0 +
pad_action_space_v0 + agent_indicator_v0 and the raw env. Actions are precomputed valid actions of
each agent's own space, identical for all variants. Throughput is measured in process CPU time
(single-threaded; robust to other jobs on a shared machine), medians of interleaved rounds.

Usage: python benchmarks/wrapper_throughput.py [--steps 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.timing import format_table, interleaved


def make_variants(env_fn: Callable[[], Any], steps: int) -> dict[str, Callable[[], int]]:
    """Zero-argument runners (returning agent-steps done) for raw, ours and SuperSuit."""
    import supersuit as ss

    import ps_wrappers as pw

    envs = {
        "raw env": env_fn(),
        "ps_wrappers (3 wrappers)": pw.agent_indicator(pw.pad_actions(pw.pad_observations(env_fn()))),
        "SuperSuit (3 wrappers)": ss.agent_indicator_v0(
            ss.pad_action_space_v0(ss.pad_observations_v0(env_fn())), type_only=False
        ),
    }
    raw = envs["raw env"]
    rng = np.random.default_rng(0)
    plan = [
        {a: int(rng.integers(raw.action_space(a).n)) for a in raw.possible_agents} for _ in range(steps)
    ]

    def runner(env: Any) -> Callable[[], int]:
        def run() -> int:
            env.reset(seed=0)
            done = 0
            for actions in plan:
                if not env.agents:
                    env.reset()
                env.step({a: actions[a] for a in env.agents})
                done += len(actions)
            return done

        return run

    return {name: runner(env) for name, env in envs.items()}


def main() -> None:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from mpe2 import simple_world_comm_v3

    rates = interleaved(make_variants(lambda: simple_world_comm_v3.parallel_env(max_cycles=25), args.steps), args.rounds)
    print(format_table(
        f"simple_world_comm_v3, Parallel API, {args.steps} steps x {args.rounds} interleaved rounds (median, CPU time)",
        rates, "raw env", "agent-steps/s",
    ))


if __name__ == "__main__":
    main()
