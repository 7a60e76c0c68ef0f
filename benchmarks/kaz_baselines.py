"""Reference returns on knights-archers-zombies for the learning curves: random and blind policies.

A policy that never looks at its observation can still score on KAZ by attacking often (arrows
and maces hit whatever walks into them), so "above random" alone does not show that a network
learnt from its images. This prints, over the same seeded episodes, the team return (zombies
killed) of uniform random actions, of always attacking, and of attacking with probability ``p``
(else a uniform action): the best of these is the bar a policy that uses its view must clear.
The game does not depend on the observation mode, so the vector mode (fast) is used.

Usage: python -m benchmarks.kaz_baselines [--episodes 100]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from pettingzoo.butterfly import knights_archers_zombies_v11

ATTACK = 4  # KAZ's actions: 0 up, 1 down, 2 turn counter-clockwise, 3 turn clockwise, 4 attack, 5 nothing
Policy = Callable[[str, np.random.Generator], int]


def team_returns(policy: Policy, episodes: int, max_cycles: int = 900, max_zombies: int = 10) -> np.ndarray:
    """Team return of ``policy`` on episodes seeded 10,000 .. 10,000 + episodes - 1 (the evaluations' seeds)."""
    env = knights_archers_zombies_v11.parallel_env(obs_method="vector", max_cycles=max_cycles, max_zombies=max_zombies)
    rng = np.random.default_rng(0)
    out = []
    for k in range(episodes):
        env.reset(seed=10_000 + k)
        total = 0.0
        while env.agents:
            _, rewards, _, _, _ = env.step({a: policy(a, rng) for a in env.agents})
            total += sum(float(r) for r in rewards.values())
        out.append(total)
    env.close()
    return np.asarray(out)


def _attack_with(p: float) -> Policy:
    return lambda agent, rng: ATTACK if rng.random() < p else int(rng.integers(6))


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100)
    args = parser.parse_args()
    policies: dict[str, Policy] = {
        "uniform random": lambda agent, rng: int(rng.integers(6)),
        "always attack": lambda agent, rng: ATTACK,
        **{f"attack with probability {p}, else uniform": _attack_with(p) for p in (0.4, 0.55, 0.7, 0.85)},
    }
    print(f"KAZ (2 archers, 2 knights, max_zombies 10, max_cycles 900), {args.episodes} episodes\n")
    print("| policy (ignores its observation) | team return, mean ± s.e. |\n|---|---:|")
    for name, policy in policies.items():
        r = team_returns(policy, args.episodes)
        print(f"| {name} | {r.mean():.2f} ± {r.std() / np.sqrt(len(r)):.2f} |", flush=True)


if __name__ == "__main__":
    main()
