"""Benchmark: our image preprocessing wrappers vs SuperSuit 3.11's, on pistonball_v6 and KAZ (issue 13).

Chains (each with its SuperSuit counterpart ``color_reduction_v0`` / ``resize_v1`` /
``frame_stack_v1``):

* ``gray``: color_reduction (luminance);
* ``resize RGB``: resize to 84x84, bilinear, on the RGB frames;
* ``full``: color_reduction -> resize 84x84 -> frame_stack 4 (the usual Atari-style chain).

Settings (all variants interleaved round by round in one process, process CPU time, medians):

* ``env``: the real pistonball_v6 (20 agents), Parallel and AEC APIs: agent-steps/s, time
  relative to the raw env (what a user sees).
* ``replay``: a ParallelEnv that replays recorded pistonball observations, so only the wrappers'
  own cost is timed (SuperSuit's color_reduction and resize convert Parallel -> AEC -> Parallel).
* ``kaz-replay``: the same for knights_archers_zombies_v11's image observations (512x512x3 per
  agent, views of a transposed pygame surface, so not C-contiguous: the layout that made a flat
  reshape copy whole images).

numpy / BLAS and torch use one thread (set before numpy is imported).

Usage: python -m benchmarks.preprocessing_throughput [--steps 100] [--rounds 5] [--plot out.png]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import argparse  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from gymnasium import spaces  # noqa: E402
from pettingzoo.utils.env import ParallelEnv  # noqa: E402

from benchmarks.timing import format_table, interleaved  # noqa: E402

Chain = Callable[[Any], Any]


def chains() -> dict[str, tuple[Chain, Chain]]:
    """Chain name -> (ours, SuperSuit's)."""
    import supersuit as ss

    import ps_wrappers as pw

    return {
        "gray": (pw.color_reduction, lambda e: ss.color_reduction_v0(e, "full")),
        "resize RGB": (lambda e: pw.resize(e, 84, 84), lambda e: ss.resize_v1(e, 84, 84)),
        "full": (
            lambda e: pw.frame_stack(pw.resize(pw.color_reduction(e), 84, 84), 4),
            lambda e: ss.frame_stack_v1(ss.resize_v1(ss.color_reduction_v0(e, "full"), 84, 84), 4),
        ),
    }


class ReplayEnv(ParallelEnv):
    """Replays recorded observations of a ParallelEnv (same agents and spaces), at no env cost."""

    metadata = {"name": "replay_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, source: ParallelEnv, steps: int) -> None:
        self.possible_agents = list(source.possible_agents)
        self._obs_spaces = {a: source.observation_space(a) for a in self.possible_agents}
        self._act_spaces = {a: source.action_space(a) for a in self.possible_agents}
        obs, _ = source.reset(seed=0)
        self.frames = [obs]
        for _ in range(steps - 1):
            obs, *_ = source.step({a: self._act_spaces[a].sample() for a in source.agents})
            self.frames.append(obs)
        self.agents: list[str] = []
        self._t = 0

    def observation_space(self, agent: Any) -> spaces.Space:
        """The recorded env's space."""
        return self._obs_spaces[agent]

    def action_space(self, agent: Any) -> spaces.Space:
        """The recorded env's space."""
        return self._act_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Back to the first recorded frame."""
        self.agents, self._t = list(self.possible_agents), 0
        return self.frames[0], {a: {} for a in self.agents}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        """The next recorded frame (cycling)."""
        self._t = (self._t + 1) % len(self.frames)
        zeros = dict.fromkeys(self.agents, False)
        return self.frames[self._t], dict.fromkeys(self.agents, 0.0), zeros, zeros, {a: {} for a in self.agents}


def parallel_runner(env: Any, steps: int) -> Callable[[], int]:
    """Steps ``env`` with fixed actions; returns agent-steps done."""
    actions = {a: np.array([0.1], np.float32) for a in env.possible_agents}

    def run() -> int:
        env.reset(seed=0)
        done = 0
        for _ in range(steps):
            if not env.agents:
                env.reset(seed=0)
            env.step({a: actions[a] for a in env.agents})
            done += len(env.possible_agents)
        return done

    return run


def aec_runner(env: Any, steps: int) -> Callable[[], int]:
    """Steps an AEC env agent by agent (``last()`` then ``step``); returns agent-steps done."""
    action = np.array([0.1], np.float32)

    def run() -> int:
        env.reset(seed=0)
        done = 0
        while done < steps * len(env.possible_agents):
            if not env.agents:
                env.reset(seed=0)
            _, _, term, trunc, _ = env.last()
            env.step(None if term or trunc else action)
            done += 1
        return done

    return run


def variants(setting: str, steps: int) -> dict[str, Callable[[], int]]:
    """Runners for one setting: ``"parallel"``, ``"aec"``, ``"replay"`` or ``"kaz-replay"``."""
    from pettingzoo.butterfly import pistonball_v6

    if setting == "replay":
        source = pistonball_v6.parallel_env()
        make: Callable[[], Any] = lambda: ReplayEnv(source, 50)  # noqa: E731
        run: Callable[[Any, int], Callable[[], int]] = parallel_runner
    elif setting == "kaz-replay":
        from pettingzoo.butterfly import knights_archers_zombies_v11

        kaz = knights_archers_zombies_v11.parallel_env(obs_method="image")
        make, run = (lambda: ReplayEnv(kaz, 20)), parallel_runner
    elif setting == "parallel":
        make, run = pistonball_v6.parallel_env, parallel_runner
    else:
        make, run = pistonball_v6.env, aec_runner
    out = {"raw env": run(make(), steps)}
    for name, (ours, theirs) in chains().items():
        out[f"{name}: ps_wrappers"] = run(ours(make()), steps)
        out[f"{name}: SuperSuit"] = run(theirs(make()), steps)
    return out


def _env_name(setting: str) -> str:
    return "knights_archers_zombies_v11" if setting.startswith("kaz") else "pistonball_v6"


def ratio_table(rates: dict[str, float], wrapper_cost: bool) -> str:
    """Markdown: per chain, both rates (or, for the replay, microseconds per agent-step) and
    SuperSuit's time over ours (> 1: ours is faster)."""
    unit = "us / agent-step" if wrapper_cost else "agent-steps/s"
    lines = [f"| chain | ps_wrappers ({unit}) | SuperSuit ({unit}) | SuperSuit time / ours |", "|---|---:|---:|---:|"]
    for name in chains():
        ours, theirs = rates[f"{name}: ps_wrappers"], rates[f"{name}: SuperSuit"]
        a, b = (1e6 / ours, 1e6 / theirs) if wrapper_cost else (ours, theirs)
        lines.append(f"| {name} | {a:,.0f} | {b:,.0f} | {ours / theirs:.2f}x |")
    return "\n".join(lines)


def plot(results: dict[str, dict[str, float]], path: str) -> None:
    """Bar chart of agent-steps/s per chain and setting."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(chains())
    fig, axes = plt.subplots(1, len(results), figsize=(4.5 * len(results), 3.5))
    for ax, (setting, rates) in zip(np.atleast_1d(axes), results.items()):
        x = np.arange(len(names))
        ax.bar(x - 0.2, [rates[f"{n}: ps_wrappers"] for n in names], 0.4, label="ps_wrappers")
        ax.bar(x + 0.2, [rates[f"{n}: SuperSuit"] for n in names], 0.4, label="SuperSuit 3.11")
        if not setting.endswith("replay"):  # the replayed env itself costs nothing
            ax.axhline(rates["raw env"], color="grey", ls="--", lw=1, label="raw env")
        ax.set_xticks(x, names)
        ax.set_title(_env_name(setting) + f", {setting}")
        ax.set_ylabel("agent-steps / s (CPU time)")
    np.atleast_1d(axes)[-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    """Run every setting and print Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="env steps per variant and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--settings", nargs="+", default=["replay", "parallel", "aec", "kaz-replay"], choices=["replay", "parallel", "aec", "kaz-replay"])
    parser.add_argument("--plot", default=None, help="write a bar chart to this path")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import torch

    torch.set_num_threads(1)
    results = {}
    for setting in args.settings:
        rates = interleaved(variants(setting, args.steps), args.rounds)
        results[setting] = rates
        title = f"{_env_name(setting)} ({setting}), {args.steps} steps x {args.rounds} interleaved rounds (median, CPU time)"
        if setting.endswith("replay"):  # the replayed env costs nothing: compare the wrappers only
            print(f"**{title}**\n")
        else:
            print(format_table(title, rates, "raw env", "agent-steps/s"))
            print()
        print(ratio_table(rates, wrapper_cost=setting.endswith("replay")))
        print()
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
