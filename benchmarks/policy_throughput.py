"""PPO training throughput of every sharing policy relative to SB3's MlpPolicy, in one run.

All policies train on the same vec env (mpe2 simple_world_comm_v3 by default: 6 heterogeneous
agents, padded observations and actions) with the same PPO settings and the same hidden layers
(SB3's default 64-64 actor and critic). Each round runs every policy once, in turn, so that
machine-load drift affects all of them alike; the table reports the median over the rounds of
agent-steps per wall-clock second and per CPU second of this process, and the ratio to MlpPolicy
(computed on CPU time, which other processes on a shared machine disturb less; on an idle machine
the two agree since everything runs in one thread). One torch thread.

The vec env replaces invalid actions (``invalid_action="random_valid"``) because MlpPolicy does
not mask the padded actions; the sharing policies never produce one.

Usage::

    .venv/bin/python benchmarks/policy_throughput.py            # full run
    .venv/bin/python benchmarks/policy_throughput.py --rounds 1 --timesteps 3072   # quick check
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch
from stable_baselines3 import PPO

import ps_wrappers
from policies import FullSharingPolicy, PrunedMaskPolicy, SelectiveSharingPolicy


@dataclass
class Args:
    """Benchmark settings."""

    env: str = "simple_world_comm_v3"
    """mpe2 environment module."""
    n_envs: int = 4
    """Env copies (slots = copies x agents)."""
    n_steps: int = 128
    """PPO rollout length per slot."""
    batch_size: int = 64
    """PPO minibatch size (SB3 default)."""
    n_epochs: int = 10
    """PPO epochs per rollout (SB3 default)."""
    timesteps: int = 3 * 128 * 24
    """Agent-steps timed per policy and round (after one untimed warm-up rollout)."""
    rounds: int = 3
    """Rounds; the median is reported."""
    seed: int = 0
    """Seed of env and model."""


POLICIES: list[tuple[str, Any, dict[str, Any]]] = [
    ("MlpPolicy (SB3)", "MlpPolicy", {}),
    ("FuPS", FullSharingPolicy, {}),
    ("FuPS+id", FullSharingPolicy, {"agent_id": True}),
    ("SePS (K=3, by type)", SelectiveSharingPolicy, {}),
    ("SNP-PS", PrunedMaskPolicy, {}),
    ("AdaPS (K=3, by type)", PrunedMaskPolicy, {"method": "adaps"}),
]


def _steps_per_second(policy: Any, policy_kwargs: dict[str, Any], venv: Any, args: Args) -> tuple[float, float]:
    model = PPO(
        policy,
        venv,
        n_steps=args.n_steps,
        batch_size=args.batch_size,
        n_epochs=args.n_epochs,
        seed=args.seed,
        policy_kwargs=policy_kwargs,
        device="cpu",
    )
    rollout = args.n_steps * venv.num_envs
    model.learn(rollout)  # warm-up: first rollout and update
    wall, cpu = time.perf_counter(), time.process_time()
    model.learn(args.timesteps, reset_num_timesteps=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    steps = model.num_timesteps - rollout
    return steps / wall, steps / cpu


def main(args: Args) -> list[tuple[str, float, float, float]]:
    """Run the benchmark and print a Markdown table; rows ``(name, wall steps/s, CPU steps/s, ratio)``."""
    torch.set_num_threads(1)
    module = __import__(f"mpe2.{args.env}", fromlist=["parallel_env"])
    venv = ps_wrappers.make_vec_env(module.parallel_env, n_envs=args.n_envs, seed=args.seed, invalid_action="random_valid")
    if SelectiveSharingPolicy(venv.observation_space, venv.action_space, lambda _: 3e-4).value_network.n_clusters != 3:
        raise RuntimeError(f"{args.env} does not have 3 agent types; SePS would not run with K = 3")
    walls: dict[str, list[float]] = {name: [] for name, _, _ in POLICIES}
    cpus: dict[str, list[float]] = {name: [] for name, _, _ in POLICIES}
    for _ in range(args.rounds):
        for name, policy, kwargs in POLICIES:
            wall, cpu = _steps_per_second(policy, kwargs, venv, args)
            walls[name].append(wall)
            cpus[name].append(cpu)
    base = statistics.median(cpus[POLICIES[0][0]])
    rows = [
        (name, statistics.median(walls[name]), statistics.median(cpus[name]), statistics.median(cpus[name]) / base)
        for name, _, _ in POLICIES
    ]
    print(
        f"PPO on {args.env}: {args.n_envs} copies x {len(venv.observation_space.layout.agents)} agents = "
        f"{venv.num_envs} slots, n_steps={args.n_steps}, batch_size={args.batch_size}, n_epochs={args.n_epochs}, "
        f"net 64-64, {args.timesteps} agent-steps x {args.rounds} rounds (median), 1 torch thread\n"
    )
    print("| policy | agent-steps / wall s | agent-steps / CPU s | ratio vs MlpPolicy (CPU) |")
    print("|---|---:|---:|---:|")
    for name, wall, cpu, ratio in rows:
        print(f"| {name} | {wall:,.0f} | {cpu:,.0f} | {ratio:.2f}x |")
    return rows


def _parse() -> Args:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Args()
    for field, value in vars(defaults).items():
        parser.add_argument(f"--{field.replace('_', '-')}", type=type(value), default=value)
    return Args(**vars(parser.parse_args()))


if __name__ == "__main__":
    main(_parse())
