"""Terry et al.'s continuous-control envs: PPO vs SAC vs TD3 with full parameter sharing (FuPS).

Envs (PettingZoo SISL, the paper's section 4 and appendix B): ``multiwalker_v9`` (3 walkers
carrying a package, Box(4) torques, 31-dim observations; falling ends the episode with -100) and
``waterworld_v4`` (pursuers eating food and avoiding poison, Box(2) thrust, 242-dim
observations; 500 steps). Every algorithm trains the same FuPS network family
(:mod:`policies.ppo`, :mod:`policies.sac` with :class:`~policies.sac.MaskedSAC`,
:mod:`policies.td3`) with SB3's default hyperparameters of that algorithm (networks: PPO 64-64,
SAC 256-256, TD3 400-300; TD3 adds Gaussian action noise 0.1), on the same vec env, for the same
number of agent-steps, with the same seeds. Learning curves are the returns of the training
episodes (per agent, exploration on); the final score is a deterministic evaluation
(:func:`ps_wrappers.evaluate`) on fresh seeds.

``waterworld_v4`` was removed from PettingZoo in 1.26 (this project pins 1.27). To run it, put
PettingZoo 1.25 and pymunk 6 on ``PYTHONPATH`` ahead of the project's packages, e.g.::

    .venv/bin/pip install --target /tmp/pz125 --no-deps pettingzoo==1.25.0 "pymunk>=6.2,<7"
    PYTHONPATH=/tmp/pz125 .venv/bin/python -m benchmarks.continuous_control --procs 2

Runs are spread over ``--procs`` processes (one torch thread each). The script prints a
Markdown table, writes every run (curves included) to ``<out>/continuous_control.json`` and the
curves to ``<out>/continuous_control.png``; ``--merge A.json B.json`` combines saved runs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ENVS = ("multiwalker", "waterworld")
ALGOS = ("ppo", "sac", "td3")
RANDOM_EPISODES = 20
"""Episodes per seed of the uniform-random reference (from the evaluation seeds on)."""


@dataclass
class Args:
    """Benchmark settings (every field is a command-line option)."""

    envs: list[str] = field(default_factory=lambda: list(ENVS))
    """Envs: ``multiwalker`` and / or ``waterworld``."""
    algos: list[str] = field(default_factory=lambda: list(ALGOS))
    """Algorithms: ``ppo``, ``sac``, ``td3``."""
    seeds: list[int] = field(default_factory=lambda: [0, 1])
    """Seeds; every (env, algorithm) is trained once per seed."""
    multiwalker_steps: int = 90_000
    """Agent-steps of training per multiwalker run (all slots together)."""
    waterworld_steps: int = 36_000
    """Agent-steps of training per waterworld run."""
    n_envs: int = 4
    """Env copies per vec env."""
    eval_episodes: int = 5
    """Deterministic evaluation episodes at the end of each run."""
    procs: int = 2
    """Worker processes."""
    out: str = "docs/continuous_runs"
    """Output folder for the JSON results and the plot."""
    merge: list[str] = field(default_factory=list)
    """Saved JSON files to combine instead of training."""


def make_env_fn(name: str) -> Any:
    """A zero-argument constructor of the env ``name``.

    Raises:
        ValueError: for an unknown env.
        ImportError: when waterworld_v4 is missing (PettingZoo >= 1.26), with the fix.
    """
    if name == "multiwalker":
        from pettingzoo.sisl import multiwalker_v9

        return multiwalker_v9.parallel_env
    if name == "waterworld":
        try:
            from pettingzoo.sisl import waterworld_v4
        except (ImportError, AttributeError) as err:
            raise ImportError(
                "continuous_control: pettingzoo.sisl.waterworld_v4 is not available (PettingZoo removed it in "
                "1.26); install PettingZoo 1.25 and pymunk 6 into a folder and put it first on PYTHONPATH: "
                "`.venv/bin/pip install --target /tmp/pz125 --no-deps pettingzoo==1.25.0 'pymunk>=6.2,<7'` then "
                "`PYTHONPATH=/tmp/pz125 .venv/bin/python -m benchmarks.continuous_control`"
            ) from err
        return waterworld_v4.parallel_env
    raise ValueError(f"continuous_control: unknown env {name!r}; use one of {ENVS}")


def _model(algo: str, venv: Any, seed: int) -> Any:
    from stable_baselines3 import PPO, TD3
    from stable_baselines3.common.noise import NormalActionNoise

    from policies import ppo, sac, td3

    if algo == "ppo":
        return PPO(ppo.FullSharingPolicy, venv, seed=seed, n_steps=256, device="cpu")
    if algo == "sac":
        return sac.MaskedSAC(sac.FullSharingPolicy, venv, seed=seed, learning_starts=1_000, buffer_size=300_000, device="cpu")
    if algo == "td3":
        dim = venv.action_space.shape[0]
        noise = NormalActionNoise(np.zeros(dim), 0.1 * np.ones(dim))
        return TD3(td3.FullSharingPolicy, venv, seed=seed, learning_starts=1_000, buffer_size=300_000, action_noise=noise, device="cpu")
    raise ValueError(f"continuous_control: unknown algorithm {algo!r}; use one of {ALGOS}")


def run_one(env: str, algo: str, seed: int, steps: int, n_envs: int, eval_episodes: int) -> dict[str, Any]:
    """Train one (env, algorithm, seed) and return its curve, evaluation and timings."""
    import torch
    from stable_baselines3.common.callbacks import BaseCallback

    import ps_wrappers

    torch.set_num_threads(1)
    env_fn = make_env_fn(env)
    venv = ps_wrappers.make_vec_env(env_fn, n_envs=n_envs, seed=seed)
    model = _model(algo, venv, seed)
    curve: list[tuple[int, float]] = []

    class Episodes(BaseCallback):
        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    curve.append((int(self.num_timesteps), float(info["episode"]["r"])))
            return True

    start = time.perf_counter()
    model.learn(steps, callback=Episodes())
    train_s = time.perf_counter() - start
    result = ps_wrappers.evaluate(model, env_fn, n_episodes=eval_episodes, seed=10_000 + seed)
    per_agent = [float(np.mean(r)) for r in result.agent_returns.values()]
    return {
        "env": env,
        "algo": algo,
        "seed": seed,
        "steps": int(model.num_timesteps),
        "train_s": train_s,
        "train_episodes": len(curve) / len(venv.observation_space.layout.agents),
        "curve": curve,
        "eval_per_agent": float(np.mean(per_agent)),
        "eval_team": float(np.sum(per_agent)),
    }


def _job(job: tuple[str, str, int, int, int, int]) -> dict[str, Any]:
    return run_one(*job)


def random_baseline(env: str, seeds: list[int], episodes: int) -> float:
    """Mean episode return per agent of uniform random actions, on the evaluation seeds of the runs."""
    env_fn = make_env_fn(env)
    returns = []
    for seed in seeds:
        game = env_fn()
        for k in range(episodes):
            game.reset(seed=10_000 + seed + k)
            for agent in game.possible_agents:
                game.action_space(agent).seed(10_000 + seed + k)
            total = dict.fromkeys(game.possible_agents, 0.0)
            while game.agents:
                _, rewards, _, _, _ = game.step({a: game.action_space(a).sample() for a in game.agents})
                for agent, reward in rewards.items():
                    total[agent] += float(reward)
            returns.append(float(np.mean(list(total.values()))))
    return float(np.mean(returns))


def table(runs: list[dict[str, Any]], random: dict[str, float] | None = None) -> str:
    """Markdown table: per (env, algorithm) the evaluation return (mean ± std over seeds) and costs."""
    lines = [
        "| env | algorithm | seeds | agent-steps | env episodes | eval return per agent | eval team return | train minutes |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    keys = sorted({(r["env"], r["algo"]) for r in runs}, key=lambda k: (ENVS.index(k[0]), ALGOS.index(k[1])))
    for env, value in (random or {}).items():
        lines.append(f"| {env} | uniform random actions ({RANDOM_EPISODES} episodes per seed) | | | | {value:.1f} | | |")
    for env, algo in keys:
        rs = [r for r in runs if r["env"] == env and r["algo"] == algo]
        agent = np.array([r["eval_per_agent"] for r in rs])
        team = np.array([r["eval_team"] for r in rs])
        lines.append(
            f"| {env} | {algo.upper()} + FuPS | {len(rs)} | {int(np.mean([r['steps'] for r in rs])):,} | "
            f"{np.mean([r['train_episodes'] for r in rs]):,.0f} | {agent.mean():.1f} ± {agent.std():.1f} | "
            f"{team.mean():.1f} ± {team.std():.1f} | {np.mean([r['train_s'] for r in rs]) / 60:.1f} |"
        )
    return "\n".join(lines)


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    """Training-episode return per agent vs agent-steps (mean over seeds of a moving average)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = [e for e in ENVS if any(r["env"] == e for r in runs)]
    fig, axes = plt.subplots(1, len(envs), figsize=(6 * len(envs), 4), squeeze=False)
    for ax, env in zip(axes[0], envs):
        for algo in ALGOS:
            rs = [r for r in runs if r["env"] == env and r["algo"] == algo]
            if not rs:
                continue
            horizon = min(r["steps"] for r in rs)
            grid = np.linspace(0, horizon, 40)
            curves = []
            for r in rs:
                t, ret = np.array(r["curve"]).T if r["curve"] else (np.zeros(1), np.zeros(1))
                smooth = np.array([ret[max(0, i - 49) : i + 1].mean() for i in range(len(ret))])
                curves.append(np.interp(grid, t, smooth, left=np.nan))
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # bins before the first episode end
                mean = np.nanmean(curves, axis=0)
            ax.plot(grid, mean, label=f"{algo.upper()} + FuPS ({len(rs)} seeds)")
        ax.set_title(f"{env} (training episodes, per agent)")
        ax.set_xlabel("agent-steps")
        ax.set_ylabel("episode return per agent (moving average of 50)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(args: Args) -> list[dict[str, Any]]:
    """Train (or merge) and write the table, JSON and plot."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.merge:
        runs = [r for p in args.merge for r in json.loads(Path(p).read_text())["runs"]]
    else:
        for env in args.envs:
            make_env_fn(env)  # fail fast on a missing env
        budget = {"multiwalker": args.multiwalker_steps, "waterworld": args.waterworld_steps}
        jobs = [
            (env, algo, seed, budget[env], args.n_envs, args.eval_episodes)
            for env in args.envs
            for seed in args.seeds
            for algo in args.algos
        ]
        jobs.sort(key=lambda j: -j[3] * (1 if j[1] == "ppo" else 4))  # longest first
        if args.procs > 1:
            with mp.get_context("spawn").Pool(args.procs) as pool:
                runs = pool.map(_job, jobs, chunksize=1)
        else:
            runs = [_job(job) for job in jobs]
    envs = [e for e in ENVS if any(r["env"] == e for r in runs)]
    seeds = sorted({int(r["seed"]) for r in runs})
    random = {env: random_baseline(env, seeds, RANDOM_EPISODES) for env in envs}
    (out / "continuous_control.json").write_text(json.dumps({"args": asdict(args), "random": random, "runs": runs}))
    plot(runs, out / "continuous_control.png")
    print(table(runs, random))
    return runs


def _parse() -> Args:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Args()
    for name, value in vars(defaults).items():
        flag = f"--{name.replace('_', '-')}"
        if isinstance(value, list):
            kind = int if name == "seeds" else str
            parser.add_argument(flag, type=kind, nargs="*", default=value)
        else:
            parser.add_argument(flag, type=type(value), default=value)
    return Args(**vars(parser.parse_args()))


if __name__ == "__main__":
    main(_parse())
