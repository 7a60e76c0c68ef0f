"""Benchmark: PPO env-steps/s on Ray RLlib (0, 1, 2 env runners x envs per runner) beside SB3.

The same method on both backends: FuPS+id (one ``policies.SharedMLP`` 64-64 actor and critic, the
agent one-hot concatenated), PPO with ``--batch`` env steps per iteration, 4 epochs, minibatches of
500 agent steps. RLlib: :func:`policies.rllib.shared_ppo_config`; SB3: ``ps_wrappers.make_vec_env``
+ ``PPO(FullSharingPolicy)``, in-process and with 2 worker processes. Two figures per variant:

* **train**: env steps per wall-clock second of one whole PPO iteration (sampling + learning): what
  a user gets;
* **sample**: env steps per second of sampling ``--batch`` steps alone with the current policy (all
  RLlib runners in parallel; SB3: the vec env stepped with the policy's actions).

An env step is one step of one env copy (all its agents). All variants of an env are built (and
warmed up by one iteration) first, then run interleaved, round after round, so machine noise hits
all alike; medians over ``--iterations`` rounds, wall-clock time (the work is in other
processes). ``torch.set_num_threads(1)`` in this process; Ray gives each runner one thread.

Usage: python -m benchmarks.rllib_throughput [--iterations 3] [--batch 2000] [--envs-per-runner 1 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from gymnasium import spaces

N_EPOCHS = 4
MINIBATCH = 500  # agent steps


@dataclass
class Args:
    """Command-line arguments."""

    iterations: int = 3
    """Rounds: each times one PPO iteration and one sampling of every variant (after a warm-up)."""
    batch: int = 2000
    """Env steps per PPO iteration."""
    envs_per_runner: tuple[int, ...] = (1, 4)
    """Env copies per RLlib env runner (and SB3 vec-env copies) to measure."""
    runners: tuple[int, ...] = (0, 1, 2)
    """Numbers of remote RLlib env runners to measure."""


class Variant:
    """One backend set-up, built once; ``train()`` and ``sample()`` each time one unit of work."""

    def train(self) -> float:
        """One PPO iteration; env steps per second."""
        raise NotImplementedError

    def sample(self) -> float:
        """Sample ``batch`` env steps with the current policy; env steps per second."""
        raise NotImplementedError

    def close(self) -> None:
        """Release processes."""


class RLlibVariant(Variant):
    """PPO from :func:`policies.rllib.shared_ppo_config`."""

    def __init__(self, env_fn: Callable[[], Any], runners: int, envs: int, args: Args) -> None:
        from policies.rllib import fups_module, shared_ppo_config

        config = shared_ppo_config(
            env_fn, module=fups_module(agent_id=True), num_env_runners=runners, num_envs_per_env_runner=envs, seed=0
        ).training(train_batch_size=args.batch, minibatch_size=min(MINIBATCH, args.batch), num_epochs=N_EPOCHS)
        self.algo: Any = config.build_algo()
        self.runners, self.batch = runners, args.batch
        self.per_runner = max(args.batch // max(runners, 1), envs)
        self.algo.train()  # warm-up

    def train(self) -> float:
        """One ``algo.train()``: PPO samples exactly ``batch`` env steps (fragments divide it)."""
        t = time.perf_counter()
        self.algo.train()
        return self.batch / (time.perf_counter() - t)

    def sample(self) -> float:
        """All runners sample in parallel (the local runner when there are none)."""
        per_runner = self.per_runner
        t = time.perf_counter()
        if self.runners:
            lengths = self.algo.env_runner_group.foreach_env_runner(
                lambda r: sum(e.env_steps() for e in r.sample(num_timesteps=per_runner)), local_env_runner=False
            )
        else:
            lengths = [sum(e.env_steps() for e in self.algo.env_runner.sample(num_timesteps=per_runner))]
        return sum(lengths) / (time.perf_counter() - t)

    def close(self) -> None:
        """Stop the algorithm and its runners."""
        self.algo.stop()


class SB3Variant(Variant):
    """``ps_wrappers.make_vec_env`` + SB3 ``PPO(FullSharingPolicy, policy_kwargs={"agent_id": True})``."""

    def __init__(self, env_fn: Callable[[], Any], envs: int, workers: int | None, args: Args) -> None:
        from stable_baselines3 import PPO

        import ps_wrappers as pw
        from policies import FullSharingPolicy

        kind: Literal["dummy", "subproc"] = "subproc" if workers else "dummy"
        self.venv = pw.make_vec_env(env_fn, n_envs=envs, seed=0, vec_env_cls=kind, n_workers=workers)
        self.envs, self.batch = envs, args.batch
        self.model = PPO(
            FullSharingPolicy, self.venv, n_steps=args.batch // envs, batch_size=min(MINIBATCH, args.batch),
            n_epochs=N_EPOCHS, policy_kwargs={"agent_id": True}, seed=0, device="cpu",
        )
        self.steps = args.batch * (self.venv.num_envs // envs)  # agent steps per iteration
        self.model.learn(self.steps)  # warm-up
        box = isinstance(self.venv.action_space, spaces.Box)
        self.bounds = (self.venv.action_space.low, self.venv.action_space.high) if box else None
        self.obs = self.venv.reset()

    def train(self) -> float:
        """One rollout + update (``learn`` of one iteration's agent steps)."""
        t = time.perf_counter()
        self.model.learn(self.steps, reset_num_timesteps=False)
        return self.batch / (time.perf_counter() - t)

    def sample(self) -> float:
        """Step the vec env with the policy's actions (clipped like SB3's ``collect_rollouts``)."""
        obs = self.obs
        t = time.perf_counter()
        for _ in range(self.batch // self.envs):
            with torch.no_grad():
                actions = self.model.policy(torch.as_tensor(obs))[0].numpy()
            if self.bounds is not None:
                actions = np.clip(actions, *self.bounds)
            obs, _, _, _ = self.venv.step(actions)
        self.obs = obs
        return self.batch / (time.perf_counter() - t)

    def close(self) -> None:
        """Close the vec env (and its workers)."""
        self.venv.close()


@dataclass
class Rates:
    """Median throughput of one variant."""

    train: float
    sample: float


def measure(variants: dict[str, Variant], rounds: int) -> dict[str, Rates]:
    """Interleave the variants round by round, so machine noise hits all alike; medians."""
    train: dict[str, list[float]] = {name: [] for name in variants}
    sample: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, variant in variants.items():
            train[name].append(variant.train())
            sample[name].append(variant.sample())
    return {name: Rates(statistics.median(train[name]), statistics.median(sample[name])) for name in variants}


def _table(title: str, rates: dict[str, Rates], reference: str) -> str:
    ref = rates[reference]
    lines = [
        f"**{title}**",
        "",
        f"| variant | train env-steps/s | vs {reference} | sample env-steps/s |",
        "|---|---:|---:|---:|",
    ]
    for name, r in rates.items():
        lines.append(f"| {name} | {r.train:,.0f} | {r.train / ref.train:.2f}x | {r.sample:,.0f} |")
    return "\n".join(lines)


def main() -> None:
    """Print one table per env."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=Args.iterations)
    parser.add_argument("--batch", type=int, default=Args.batch)
    parser.add_argument("--envs-per-runner", type=int, nargs="+", default=list(Args.envs_per_runner))
    parser.add_argument("--runners", type=int, nargs="+", default=list(Args.runners))
    ns = parser.parse_args()
    args = Args(ns.iterations, ns.batch, tuple(ns.envs_per_runner), tuple(ns.runners))
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    import ray
    from mpe2 import simple_spread_v3
    from pettingzoo.sisl import multiwalker_v9

    from policies.rllib import deterministic_runtime_env

    # Every variant's runners stay alive (idle) while the others run: Ray gets one logical CPU per runner.
    n_cpus = max(os.cpu_count() or 1, len(args.envs_per_runner) * sum(args.runners))
    ray.init(num_cpus=n_cpus, runtime_env=deterministic_runtime_env(), include_dashboard=False, log_to_driver=False)
    envs = {
        "multiwalker_v9 (3 walkers, Box2D physics, Box actions)": multiwalker_v9.parallel_env,
        "simple_spread_v3 (3 agents, cheap)": simple_spread_v3.parallel_env,
    }
    print(
        f"PPO FuPS+id, {args.batch} env steps/iteration, {args.iterations} timed iterations, "
        f"{n_cpus} logical CPUs for Ray, cpu_count={os.cpu_count()}, load average {os.getloadavg()[0]:.1f}\n"
    )
    for title, fn in envs.items():
        variants: dict[str, Variant] = {}
        try:
            for k in args.envs_per_runner:
                variants[f"SB3, {k} env{'s' if k > 1 else ''} in-process"] = SB3Variant(fn, k, None, args)
            k_max = max(args.envs_per_runner)
            if k_max > 1:
                variants[f"SB3, {k_max} envs, 2 worker processes"] = SB3Variant(fn, k_max, 2, args)
            for r in args.runners:
                for k in args.envs_per_runner:
                    name = f"RLlib, {r} runner{'s' if r != 1 else ''} x {k} env{'s' if k > 1 else ''}"
                    variants[name] = RLlibVariant(fn, r, k, args)
            rates = measure(variants, args.iterations)
        finally:
            for variant in variants.values():
                variant.close()
        print(_table(title, rates, next(iter(rates))))
        print(f"\n(load average {os.getloadavg()[0]:.1f})\n", flush=True)
    ray.shutdown()


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
