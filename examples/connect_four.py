"""PettingZoo's SB3 connect-four tutorial with ps-toolkit: self-play through one shared policy, masked moves.

PettingZoo's tutorial ("SB3: Action Masked PPO for Connect Four") wraps the turn-based AEC game
into a single-agent Gymnasium env by hand and trains sb3-contrib's ``MaskablePPO``. Here the AEC
game goes straight into the vec env: both players are slots of one shared policy (self-play by
parameter sharing), the slot whose turn it is acts, the other waits (a placeholder row that
teaches nothing), and full columns are masked inside the policy from the env's ``action_mask``::

    venv = ps_wrappers.make_vec_env(connect_four_v3.env, n_envs=8, seed=0)
    model = PPO(FullSharingPolicy, venv, policy_kwargs=dict(agent_id=True)).learn(200_000)

The board (6x7, one plane per player) is an image: the policy's trunk is a small CNN
(``policies.GridCNN``). The agent id tells the shared network which side it plays. Usage::

    python -m examples.connect_four --steps 200000     # prints the win rate against random play
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pettingzoo.classic import connect_four_v3
from stable_baselines3 import PPO

import ps_wrappers
from examples._common import parse_args
from policies import FullSharingPolicy


@dataclass
class Args:
    """Settings."""

    steps: int = 200_000
    """PPO agent-steps (two slots per game, one of which acts)."""
    n_envs: int = 8
    """Games played at once."""
    n_steps: int = 256
    """PPO rollout length per slot."""
    batch_size: int = 256
    """PPO minibatch size."""
    seed: int = 0
    """Seed of games and model."""
    eval_games: int = 100
    """Games against a uniformly random player (half as first player)."""
    threads: int = 1
    """torch threads."""
    out: Path = Path("out/connect_four")
    """Directory for the saved model."""


def win_rate_against_random(model: Any, games: int, seed: int) -> dict[str, float]:
    """Play the shared policy (greedy) against uniformly random legal moves, alternating sides.

    Returns:
        Fractions of games won, drawn and lost by the policy, and the number of illegal moves it
        attempted (always 0: the policy masks them).
    """
    env = connect_four_v3.env()
    actor = ps_wrappers.SharedPolicy(model, env, deterministic=True)
    rng = np.random.default_rng(seed)
    wins = draws = losses = 0
    for game in range(games):
        env.reset(seed=seed + game)
        ours = env.possible_agents[game % 2]
        for agent in env.agent_iter():
            obs, reward, term, trunc, info = env.last()
            if term or trunc:
                if agent == ours:
                    wins, draws, losses = wins + (reward > 0), draws + (reward == 0), losses + (reward < 0)
                env.step(None)
                continue
            if agent == ours:
                action = actor.act({agent: obs}, {agent: info})[agent]
            else:
                action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
            env.step(action)
    env.close()
    return {"win": wins / games, "draw": draws / games, "loss": losses / games}


def main(args: Args) -> dict[str, Any]:
    """Self-play training, then the win rate against random play before and after."""
    torch.set_num_threads(args.threads)
    venv = ps_wrappers.make_vec_env(connect_four_v3.env, n_envs=args.n_envs, seed=args.seed)
    model = PPO(
        FullSharingPolicy,
        venv,
        n_steps=args.n_steps,
        batch_size=args.batch_size,
        ent_coef=0.01,
        seed=args.seed,
        policy_kwargs={"agent_id": True},
        device="cpu",
    )
    before = win_rate_against_random(model, args.eval_games, 10_000)
    start = time.perf_counter()
    model.learn(args.steps)
    seconds = time.perf_counter() - start
    after = win_rate_against_random(model, args.eval_games, 10_000)
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / "model.zip")
    print(f"connect four, self-play, {model.num_timesteps:,} agent-steps in {seconds:.0f} s")
    print(f"observation space: {venv.observation_space}")
    print(f"against random play ({args.eval_games} games): before training win {before['win']:.2f}, "
          f"after win {after['win']:.2f} / draw {after['draw']:.2f} / loss {after['loss']:.2f}")
    return {"before": before, "after": after, "train_seconds": seconds}


if __name__ == "__main__":
    main(parse_args(Args, __doc__))
