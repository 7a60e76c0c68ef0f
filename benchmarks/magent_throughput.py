"""Benchmark: ``make_vec_env`` on MAgent2 battle_v4 (162 agents, 13x13x5 image observations) vs the raw env.

* raw: the ParallelEnv stepped in a Python loop with action dicts built from precomputed actions
  (``dict(zip(env.agents, row))``), reset when every agent is done;
* ps_wrappers: ``make_vec_env(env_fn)`` (image slots: each team's observations written
  channels-first into a float32 ``[162, 5, 13, 13]`` buffer and checked against their bounds,
  agent index, acting flag, masks, per-agent episode statistics, auto-reset), stepped with the
  same actions;
* the same vec env forced onto the generic dict path (:class:`~ps_wrappers.parallel_runner.ParallelRunner`,
  which gathers the env's per-agent dict entries), to show what :mod:`ps_wrappers.magent_runner`'s
  team-array path saves; steps where an agent dies or the episode ends take that path anyway;
* optionally ``make_vec_env`` at another git revision (``--baseline``), which flattens the images.

Both count agent-steps (live agents that acted). Variants run interleaved, round after round,
median CPU time of this process (single-threaded work; robust to other jobs on a shared machine).

Usage: python -m benchmarks.magent_throughput [--steps 300] [--rounds 5] [--baseline 3f579f9]
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.timing import format_table, interleaved


def make_env(max_cycles: int) -> Callable[[], Any]:
    """A zero-argument factory of battle_v4 (map 45: 81 agents per team)."""
    from magent2.environments import battle_v4

    return lambda: battle_v4.parallel_env(map_size=45, max_cycles=max_cycles)


def variants(steps: int, max_cycles: int, baseline: tuple[str, Any] | None) -> dict[str, Callable[[], int]]:
    """Runners returning the agent-steps they did."""
    import ps_wrappers as pw

    env_fn = make_env(max_cycles)
    raw = env_fn()
    n_agents = len(raw.possible_agents)
    plan = np.random.default_rng(0).integers(0, raw.action_space(raw.possible_agents[0]).n, size=(steps, n_agents))
    rows = plan.tolist()

    def raw_run() -> int:
        env, done = raw, 0
        env.reset(seed=0)
        for row in rows:
            if not env.agents:
                env.reset()
            actions = dict(zip(env.agents, row))
            done += len(actions)
            env.step(actions)
        return done

    def vec_run(venv: Any, acting: Callable[[Any], int]) -> Callable[[], int]:
        def run() -> int:
            venv.seed(0)
            obs = venv.reset()
            done = 0
            for row in plan:
                done += acting(obs)
                obs, _, _, _ = venv.step(row)
            return done

        return run

    import ps_wrappers.construction as construction

    acting = lambda o: int(o["acting"].sum())  # noqa: E731
    out = {"raw battle_v4": raw_run, "ps_wrappers.make_vec_env": vec_run(pw.make_vec_env(env_fn), acting)}
    accepts = construction.magent_accepts
    construction.magent_accepts = lambda env, spec: False  # type: ignore[assignment]
    try:
        out["make_vec_env, dict path (ParallelRunner)"] = vec_run(pw.make_vec_env(env_fn), acting)
    finally:
        construction.magent_accepts = accepts
    if baseline is not None:
        old = baseline[1].make_vec_env(env_fn)
        index = old.layout.acting_index
        out[f"make_vec_env @ {baseline[0]} (flat rows)"] = vec_run(old, lambda o: int(o[:, index].sum()))
    return out


def main() -> None:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-cycles", type=int, default=1000)
    parser.add_argument("--baseline", default=None, help="git revision of ps_wrappers to time beside this tree")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import torch

    torch.set_num_threads(1)
    baseline = None
    if args.baseline:
        from benchmarks.baseline import load_baseline

        baseline = (args.baseline, load_baseline(args.baseline))
    rates = interleaved(variants(args.steps, args.max_cycles, baseline), args.rounds)
    title = f"MAgent2 battle_v4, 162 agents: {args.steps} steps x {args.rounds} rounds (median, CPU time)"
    print(f"torch threads: {torch.get_num_threads()}\n")
    print(format_table(title, rates, "raw battle_v4", "agent-steps/s"))
    ours = rates["ps_wrappers.make_vec_env"] / rates["raw battle_v4"]
    print(f"\nthroughput of make_vec_env vs the raw env: {ours:.2f}x (target >= 0.8x)")


if __name__ == "__main__":
    main()
