"""Replay buffers for MAST's value pieces: stored sequences and dual (offline + online) buffers.

SB3's :class:`~stable_baselines3.common.buffers.ReplayBuffer` already stores transitions as
``[position, env slot]``: consecutive positions of one slot are consecutive steps of that slot's
episodes. :class:`SequenceReplayBuffer` uses that to return, for each sampled transition, the
window of following steps up to the episode end, the buffer's write head or a horizon, which is
what TD(lambda) targets need (MAST section 4.2). :class:`SequenceDictReplayBuffer` does the same
on SB3's ``DictReplayBuffer`` for Dict observations (the image slots of
:func:`ps_wrappers.make_vec_env`); both share the window logic of :class:`SequenceMixin`.

:class:`DualReplayBuffer` is MAST's dual buffer (section 4.4): a large offline buffer ``B1`` and a
small online buffer ``B2`` that both receive every transition; a batch takes its rows from them in
a fixed ratio (5:3 by default, MAST Table 3/4). :class:`DualDictReplayBuffer` is its Dict twin;
both share :class:`DualMixin`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.buffers import DictReplayBuffer, ReplayBuffer
from stable_baselines3.common.type_aliases import DictReplayBufferSamples, ReplayBufferSamples
from stable_baselines3.common.vec_env import VecNormalize

__all__ = [
    "DualDictReplayBuffer",
    "DualMixin",
    "DualReplayBuffer",
    "SequenceDictReplayBuffer",
    "SequenceMixin",
    "SequenceReplayBuffer",
    "SequenceSamples",
    "sequence_buffer_classes",
]

Observations = Any  # an array, or a dict of arrays (Dict observation spaces)



class SequenceSamples(NamedTuple):
    """A batch of transitions with the window of steps that follows each one.

    Attributes:
        observations: ``[B, *obs]`` observations ``s_t`` (a dict of such tensors for Dict spaces).
        actions: ``[B, 1]`` actions ``u_t``.
        rewards: ``[B, H]`` rewards ``r_{t+k}`` (0 past the window).
        next_observations: ``[B, H, *obs]`` observations ``s_{t+k+1}`` (copies of the last valid
            one past the window; a dict of such tensors for Dict spaces).
        terminals: ``[B, H]`` 1 where ``s_{t+k+1}`` is a true terminal state (not a time limit).
        lengths: ``[B]`` window lengths ``L`` in ``[1, H]``.
    """

    observations: Any
    actions: torch.Tensor
    rewards: torch.Tensor
    next_observations: Any
    terminals: torch.Tensor
    lengths: torch.Tensor


def _take(store: Observations, index: tuple[np.ndarray, np.ndarray]) -> Observations:
    """``store[index]`` for an array or each array of a dict."""
    if isinstance(store, dict):
        return {key: value[index] for key, value in store.items()}
    return store[index]


def _cat(parts: list[Any]) -> Any:
    """Concatenate batches of observation tensors (or dicts of them) along the first axis."""
    if isinstance(parts[0], dict):
        return {key: torch.cat([p[key] for p in parts]) for key in parts[0]}
    return torch.cat(parts)


class SequenceMixin:
    """The windows of stored steps after sampled transitions, on an SB3 replay buffer's arrays.

    Mixed into :class:`SequenceReplayBuffer` (array observations) and
    :class:`SequenceDictReplayBuffer` (Dict observations): only how an observation is taken from
    the store differs.
    """

    buffer_size: int
    pos: int
    full: bool
    n_envs: int
    device: torch.device
    observations: Observations
    next_observations: Observations
    actions: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray
    timeouts: np.ndarray
    to_torch: Callable[..., torch.Tensor]  # from SB3's buffer (annotations only: no attribute here)
    _normalize_reward: Callable[..., np.ndarray]

    _dict_observations: ClassVar[bool]  # which kind of observation space the SB3 base stores

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: torch.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
    ) -> None:
        name = type(self).__name__
        if optimize_memory_usage:
            raise ValueError(
                f"{name}: optimize_memory_usage=True is not supported (next observations of a "
                "window must be stored); pass optimize_memory_usage=False."
            )
        if isinstance(observation_space, spaces.Dict) != self._dict_observations:
            twin = name.replace("Dict", "") if self._dict_observations else _DICT_TWIN.get(name, "SequenceDictReplayBuffer")
            what = "is not a Dict" if self._dict_observations else "is a Dict"
            raise ValueError(
                f"{name}: the observation space {observation_space} {what}; use {twin} "
                "(policies.mast.buffers), or let MASTDQN pick its buffers."
            )
        super().__init__(  # type: ignore[call-arg]  # the SB3 buffer this is mixed into
            buffer_size,
            observation_space,
            action_space,
            device=device,
            n_envs=n_envs,
            optimize_memory_usage=False,
            handle_timeout_termination=handle_timeout_termination,
        )

    def _steps_after(self, batch_inds: np.ndarray) -> np.ndarray:
        """Number of stored steps after each position, up to the write head."""
        return (
            (self.pos - 1 - batch_inds) % self.buffer_size
            if self.full
            else self.pos - 1 - batch_inds
        )

    def sample_indices(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Uniform ``(position, env slot)`` pairs over the stored transitions."""
        upper = self.buffer_size if self.full else self.pos
        return np.random.randint(0, upper, size=batch_size), np.random.randint(
            0, self.n_envs, size=batch_size
        )

    def sequences_at(
        self,
        batch_inds: np.ndarray,
        env_inds: np.ndarray,
        horizon: int,
        env: VecNormalize | None = None,
    ) -> SequenceSamples:
        """The windows of at most ``horizon`` steps starting at the given transitions.

        A window stops after the first step that ends an episode (terminal or time limit), at the
        newest stored step, or after ``horizon`` steps.
        """
        if horizon < 1:
            raise ValueError(f"{type(self).__name__}: horizon must be >= 1, got {horizon}.")
        steps = np.arange(horizon)
        idx = (batch_inds[:, None] + steps[None, :]) % self.buffer_size
        slots = env_inds[:, None]
        within = steps[None, :] <= self._steps_after(batch_inds)[:, None]
        dones = self.dones[idx, slots]
        timeouts = self.timeouts[idx, slots]
        ends = (dones > 0) | (timeouts > 0)
        ends_inside = ends & within
        first_end = np.where(ends_inside.any(axis=1), ends_inside.argmax(axis=1), horizon)
        lengths = np.minimum(np.minimum(first_end + 1, within.sum(axis=1)), horizon)
        keep = steps[None, :] < lengths[:, None]
        last = (batch_inds + lengths - 1) % self.buffer_size
        idx = np.where(keep, idx, last[:, None])
        rewards = self._normalize_reward(self.rewards[idx, slots], env) * keep
        terminals = (self.dones[idx, slots] * (1.0 - self.timeouts[idx, slots])) * keep
        next_obs = self._observations_to_torch(_take(self.next_observations, (idx, slots)), env)
        obs = self._observations_to_torch(_take(self.observations, (batch_inds, env_inds)), env)
        return SequenceSamples(
            observations=obs,
            actions=self.to_torch(self.actions[batch_inds, env_inds]),
            rewards=self.to_torch(rewards.astype(np.float32)),
            next_observations=next_obs,
            terminals=self.to_torch(terminals.astype(np.float32)),
            lengths=torch.as_tensor(lengths, dtype=torch.long, device=self.device),
        )

    def sample_sequences(
        self, batch_size: int, horizon: int, env: VecNormalize | None = None
    ) -> SequenceSamples:
        """Sample ``batch_size`` transitions uniformly with their windows (see :meth:`sequences_at`)."""
        batch_inds, env_inds = self.sample_indices(batch_size)
        return self.sequences_at(batch_inds, env_inds, horizon, env)

    def _observations_to_torch(self, obs: Observations, env: VecNormalize | None) -> Any:
        normalized = self._normalize_obs(obs, env)  # type: ignore[attr-defined]
        if isinstance(normalized, dict):
            return {key: self.to_torch(np.asarray(value)) for key, value in normalized.items()}
        return self.to_torch(np.asarray(normalized))


