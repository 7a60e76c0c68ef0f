"""Stored sequences for TD(lambda) and the dual (offline + online) buffers' 5:3 sampling."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from policies.mast.buffers import DualReplayBuffer, SequenceReplayBuffer

OBS = spaces.Box(-np.inf, np.inf, (2,), np.float32)
ACT = spaces.Discrete(3)


def _fill(buffer, steps, n_envs=1, done_at=(), timeout_at=()):
    """Step ``t`` stores reward ``t``, obs ``[t, slot]``, next obs ``[t + 1, slot]``."""
    for t in range(steps):
        obs = np.array([[t, e] for e in range(n_envs)], dtype=np.float32)
        done = np.array([t in done_at or t in timeout_at] * n_envs)
        infos = [{"TimeLimit.truncated": t in timeout_at} for _ in range(n_envs)]
        buffer.add(obs, obs + [1, 0], np.zeros(n_envs), np.full(n_envs, float(t)), done, infos)


def test_windows_stop_after_terminal_time_limit_and_horizon():
    buf = SequenceReplayBuffer(100, OBS, ACT, device="cpu")
    _fill(buf, 12, done_at=(3,), timeout_at=(7,))
    s = buf.sequences_at(np.array([0, 4, 8, 1]), np.zeros(4, dtype=int), horizon=5)
    assert s.lengths.tolist() == [
        4,
        4,
        4,
        3,
    ]  # 0..3 ends at terminal 3, 4..7 at time limit 7, 8..11 at the head
    assert s.rewards[0].tolist() == [0, 1, 2, 3, 0]
    assert s.terminals[0].tolist() == [0, 0, 0, 1, 0]
    assert s.terminals[1].tolist() == [0, 0, 0, 0, 0]  # a time limit is not terminal
    assert s.next_observations[2, :4, 0].tolist() == [9, 10, 11, 12]
    assert s.rewards[3].tolist() == [1, 2, 3, 0, 0]


def test_windows_follow_their_env_slot_and_wrap_around_a_full_buffer():
    buf = SequenceReplayBuffer(10, OBS, ACT, device="cpu", n_envs=2)  # 5 positions per slot
    _fill(buf, 7, n_envs=2)  # positions hold steps [5, 6, 2, 3, 4], write head at 2
    s = buf.sequences_at(np.array([3, 3]), np.array([0, 1]), horizon=4)
    assert s.observations[:, 1].tolist() == [0, 1]
    assert s.rewards.tolist() == [[3, 4, 5, 6], [3, 4, 5, 6]]
    s = buf.sequences_at(np.array([0]), np.array([1]), horizon=4)  # step 5: only step 6 follows
    assert s.lengths.tolist() == [2]


def test_sequence_buffer_rejects_memory_optimisation_and_dict_spaces():
    with pytest.raises(ValueError, match="SequenceReplayBuffer: optimize_memory_usage=True"):
        SequenceReplayBuffer(
            10, OBS, ACT, optimize_memory_usage=True, handle_timeout_termination=False
        )
    with pytest.raises(ValueError, match="SequenceReplayBuffer: Dict observation spaces"):
        SequenceReplayBuffer(10, spaces.Dict({"a": OBS}), ACT)


def test_dual_buffer_stores_everywhere_and_samples_five_to_three():
    buf = DualReplayBuffer(1000, OBS, ACT, device="cpu", online_buffer_size=20)
    assert buf.split(32) == (20, 12)
    _fill(buf, 500)
    assert buf.size() == 500 and buf.online.size() == 20
    np.random.seed(0)
    for batch in (buf.sample(32), buf.sample_sequences(32, horizon=3)):
        rewards = batch.rewards[:, :1].squeeze(1).numpy()
        assert len(rewards) == 32
        assert (rewards[20:] >= 480).all()  # the online rows are the 20 newest transitions
        assert (rewards[:20] < 480).sum() >= 15  # the offline rows come from the whole history


def test_dual_buffer_default_online_size_and_validation():
    assert DualReplayBuffer(50_000, OBS, ACT).online.buffer_size == 1280
    assert DualReplayBuffer(1000, OBS, ACT, n_envs=4).online.buffer_size == 64
    with pytest.raises(
        ValueError, match=r"DualReplayBuffer: sample_ratio must be two non-negative"
    ):
        DualReplayBuffer(100, OBS, ACT, sample_ratio=(0, 0))
    with pytest.raises(ValueError, match="online_buffer_size must be >= 1"):
        DualReplayBuffer(100, OBS, ACT, online_buffer_size=0)
