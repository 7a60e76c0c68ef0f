"""Benchmark: make_vec_env vs SuperSuit's vec stack vs raw env copies, and PPO end to end (issue 3).

For each env (mpe2 simple_spread_v3 and simple_world_comm_v3, 4 copies):
* raw: 4 raw ParallelEnvs stepped in a Python loop with action dicts;
* ps_wrappers: ``make_vec_env(env_fn, n_envs=4)`` (padding, one-hot ids, masks, auto-reset);
* SuperSuit: pad_observations_v0 + pad_action_space_v0 + agent_indicator_v0 +
  pettingzoo_env_to_vec_env_v1 + concat_vec_envs_v1(4, num_cpus=0, base_class="stable_baselines3").
Vec variants are stepped with precomputed valid actions; times are medians of interleaved rounds, in process CPU time
(single-threaded work; robust to other jobs on a shared machine).
With --ppo, also SB3 PPO("MlpPolicy") training steps/s on ours vs SuperSuit's vec env.
With --baseline REV, also ``make_vec_env`` as it was at git revision REV (imported beside the
current code by :mod:`benchmarks.baseline`), interleaved with the rest: the before/after check.

Usage: python -m benchmarks.vec_env_throughput [--steps 1000] [--rounds 5] [--ppo 8192] [--baseline 3f579f9]
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.timing import format_table, interleaved

N_COPIES = 4


def supersuit_vec(env_fn: Callable[[], Any]) -> Any:
    """SuperSuit's full stack (what users glue together today)."""
    import supersuit as ss

    env = ss.agent_indicator_v0(ss.pad_action_space_v0(ss.pad_observations_v0(env_fn())), type_only=False)
    venv = ss.pettingzoo_env_to_vec_env_v1(env)
    return ss.concat_vec_envs_v1(venv, N_COPIES, num_cpus=0, base_class="stable_baselines3")


def ours_vec(env_fn: Callable[[], Any], package: Any = None) -> Any:
    """Our one line (unmasked MlpPolicy: padded actions are replaced, as SuperSuit does silently)."""
    import ps_wrappers

    pw = package or ps_wrappers
    return pw.make_vec_env(env_fn, n_envs=N_COPIES, seed=0, invalid_action="random_valid")


def step_variants(env_fn: Callable[[], Any], steps: int, baseline: tuple[str, Any] | None = None) -> dict[str, Callable[[], int]]:
    """Runners returning agent-steps done."""
    raws = [env_fn() for _ in range(N_COPIES)]
    agents = raws[0].possible_agents
    sizes = np.array([raws[0].action_space(a).n for a in agents])
    rng = np.random.default_rng(0)
    plan = (rng.random((steps, len(agents))) * sizes).astype(np.int64)  # valid for every agent

    def raw_run() -> int:
        for k, env in enumerate(raws):
            env.reset(seed=k)
        for row in plan:
            for env in raws:
                if not env.agents:
                    env.reset()
                env.step({a: row[j] for j, a in enumerate(agents) if a in env.agents})
        return steps * N_COPIES * len(agents)

    def vec_run(venv: Any) -> Callable[[], int]:
        tiled = np.tile(plan, (1, N_COPIES))

        def run() -> int:
            venv.reset()
            for row in tiled:
                venv.step(row)
            return tiled.size

        return run

    variants = {"raw env x4": raw_run, "ps_wrappers.make_vec_env": vec_run(ours_vec(env_fn))}
    if baseline is not None:
        variants[f"make_vec_env @ {baseline[0]}"] = vec_run(ours_vec(env_fn, baseline[1]))
    variants["SuperSuit stack"] = vec_run(supersuit_vec(env_fn))
    return variants


def ppo_variants(env_fn: Callable[[], Any], total: int) -> dict[str, Callable[[], int]]:
    """PPO training runs returning env steps (slot-steps) learned."""
    import torch
    from stable_baselines3 import PPO

    def run(make: Callable[[Any], Any]) -> Callable[[], int]:
        def go() -> int:
            torch.manual_seed(0)
            model = PPO("MlpPolicy", make(env_fn), n_steps=128, batch_size=256, n_epochs=4, device="cpu")
            model.learn(total)
            return model.num_timesteps

        return go

    return {"PPO on ps_wrappers": run(ours_vec), "PPO on SuperSuit": run(supersuit_vec)}


def main() -> None:
    """Run the benchmarks and print Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ppo", type=int, default=0, help="PPO timesteps per run (0: skip)")
    parser.add_argument("--ppo-rounds", type=int, default=3)
    parser.add_argument("--baseline", default=None, help="git revision of ps_wrappers to time beside this tree")
    parser.add_argument("--no-supersuit", action="store_true", help="skip SuperSuit's stack")
    args = parser.parse_args()
    baseline = None
    if args.baseline:
        from benchmarks.baseline import load_baseline

        baseline = (args.baseline, load_baseline(args.baseline))
    warnings.filterwarnings("ignore")
    import torch
    from mpe2 import simple_spread_v3, simple_world_comm_v3

    torch.set_num_threads(1)
    envs = {
        "simple_spread_v3": lambda: simple_spread_v3.parallel_env(max_cycles=25),
        "simple_world_comm_v3": lambda: simple_world_comm_v3.parallel_env(max_cycles=25),
    }
    print(f"torch threads: {torch.get_num_threads()}, copies: {N_COPIES}\n")
    for name, fn in envs.items():
        variants = step_variants(fn, args.steps, baseline)
        if args.no_supersuit:
            variants.pop("SuperSuit stack")
        rates = interleaved(variants, args.rounds)
        print(format_table(f"{name}: vec env stepping ({args.steps} steps x {args.rounds} rounds, median, CPU time)", rates, "raw env x4", "agent-steps/s"))
        print()
        if args.ppo:
            rates = interleaved(ppo_variants(fn, args.ppo), args.ppo_rounds)
            print(format_table(f"{name}: PPO MlpPolicy end to end ({args.ppo} steps x {args.ppo_rounds} rounds, median, CPU time)", rates, "PPO on ps_wrappers", "train steps/s"))
            print()


if __name__ == "__main__":
    main()
