"""Masked exploration for SB3's value-based algorithms (DQN, sb3-contrib's QR-DQN).

SB3's DQN and sb3-contrib's QR-DQN draw their warm-up actions (``_sample_action`` before
``learning_starts``) and their epsilon-greedy actions (``predict``) with ``action_space.sample()``,
over the whole padded action space, and flip one epsilon coin for the whole batch of vec-env rows.
:class:`MaskedExplorationMixin` changes only these two places, for any such algorithm:

* warm-up: every row gets a uniformly random action among its valid ones;
* epsilon-greedy: every row flips its own coin; exploring rows get a uniformly random valid
  action, the others the greedy action of the (masked) policy.

On an env whose observations carry no slot layout (no masks) the algorithm is unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.noise import ActionNoise

from policies.core.action_masks import random_valid_actions
from ps_wrappers.layout import AnyLayout, ImageSlotLayout, SlotLayout

__all__ = ["MaskedExplorationMixin"]


class MaskedExplorationMixin:
    """Masked warm-up and per-row masked epsilon-greedy exploration (put it before the algorithm).

    ``class MaskedDQN(MaskedExplorationMixin, DQN)``; the algorithm must have
    ``exploration_rate``, ``observation_space``, ``action_space`` and ``policy``.

    Attributes:
        slot_layout: The env's slot layout, or ``None`` (unmasked env: the algorithm's own
            exploration).
    """

    slot_layout: AnyLayout | None
    exploration_rate: float
    num_timesteps: int
    _last_obs: Any
    observation_space: Any
    action_space: Any
    policy: Any

    def _setup_model(self) -> None:
        super()._setup_model()  # type: ignore[misc]
        layout = getattr(self.observation_space, "layout", None)
        self.slot_layout = layout if isinstance(layout, (SlotLayout, ImageSlotLayout)) else None
        if self.slot_layout is not None and hasattr(self.policy, "masked_exploration"):
            setattr(self.policy, "masked_exploration", True)  # noqa: B010 (a property of sharing Q policies)

    def _random_actions(self, observation: Any) -> np.ndarray:
        if self.slot_layout is None:
            return np.array([self.action_space.sample() for _ in range(len(observation))])
        return random_valid_actions(observation, self.slot_layout, self.action_space)

    def _sample_action(
        self, learning_starts: int, action_noise: ActionNoise | None = None, n_envs: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """Masked uniform actions during warm-up; otherwise :meth:`predict` (masked epsilon)."""
        if self.num_timesteps < learning_starts and self.slot_layout is not None:
            if self._last_obs is None:
                raise RuntimeError(
                    f"{type(self).__name__}: no observation to sample from; call learn() to reset the env"
                )
            action = self._random_actions(self._last_obs)
            return action, action
        return super()._sample_action(learning_starts, action_noise, n_envs)  # type: ignore[misc]

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """Greedy masked action; unless ``deterministic``, each row explores with probability epsilon."""
        if self.slot_layout is None:
            return super().predict(observation, state, episode_start, deterministic)  # type: ignore[misc]
        action, state = self.policy.predict(observation, state, episode_start, deterministic=True)
        if deterministic or self.exploration_rate <= 0.0:
            return action, state
        n_rows = self.slot_layout.n_rows(observation)
        explore = np.random.random_sample(n_rows) < self.exploration_rate
        if explore.any():
            flat = np.array(action).reshape(n_rows)
            flat[explore] = self._random_actions(self.slot_layout.take_rows(observation, explore))
            action = flat.reshape(np.shape(action))
        return action, state
