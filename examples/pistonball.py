"""PettingZoo's SB3 pistonball tutorial with ps-toolkit: 20 pistons, one shared CNN policy.

PettingZoo's tutorial ("SB3: PPO for Pistonball") chains SuperSuit's colour reduction, resize,
frame stacking and vec-env conversion and trains SB3's ``CnnPolicy``; its page says it is
"currently broken due to issues with SuperSuit". Here the same preprocessing is ps-toolkit's own
PettingZoo wrappers, the vec env keeps the images as uint8 images (one slot per piston), and the
policy is a parameter-sharing policy with a CNN trunk::

    env_fn = lambda: frame_stack(resize(color_reduction(pistonball_v6.parallel_env(), "B"), 84, 84), 3)
    venv = ps_wrappers.make_vec_env(env_fn, n_envs=4, seed=0)
    model = PPO(FullSharingPolicy, venv).learn(1_000_000)

Every piston sees the strip of the screen above it; all pistons share one network (FuPS, the
tutorial's set-up). Usage::

    python -m examples.pistonball --steps 200000          # prints returns, saves the model
    python -m examples.pistonball --steps 2000 --n-pistons 4 --max-cycles 25   # a smoke test
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pettingzoo.butterfly import pistonball_v6
from stable_baselines3 import PPO

import ps_wrappers
from examples._common import parse_args
from policies import FullSharingPolicy


@dataclass
class Args:
    """Settings (the tutorial's where it gives them)."""

    steps: int = 200_000
    """PPO agent-steps (one per piston slot and vec step)."""
    n_pistons: int = 20
    """Pistons (agents)."""
    max_cycles: int = 125
    """Episode length (the tutorial's 125)."""
    continuous: bool = True
    """Continuous piston moves (the tutorial's); False: down / stay / up."""
    n_envs: int = 4
    """Env copies (slots = copies x pistons)."""
    size: int = 84
    """Images are resized to size x size (the tutorial's 84)."""
    stack: int = 3
    """Frames stacked on the channel axis (the tutorial's 3)."""
    n_steps: int = 125
    """PPO rollout length per slot."""
    batch_size: int = 500
    """PPO minibatch size."""
    learning_rate: float = 3e-4
    """Adam learning rate."""
    seed: int = 0
    """Seed of the env copies and the model."""
    eval_episodes: int = 5
    """Greedy evaluation episodes after training."""
    threads: int = 1
    """torch threads."""
    out: Path = Path("out/pistonball")
    """Directory for the saved model."""


def make_env(args: Args) -> Any:
    """The tutorial's env: continuous pistons, blue channel, resized, frames stacked."""
    env = pistonball_v6.parallel_env(
        n_pistons=args.n_pistons,
        time_penalty=-0.1,
        continuous=args.continuous,
        random_drop=True,
        random_rotate=True,
        ball_mass=0.75,
        ball_friction=0.3,
        ball_elasticity=1.5,
        max_cycles=args.max_cycles,
    )
    env = ps_wrappers.color_reduction(env, mode="B")
    env = ps_wrappers.resize(env, x_size=args.size, y_size=args.size)
    return ps_wrappers.frame_stack(env, args.stack)


def main(args: Args) -> dict[str, Any]:
    """Train, evaluate against a random policy, save; returns the figures printed."""
    torch.set_num_threads(args.threads)
    env_fn = lambda: make_env(args)  # noqa: E731
    venv = ps_wrappers.make_vec_env(env_fn, n_envs=args.n_envs, seed=args.seed)
    model = PPO(
        FullSharingPolicy,
        venv,
        n_steps=args.n_steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        gamma=0.95,
        ent_coef=0.01,
        seed=args.seed,
        device="cpu",
    )
    start = time.perf_counter()
    model.learn(args.steps)
    seconds = time.perf_counter() - start
    trained = ps_wrappers.evaluate(model, env_fn, n_episodes=args.eval_episodes, seed=10_000)
    rng = np.random.default_rng(args.seed)
    random = _random_returns(env_fn, args.eval_episodes, rng)
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / "model.zip")
    result = {
        "observation": str(venv.observation_space),
        "trained_team_return": trained.mean_team_return,
        "random_team_return": float(np.mean(random)),
        "train_seconds": seconds,
        "agent_steps_per_second": model.num_timesteps / seconds,
    }
    print(f"pistonball, {args.n_pistons} pistons, {model.num_timesteps:,} agent-steps in {seconds:.0f} s")
    print(f"observation space: {venv.observation_space}")
    print(f"mean team return over {args.eval_episodes} episodes: trained {trained.mean_team_return:.1f}, random {np.mean(random):.1f}")
    return result


def _random_returns(env_fn: Any, episodes: int, rng: np.random.Generator) -> list[float]:
    env = env_fn()
    returns = []
    for k in range(episodes):
        env.reset(seed=10_000 + k)
        for a in env.possible_agents:
            env.action_space(a).seed(int(rng.integers(2**31)))
        total = 0.0
        while env.agents:
            actions = {a: env.action_space(a).sample() for a in env.agents}
            _, rewards, _, _, _ = env.step(actions)
            total += sum(float(r) for r in rewards.values())
        returns.append(total)
    env.close()
    return returns


if __name__ == "__main__":
    main(parse_args(Args, __doc__))