class SequenceReplayBuffer(SequenceMixin, ReplayBuffer):
    """A replay buffer that can also return the stored steps following each sampled transition.

    Accepts the arguments of SB3's ``ReplayBuffer``; ``optimize_memory_usage`` is not supported.
    For Dict observation spaces use :class:`SequenceDictReplayBuffer`
    (:func:`sequence_buffer_classes` picks the right one).

    Raises:
        ValueError: if ``optimize_memory_usage`` is True or the observation space is a Dict.
    """

    _dict_observations = False


class SequenceDictReplayBuffer(SequenceMixin, DictReplayBuffer):
    """:class:`SequenceReplayBuffer` for Dict observation spaces (SB3's ``DictReplayBuffer``).

    Raises:
        ValueError: if ``optimize_memory_usage`` is True or the observation space is not a Dict.
    """

    _dict_observations = True


class DualMixin:
    """MAST's dual replay buffers (section 4.4): large offline ``B1`` plus small online ``B2``.

    The buffer itself is ``B1`` (capacity ``buffer_size``); it owns ``B2`` as :attr:`online`, a
    sequence buffer of the same kind. Every transition goes to both. A batch of ``B`` rows takes
    ``round(B * b1 / (b1 + b2))`` rows from ``B1`` (first) and the rest from ``B2``, with
    ``(b1, b2) = sample_ratio``. Mixed into :class:`DualReplayBuffer` and
    :class:`DualDictReplayBuffer`.
    """

    online: Any
    sample_ratio: tuple[int, int]
    _online_class: ClassVar[type]
    _samples_class: ClassVar[type]

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: torch.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        online_buffer_size: int | None = None,
        sample_ratio: tuple[int, int] = (5, 3),
    ) -> None:
        super().__init__(  # type: ignore[call-arg]  # the sequence buffer this is mixed into
            buffer_size, observation_space, action_space, device=device, n_envs=n_envs,
            optimize_memory_usage=optimize_memory_usage, handle_timeout_termination=handle_timeout_termination,
        )
        name = type(self).__name__
        ratio = tuple(sample_ratio)
        if (
            len(ratio) != 2
            or any(
                isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 0 for r in ratio
            )
            or sum(ratio) == 0
        ):
            raise ValueError(
                f"{name}: sample_ratio must be two non-negative integers (offline, "
                f"online) with a positive sum, got {sample_ratio!r}; MAST uses (5, 3)."
            )
        if online_buffer_size is None:
            online_buffer_size = max(buffer_size * 128 // 5000, 64 * n_envs)
        if online_buffer_size < 1:
            raise ValueError(f"{name}: online_buffer_size must be >= 1, got {online_buffer_size}.")
        self.sample_ratio = (int(ratio[0]), int(ratio[1]))
        self.online = self._online_class(
            online_buffer_size,
            observation_space,
            action_space,
            device=device,
            n_envs=n_envs,
            handle_timeout_termination=handle_timeout_termination,
        )

    def split(self, batch_size: int) -> tuple[int, int]:
        """Rows ``(from B1, from B2)`` of a batch of ``batch_size``."""
        offline = round(batch_size * self.sample_ratio[0] / sum(self.sample_ratio))
        return offline, batch_size - offline

    def add(self, *args: Any, **kwargs: Any) -> None:
        """Store a transition in both buffers."""
        super().add(*args, **kwargs)  # type: ignore[misc]
        self.online.add(*args, **kwargs)

    def reset(self) -> None:
        """Empty both buffers."""
        super().reset()  # type: ignore[misc]
        self.online.reset()

    def sample(self, batch_size: int, env: VecNormalize | None = None) -> Any:
        """One-step samples: ``split(batch_size)`` rows from ``B1`` then ``B2``."""
        n_off, n_on = self.split(batch_size)
        buffers: tuple[Any, Any] = (self, self.online)
        parts = [
            buffer._get_samples(buffer.sample_indices(n)[0], env=env)
            for buffer, n in zip(buffers, (n_off, n_on))
            if n > 0
        ]
        return self._samples_class(*(_cat(list(fields)) for fields in zip(*(p[:5] for p in parts))))

    def sample_sequences(
        self, batch_size: int, horizon: int, env: VecNormalize | None = None
    ) -> SequenceSamples:
        """Windowed samples: ``split(batch_size)`` rows from ``B1`` then ``B2``."""
        n_off, n_on = self.split(batch_size)
        parts = []
        buffers: tuple[Any, Any] = (self, self.online)
        for buffer, n in zip(buffers, (n_off, n_on)):
            if n > 0:
                batch_inds, env_inds = buffer.sample_indices(n)
                parts.append(buffer.sequences_at(batch_inds, env_inds, horizon, env))
        return SequenceSamples(*(_cat(list(fields)) for fields in zip(*parts)))


_DUAL_DOC = """

    Args:
        buffer_size: Capacity of the offline buffer ``B1`` (transitions, over all env slots).
        observation_space: Observation space.
        action_space: Action space.
        device: Torch device.
        n_envs: Number of env slots.
        optimize_memory_usage: Not supported.
        handle_timeout_termination: As in SB3.
        online_buffer_size: Capacity of ``B2``. Default: ``buffer_size * 128 / 5000`` (MAST
            Table 4: 5000 and 128 episodes), at least ``64 * n_envs``.
        sample_ratio: ``(b1, b2)`` rows from ``B1`` and ``B2`` per batch (MAST: 5:3).

    Raises:
        ValueError: for a non-positive online size or a ratio that is not two non-negative
            integers with a positive sum.
    """


class DualReplayBuffer(DualMixin, SequenceReplayBuffer):
    """MAST's dual replay buffers for array observations (see :class:`DualMixin`); works as the
    ``replay_buffer_class`` of any SB3 off-policy algorithm."""

    _online_class = SequenceReplayBuffer
    _samples_class = ReplayBufferSamples


class DualDictReplayBuffer(DualMixin, SequenceDictReplayBuffer):
    """MAST's dual replay buffers for Dict observations (see :class:`DualMixin`)."""

    _online_class = SequenceDictReplayBuffer
    _samples_class = DictReplayBufferSamples


DualReplayBuffer.__doc__ = (DualReplayBuffer.__doc__ or "") + _DUAL_DOC
DualDictReplayBuffer.__doc__ = (DualDictReplayBuffer.__doc__ or "") + _DUAL_DOC
_DICT_TWIN = {"SequenceReplayBuffer": "SequenceDictReplayBuffer", "DualReplayBuffer": "DualDictReplayBuffer"}


def sequence_buffer_classes(observation_space: spaces.Space) -> tuple[type[SequenceMixin], type[DualMixin]]:
    """``(sequence buffer, dual buffer)`` classes for ``observation_space`` (array or Dict)."""
    if isinstance(observation_space, spaces.Dict):
        return SequenceDictReplayBuffer, DualDictReplayBuffer
    return SequenceReplayBuffer, DualReplayBuffer
