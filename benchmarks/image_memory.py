"""Benchmark: bytes per stored observation in SB3's buffers, image slots vs flat rows (issue 13).

For pistonball_v6 (20 agents, 457x120x3 uint8 images; ``continuous=False`` so DQN applies) and
MAgent2 battle_v4 (162 agents, 13x13x5 float32 images), builds the vec env with image slots
(``make_vec_env`` default) and with the old flat rows (``images="flatten"``), then creates the
buffers the algorithms themselves allocate: ``PPO(...).rollout_buffer`` and
``DQN(...).replay_buffer`` (``MultiInputPolicy`` for image slots, ``MlpPolicy`` for flat rows).
Reports the bytes each stored observation takes (every observation array of the buffer, divided
by the number of observations it holds) against the raw image (``H*W*C*itemsize``). DQN's buffer
also keeps ``next_observations`` (SB3's ``optimize_memory_usage`` is not available for Dict
observations), so a transition costs twice the figure.

Usage: python -m benchmarks.image_memory
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any


def _obs_bytes(observations: Any) -> int:
    if isinstance(observations, dict):
        return sum(v.nbytes for v in observations.values())
    return int(observations.nbytes)


def measure(name: str, env_fn: Callable[[], Any], raw_bytes: int) -> list[tuple[str, str, str, float, float]]:
    """``(env, layout, buffer, bytes per observation, ratio to the raw image)`` rows."""
    from stable_baselines3 import DQN, PPO

    import ps_wrappers as pw

    rows = []
    for images in ("auto", "flatten"):
        venv = pw.make_vec_env(env_fn, seed=0, images=images)
        policy = "MultiInputPolicy" if isinstance(venv.observation_space, pw.SlotDict) else "MlpPolicy"
        layout = "image slots (SlotDict)" if policy == "MultiInputPolicy" else "flat float32 rows (images='flatten')"
        kwargs: dict[str, Any] = {"net_arch": [8]}
        if policy == "MultiInputPolicy":
            kwargs["features_extractor_kwargs"] = {"cnn_output_dim": 8}
        ppo = PPO(policy, venv, n_steps=4, batch_size=4 * venv.num_envs, policy_kwargs=kwargs, device="cpu")
        stored = ppo.rollout_buffer.buffer_size * ppo.rollout_buffer.n_envs
        per_obs = _obs_bytes(ppo.rollout_buffer.observations) / stored
        rows.append((name, layout, "PPO rollout buffer", per_obs, per_obs / raw_bytes))
        del ppo
        dqn = DQN(policy, venv, buffer_size=4 * venv.num_envs, learning_starts=0, policy_kwargs=kwargs, device="cpu")
        buffer = dqn.replay_buffer
        assert buffer is not None
        stored = buffer.buffer_size * buffer.n_envs
        per_obs = _obs_bytes(buffer.observations) / stored
        rows.append((name, layout, "DQN replay buffer (observations)", per_obs, per_obs / raw_bytes))
        del dqn
        venv.close()
    return rows


def main() -> None:
    """Print the Markdown table."""
    warnings.filterwarnings("ignore")
    import torch
    from magent2.environments import battle_v4
    from pettingzoo.butterfly import pistonball_v6

    torch.set_num_threads(1)
    envs = [
        ("pistonball_v6 (20 agents)", lambda: pistonball_v6.parallel_env(continuous=False), 457 * 120 * 3 * 1),
        ("battle_v4 (162 agents)", lambda: battle_v4.parallel_env(map_size=45), 13 * 13 * 5 * 4),
    ]
    print("| env | slot layout | buffer | bytes per stored observation | vs raw image |")
    print("|---|---|---|---:|---:|")
    for name, fn, raw in envs:
        for env, layout, buffer, per_obs, ratio in measure(name, fn, raw):
            print(f"| {env} | {layout} | {buffer} | {per_obs:,.0f} | {ratio:.3f}x |")
        print(f"| {name} | raw image | - | {raw:,} | 1.000x |")


if __name__ == "__main__":
    main()
