"""Learning curves of shared CNN policies on PettingZoo's image tutorials: pistonball and KAZ-visual.

Trains PPO with a sharing policy on the image observations of ``examples/pistonball.py`` and
``examples/knights_archers_zombies.py --obs visual`` (the PettingZoo SB3 tutorials' preprocessing:
blue channel, 84x84, 3 stacked frames; uint8 images through the vec env into a CNN trunk), and
evaluates the greedy policy every ``--eval-every`` agent-steps on fresh episodes, against the mean
return of uniformly random actions. Prints a Markdown table and writes the curves.

Usage::

    .venv/bin/python -m benchmarks.image_learning --task pistonball --steps 300000
    .venv/bin/python -m benchmarks.image_learning --task kaz --steps 300000 --plot docs/images/kaz.png
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback

import ps_wrappers
from examples import knights_archers_zombies as kaz
from examples import pistonball
from examples._common import parse_args
from policies import FullSharingPolicy, SelectiveSharingPolicy, SharingActorCriticPolicy


@dataclass
class Args:
    """Benchmark settings."""

    task: str = "pistonball"
    """``pistonball`` or ``kaz`` (visual)."""
    method: str = "fups"
    """``fups`` or ``seps`` (per agent type)."""
    steps: int = 300_000
    """PPO agent-steps."""
    eval_every: int = 50_000
    """Agent-steps between greedy evaluations."""
    eval_episodes: int = 5
    """Episodes per evaluation."""
    n_envs: int = 4
    """Env copies."""
    n_pistons: int = 20
    """Pistonball: pistons."""
    n_steps: int = 128
    """PPO rollout length per slot."""
    batch_size: int = 512
    """PPO minibatch size."""
    n_epochs: int = 4
    """PPO epochs per rollout."""
    seed: int = 0
    """Seed."""
    threads: int = 2
    """torch threads."""
    out: Path = Path("out/image_learning")
    """Directory for the JSON results (and the plot unless --plot is given)."""
    plot: str = ""
    """Path of the plot (default: <out>/<task>.png)."""


class _Evaluate(BaseCallback):
    def __init__(self, env_fn: Any, every: int, episodes: int) -> None:
        super().__init__()
        self.env_fn, self.every, self.episodes = env_fn, every, episodes
        self.curve: list[tuple[int, float]] = []
        self._next = 0

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            self._next += self.every
            result = ps_wrappers.evaluate(self.model, self.env_fn, n_episodes=self.episodes, seed=10_000)
            self.curve.append((self.num_timesteps, result.mean_team_return))
            print(f"  {self.num_timesteps:>9,} agent-steps: greedy team return {result.mean_team_return:.2f}", flush=True)
        return True


def _env_fn(args: Args) -> tuple[Any, Any]:
    if args.task == "pistonball":
        settings = pistonball.Args(n_pistons=args.n_pistons)
        return (lambda: pistonball.make_env(settings)), pistonball._random_returns
    if args.task == "kaz":
        kaz_settings = kaz.Args(obs="visual")
        return (lambda: kaz.make_env(kaz_settings)), kaz._random_returns
    raise ValueError(f"image_learning: --task must be 'pistonball' or 'kaz', got {args.task!r}")


def main(args: Args) -> dict[str, Any]:
    """Train with periodic evaluation; print the table, write JSON and the plot."""
    torch.set_num_threads(args.threads)
    env_fn, random_returns = _env_fn(args)
    venv = ps_wrappers.make_vec_env(env_fn, n_envs=args.n_envs, seed=args.seed)
    methods: dict[str, type[SharingActorCriticPolicy]] = {"fups": FullSharingPolicy, "seps": SelectiveSharingPolicy}
    policy = methods[args.method]
    model = PPO(
        policy, venv, n_steps=args.n_steps, batch_size=args.batch_size, n_epochs=args.n_epochs,
        ent_coef=0.01, seed=args.seed, device="cpu",
    )
    callback = _Evaluate(env_fn, args.eval_every, args.eval_episodes)
    start = time.perf_counter()
    model.learn(args.steps, callback=callback)
    seconds = time.perf_counter() - start
    final = ps_wrappers.evaluate(model, env_fn, n_episodes=args.eval_episodes, seed=10_000).mean_team_return
    callback.curve.append((model.num_timesteps, final))
    random = float(np.mean(random_returns(env_fn, args.eval_episodes, np.random.default_rng(args.seed))))
    result = {
        "task": args.task, "method": args.method, "observation": str(venv.observation_space),
        "agent_steps": model.num_timesteps, "seconds": seconds, "random": random, "curve": callback.curve,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.task}_{args.method}.json").write_text(json.dumps(result, indent=1))
    print(f"\n{args.task} ({venv.observation_space}), {args.method}, PPO, {model.num_timesteps:,} agent-steps "
          f"in {seconds / 60:.1f} min ({args.threads} torch threads)\n")
    print("| agent-steps | greedy team return |\n|---:|---:|")
    print(f"| random actions | {random:.2f} |")
    for steps, value in callback.curve:
        print(f"| {steps:,} | {value:.2f} |")
    _plot(result, Path(args.plot) if args.plot else args.out / f"{args.task}.png")
    return result


def _plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, values = zip(*result["curve"])
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(steps, values, marker="o", label=f"PPO, {result['method']} (CNN trunk)")
    ax.axhline(result["random"], color="gray", linestyle="--", label="random actions")
    ax.set_xlabel("agent-steps")
    ax.set_ylabel("greedy team return")
    ax.set_title(result["task"])
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main(parse_args(Args, __doc__))
