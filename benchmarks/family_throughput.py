"""Training throughput of the sharing policies of SAC, TD3, RecurrentPPO and QR-DQN vs SB3's stock policy.

For each algorithm, SB3's (or sb3-contrib's) own policy of that algorithm (``"MlpPolicy"``,
``"MlpLstmPolicy"`` for RecurrentPPO) and the sharing policies FuPS, FuPS+id, SNP-PS and SePS train on
the same vec env with the same settings and the same network sizes (the algorithm's defaults).
Every variant is built and warmed up once (past ``learning_starts``, one rollout for
RecurrentPPO); then each round trains every variant for the same number of agent-steps, in turn
(:func:`benchmarks.timing.interleaved`), so machine-load drift hits all alike. The table gives
the median agent-steps per CPU second of this process and the time ratio to the stock policy.
One torch thread.

Envs: mpe2 ``simple_world_comm_v3`` (6 heterogeneous agents: 34/28-dim observations, Box actions
of 9 and 5 dimensions, padded to 9) with ``continuous_actions=True`` for SAC, TD3 and RecurrentPPO,
and with its Discrete actions (20/5, padded to 20) for QR-DQN; ``invalid_action="random_valid"``
so the unmasked stock policy can run on the padded Discrete actions.

Usage::

    .venv/bin/python -m benchmarks.family_throughput                      # full run
    .venv/bin/python -m benchmarks.family_throughput --algos sac --rounds 1 --timesteps 600   # quick
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from mpe2 import simple_world_comm_v3
from sb3_contrib import RecurrentPPO
from stable_baselines3 import TD3

import ps_wrappers
from benchmarks.timing import format_table, interleaved
from policies import dqn, recurrent, sac, td3
from policies.dqn import MaskedQRDQN
from policies.sac import MaskedSAC


@dataclass
class Args:
    """Benchmark settings."""

    algos: str = "sac,td3,recurrent,qrdqn"
    """Comma-separated algorithms to time."""
    n_envs: int = 2
    """Env copies (slots = copies x 6 agents)."""
    timesteps: int = 2_400
    """Agent-steps per variant and round."""
    rounds: int = 3
    """Rounds; the median is reported."""
    seed: int = 0
    """Seed of env and models."""


ALGORITHMS: dict[str, tuple[str, Any, Any, str, bool, dict[str, Any]]] = {
    # key: (title, algorithm class, policy module, stock policy, Box actions, algorithm kwargs)
    "sac": ("SAC (MaskedSAC for the sharing policies)", MaskedSAC, sac, "MlpPolicy", True, {"learning_starts": 600}),
    "td3": ("TD3", TD3, td3, "MlpPolicy", True, {"learning_starts": 600}),
    "recurrent": ("RecurrentPPO", RecurrentPPO, recurrent, "MlpLstmPolicy", True, {"n_steps": 128, "batch_size": 128}),
    "qrdqn": ("QR-DQN (MaskedQRDQN)", MaskedQRDQN, dqn.qrdqn, "MlpPolicy", False, {"learning_starts": 600}),
}
METHODS: list[tuple[str, str, dict[str, Any]]] = [
    ("FuPS", "FullSharingPolicy", {}),
    ("FuPS+id", "FullSharingPolicy", {"agent_id": True}),
    ("SNP-PS", "PrunedMaskPolicy", {}),
    ("SePS (K=3, by type)", "SelectiveSharingPolicy", {}),
]


def _variant(algo: Any, policy: Any, policy_kwargs: dict[str, Any], venv: Any, kwargs: dict[str, Any], args: Args) -> Callable[[], int]:
    model = algo(policy, venv, seed=args.seed, policy_kwargs=dict(policy_kwargs), device="cpu", **kwargs)
    warm_up = int(kwargs.get("learning_starts", 0)) + int(kwargs.get("n_steps", 1)) * venv.num_envs
    model.learn(warm_up)

    def run() -> int:
        start = model.num_timesteps
        model.learn(args.timesteps, reset_num_timesteps=False)
        return model.num_timesteps - start

    return run


def run_algorithm(key: str, args: Args) -> dict[str, float]:
    """Median agent-steps per CPU second of the stock policy and each sharing policy of ``key``."""
    title, algo, module, stock, box, kwargs = ALGORITHMS[key]
    venv = ps_wrappers.make_vec_env(
        lambda: simple_world_comm_v3.parallel_env(continuous_actions=box),
        n_envs=args.n_envs,
        seed=args.seed,
        invalid_action="random_valid",
    )
    variants = {f"{stock} (stock)": _variant(algo, stock, {}, venv, kwargs, args)}
    for name, cls, policy_kwargs in METHODS:
        variants[name] = _variant(algo, getattr(module, cls), policy_kwargs, venv, kwargs, args)
    rates = interleaved(variants, rounds=args.rounds, clock="cpu")
    print(
        format_table(
            f"{title} on simple_world_comm_v3 ({venv.num_envs} slots, {args.timesteps} agent-steps x "
            f"{args.rounds} rounds, median, 1 torch thread)",
            rates,
            f"{stock} (stock)",
            "agent-steps / CPU s",
        )
    )
    print()
    return rates


def main(args: Args) -> dict[str, dict[str, float]]:
    """Run the selected algorithms and print one Markdown table each."""
    torch.set_num_threads(1)
    return {key: run_algorithm(key, args) for key in args.algos.split(",")}


def _parse() -> Args:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Args()
    for field, value in vars(defaults).items():
        parser.add_argument(f"--{field.replace('_', '-')}", type=type(value), default=value)
    return Args(**vars(parser.parse_args()))


if __name__ == "__main__":
    main(_parse())
