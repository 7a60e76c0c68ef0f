"""Stored sequences for TD(lambda) and the dual (offline + online) buffers' 5:3 sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from policies.mast.buffers import (
    DualDictReplayBuffer,
    DualReplayBuffer,
    SequenceDictReplayBuffer,
    SequenceReplayBuffer,
    sequence_buffer_classes,
)

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


def test_sequence_buffer_rejects_memory_optimisation_and_points_dict_spaces_to_the_dict_twin():
    with pytest.raises(ValueError, match="SequenceReplayBuffer: optimize_memory_usage=True"):
        SequenceReplayBuffer(
            10, OBS, ACT, optimize_memory_usage=True, handle_timeout_termination=False
        )
    with pytest.raises(ValueError, match="SequenceReplayBuffer: the observation space Dict.* is a Dict; use SequenceDictReplayBuffer"):
        SequenceReplayBuffer(10, spaces.Dict({"a": OBS}), ACT)
    with pytest.raises(ValueError, match="DualReplayBuffer: the observation space Dict.* is a Dict; use DualDictReplayBuffer"):
        DualReplayBuffer(10, spaces.Dict({"a": OBS}), ACT)
    with pytest.raises(ValueError, match="SequenceDictReplayBuffer: the observation space Box.* is not a Dict; use SequenceReplayBuffer"):
        SequenceDictReplayBuffer(10, OBS, ACT)
    assert sequence_buffer_classes(OBS) == (SequenceReplayBuffer, DualReplayBuffer)
    assert sequence_buffer_classes(DICT) == (SequenceDictReplayBuffer, DualDictReplayBuffer)


DICT = spaces.Dict({"image": spaces.Box(0, 255, (1, 2, 2), np.uint8), "x": OBS})


class _AsDict:
    """Adds each flat transition of ``_fill`` as a Dict one: ``x`` the flat obs, ``image`` its step."""

    def __init__(self, buffer):
        self.buffer = buffer

    def add(self, obs, next_obs, *rest):
        as_dict = lambda o: {"image": np.broadcast_to(o[:, :1, None, None], (len(o), 1, 2, 2)).astype(np.uint8), "x": o}  # noqa: E731
        self.buffer.add(as_dict(obs), as_dict(next_obs), *rest)


@pytest.mark.parametrize("dual", [False, True], ids=["sequence", "dual"])
def test_dict_buffers_return_the_same_windows_as_flat_ones(dual):
    flat_cls, dict_cls = (DualReplayBuffer, DualDictReplayBuffer) if dual else (SequenceReplayBuffer, SequenceDictReplayBuffer)
    extra = {"online_buffer_size": 4} if dual else {}  # online: the 2 newest steps of each slot
    flat = flat_cls(40, OBS, ACT, device="cpu", n_envs=2, **extra)
    twin = dict_cls(40, DICT, ACT, device="cpu", n_envs=2, **extra)
    _fill(flat, 27, n_envs=2, done_at=(5,), timeout_at=(11,))  # wraps around 20 positions per slot
    _fill(_AsDict(twin), 27, n_envs=2, done_at=(5,), timeout_at=(11,))
    batch, slots = np.array([0, 3, 9, 15, 19, 6]), np.array([0, 1, 0, 1, 0, 1])
    a, b = flat.sequences_at(batch, slots, horizon=6), twin.sequences_at(batch, slots, horizon=6)
    for field in ("actions", "rewards", "terminals", "lengths"):
        assert torch.equal(getattr(a, field), getattr(b, field)), field
    assert torch.equal(a.observations, b.observations["x"]) and torch.equal(a.next_observations, b.next_observations["x"])
    assert b.next_observations["image"].dtype == torch.uint8  # images stay uint8
    assert torch.equal(b.next_observations["image"][:, :, 0, 0, 0].float(), a.next_observations[..., 0] % 256)
    if dual:
        np.random.seed(0)
        one_step = twin.sample(16)
        assert set(one_step.observations) == {"image", "x"} and one_step.rewards.shape == (16, 1)
        assert (one_step.rewards[10:] >= 25).all()  # the online buffer holds the newest steps
        windows = twin.sample_sequences(16, horizon=3)
        assert windows.next_observations["image"].shape == (16, 3, 1, 2, 2)


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
