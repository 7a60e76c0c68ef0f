"""Learning curves of shared CNN policies on PettingZoo's image tutorials: pistonball and KAZ-visual.

Trains PPO with a sharing policy on the image observations of ``examples/pistonball.py`` and
``examples/knights_archers_zombies.py --obs visual`` (the PettingZoo SB3 tutorials' preprocessing:
one colour channel (``--colour``, or all three), 84x84, 3 stacked frames; uint8 images through the
vec env into a CNN trunk), and
every ``--eval-every`` agent-steps evaluates the policy on the same fresh episodes twice, acting
greedily and sampling its actions (as it does in training), against the mean return of uniformly
random actions. At the end it saves the model (also at every evaluation) and evaluates it on
``--final-episodes`` episodes twice more: on its real observations and on observations shuffled
in time (``benchmarks.shuffled_views``), which tells a policy that uses what it sees from one that
only learnt how often to do what. Prints Markdown tables and writes the curves.

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
from benchmarks.shuffled_views import time_shuffled
from examples import knights_archers_zombies as kaz
from examples import pistonball
from examples._common import parse_args
from policies import FullSharingPolicy, SelectiveSharingPolicy, SharingActorCriticPolicy


@dataclass
class Args:
    """Benchmark settings."""

    task: str = "pistonball"
    """``pistonball``, ``kaz`` (visual) or ``kaz-vector`` (KAZ's entity vectors: the control run
    that tells what the same PPO learns when it need not see)."""
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
    workers: int = 0
    """Env worker processes (``make_vec_env(vec_env_cls="subproc")``); 0 steps the copies in this process."""
    colour: str = "G"
    """KAZ-visual: the colour channel kept, or ``"rgb"`` (``examples.knights_archers_zombies``)."""
    n_pistons: int = 20
    """Pistonball: pistons."""
    continuous: bool = False
    """Pistonball: continuous piston moves (the tutorial's); default discrete (down / stay / up)."""
    n_steps: int = 128
    """PPO rollout length per slot."""
    batch_size: int = 512
    """PPO minibatch size."""
    n_epochs: int = 4
    """PPO epochs per rollout."""
    learning_rate: float = 6e-4
    """Adam learning rate (PettingZoo's pistonball tutorial: 6.2e-4)."""
    gamma: float = 0.95
    """Discount (the tutorial's 0.95)."""
    ent_coef: float = 0.05
    """Entropy bonus (the tutorial's 0.09; lower keeps the greedy policy decisive on short budgets)."""
    clip_range: float = 0.3
    """PPO clip range (the tutorial's 0.3)."""
    seed: int = 0
    """Seed."""
    final_episodes: int = 20
    """Episodes of the final check: the trained policy on its real observations and on observations
    shuffled in time (``benchmarks.shuffled_views``), greedy and sampling; 0 skips it."""
    max_minutes: float = 0.0
    """Stop training after this many minutes of wall time (then evaluate and write the results as
    usual); 0 trains the full ``--steps``."""
    threads: int = 2
    """torch threads."""
    out: Path = Path("out/image_learning")
    """Directory for the JSON results (and the plot unless --plot is given)."""
    plot: str = ""
    """Path of the plot (default: <out>/<task>.png)."""


class _Evaluate(BaseCallback):
    """Every ``every`` agent-steps: the team return of the greedy policy and of the sampling policy.

    Also keeps the team return of every training episode (``info["team_episode"]``) in ``training``
    and, as it goes, appends ``agent-steps return`` lines to ``log`` (progress of a long run, and
    its curve if it is stopped before the JSON is written). Each evaluation saves the model to
    ``checkpoint``; after ``max_minutes`` of wall time (0: never) training stops.
    """

    def __init__(
        self,
        env_fn: Any,
        every: int,
        episodes: int,
        log: Path | None = None,
        max_minutes: float = 0.0,
        checkpoint: Path | None = None,
    ) -> None:
        super().__init__()
        self.env_fn, self.every, self.episodes = env_fn, every, episodes
        self.log, self.checkpoint = log, checkpoint
        self.deadline = time.perf_counter() + 60 * max_minutes if max_minutes > 0 else None
        self.curve: list[tuple[int, float, float]] = []
        self.training: list[tuple[int, float]] = []
        self._next = 0

    def measure(self) -> tuple[int, float, float]:
        """(agent-steps, greedy team return, sampling team return) on the evaluation episodes."""
        returns = [
            ps_wrappers.evaluate(
                self.model,
                self.env_fn,
                n_episodes=self.episodes,
                seed=10_000,
                deterministic=deterministic,
            ).mean_team_return
            for deterministic in (True, False)
        ]
        point = (self.num_timesteps, returns[0], returns[1])
        if self.checkpoint is not None:
            self.model.save(self.checkpoint)
        print(
            f"  {point[0]:>9,} agent-steps: team return greedy {point[1]:.2f}, sampling {point[2]:.2f}",
            flush=True,
        )
        return point

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if "team_episode" in info:
                self.training.append((self.num_timesteps, info["team_episode"]["r"]))
                if self.log is not None:
                    with self.log.open("a") as f:
                        f.write(f"{self.num_timesteps} {info['team_episode']['r']}\n")
        if self.num_timesteps >= self._next:
            self._next += self.every
            self.curve.append(self.measure())
        if self.deadline is not None and time.perf_counter() > self.deadline:
            print(
                f"  --max-minutes reached at {self.num_timesteps:,} agent-steps: training stops",
                flush=True,
            )
            return False
        return True


def _env_fn(args: Args) -> tuple[Any, Any]:
    if args.task == "pistonball":
        settings = pistonball.Args(n_pistons=args.n_pistons, continuous=args.continuous)
        return (lambda: pistonball.make_env(settings)), pistonball._random_returns
    if args.task in ("kaz", "kaz-vector"):
        kaz_settings = kaz.Args(
            obs="visual" if args.task == "kaz" else "vector", colour=args.colour
        )
        return (lambda: kaz.make_env(kaz_settings)), kaz._random_returns
    raise ValueError(
        f"image_learning: --task must be 'pistonball', 'kaz' or 'kaz-vector', got {args.task!r}"
    )


def main(args: Args) -> dict[str, Any]:
    """Train with periodic evaluation; print the table, write JSON and the plot."""
    torch.set_num_threads(args.threads)
    env_fn, random_returns = _env_fn(args)
    if args.workers:
        venv = ps_wrappers.make_vec_env(
            env_fn,
            n_envs=args.n_envs,
            seed=args.seed,
            vec_env_cls="subproc",
            n_workers=args.workers,
        )
    else:
        venv = ps_wrappers.make_vec_env(env_fn, n_envs=args.n_envs, seed=args.seed)
    methods: dict[str, type[SharingActorCriticPolicy]] = {
        "fups": FullSharingPolicy,
        "seps": SelectiveSharingPolicy,
    }
    policy = methods[args.method]
    model = PPO(
        policy,
        venv,
        n_steps=args.n_steps,
        batch_size=args.batch_size,
        n_epochs=args.n_epochs,
        learning_rate=args.learning_rate,
        gamma=args.gamma,
        ent_coef=args.ent_coef,
        clip_range=args.clip_range,
        seed=args.seed,
        device="cpu",
    )
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / f"{args.task}_{args.method}_training.txt"
    log.write_text("")
    checkpoint = args.out / f"{args.task}_{args.method}_model.zip"
    callback = _Evaluate(
        env_fn, args.eval_every, args.eval_episodes, log, args.max_minutes, checkpoint
    )
    start = time.perf_counter()
    model.learn(args.steps, callback=callback)
    seconds = time.perf_counter() - start
    callback.curve.append(callback.measure())
    check = _shuffled_check(model, env_fn, args)
    random = float(
        np.mean(random_returns(env_fn, args.eval_episodes, np.random.default_rng(args.seed)))
    )
    result = {
        "task": args.task,
        "method": args.method,
        "observation": str(venv.observation_space),
        "agent_steps": model.num_timesteps,
        "seconds": seconds,
        "random": random,
        "curve": callback.curve,
        "training": callback.training,
        "shuffled_check": check,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.task}_{args.method}.json").write_text(json.dumps(result, indent=1))
    print(
        f"\n{args.task} ({venv.observation_space}), {args.method}, PPO, {model.num_timesteps:,} agent-steps "
        f"in {seconds / 60:.1f} min ({args.threads} torch threads)\n"
    )
    print(
        "| agent-steps | greedy | sampling | training episodes since the previous row |\n|---:|---:|---:|---:|"
    )
    print(f"| random actions | {random:.2f} | {random:.2f} | |")
    previous = -1
    for steps, greedy, sampling in callback.curve:
        ended = [r for t, r in callback.training if previous < t <= steps]
        trained = f"{np.mean(ended):.2f} ({len(ended)})" if ended else ""
        print(f"| {steps:,} | {greedy:.2f} | {sampling:.2f} | {trained} |")
        previous = steps
    if check:
        print(
            f"\nThe trained policy on {args.final_episodes} episodes (seeds 20,000+), real observations vs "
            "observations shuffled in time (benchmarks.shuffled_views): mean ± s.e.\n"
        )
        print("| observations | greedy | sampling |\n|---|---:|---:|")
        for view in ("real", "shuffled"):
            cells = " | ".join(
                f"{np.mean(check[view][m]):.2f} ± {_se(check[view][m]):.2f}"
                for m in ("greedy", "sampling")
            )
            print(f"| {view} | {cells} |")
    _plot(result, Path(args.plot) if args.plot else args.out / f"{args.task}.png")
    return result


def _se(values: list[float]) -> float:
    return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")


def _shuffled_check(model: Any, env_fn: Any, args: Args) -> dict[str, dict[str, list[float]]]:
    """Team returns of the trained policy per episode, on real and on time-shuffled observations."""
    if args.final_episodes < 1:
        return {}
    fns = {"real": env_fn, "shuffled": lambda: time_shuffled(env_fn(), seed=args.seed)}
    return {
        view: {
            mode: ps_wrappers.evaluate(
                model,
                fn,
                n_episodes=args.final_episodes,
                seed=20_000,
                deterministic=mode == "greedy",
            ).team_returns
            for mode in ("greedy", "sampling")
        }
        for view, fn in fns.items()
    }


def _plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, greedy, sampling = zip(*result["curve"])
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(steps, greedy, marker="o", label=f"PPO {result['method']}, greedy")
    ax.plot(steps, sampling, marker="s", label=f"PPO {result['method']}, sampling")
    if len(result["training"]) >= 2:
        t, r = (np.asarray(v, dtype=float) for v in zip(*result["training"]))
        window = max(1, len(r) // 10)
        smooth = np.convolve(r, np.ones(window) / window, mode="valid")
        ax.plot(
            t[window - 1 :],
            smooth,
            color="tab:green",
            alpha=0.7,
            label=f"training episodes ({window}-ep. mean)",
        )
    ax.axhline(result["random"], color="gray", linestyle="--", label="random actions")
    ax.set_xlabel("agent-steps")
    ax.set_ylabel("team return")
    ax.set_title(result["task"])
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main(parse_args(Args, __doc__))
