"""``MaskedDQN``: SB3's DQN whose random actions respect the action masks of slot observations.

SB3's DQN draws its warm-up actions (``_sample_action`` before ``learning_starts``) and its
epsilon-greedy actions (``predict``) with ``action_space.sample()``, over the whole padded action
space, and flips one epsilon coin for the whole batch of vec-env rows. ``MaskedDQN`` changes only
these two places:

* warm-up: every row gets a uniformly random action among its valid ones;
* epsilon-greedy: every row flips its own coin; exploring rows get a uniformly random valid
  action, the others the greedy action of the (masked) Q-network.

Everything else (replay, targets, updates, save / load) is SB3's DQN. With a sharing Q policy the
target ``max`` is masked by the policy itself (:mod:`policies.dqn.policies`). On an env whose
observations carry no slot layout (no masks) it behaves exactly like SB3's DQN, so algorithm
subclasses (e.g. ``MASTDQN``) can build on it for any env.

Example:
    >>> model = MaskedDQN(FullSharingQPolicy, venv, seed=0)  # doctest: +SKIP
    >>> model.learn(50_000)                                    # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3 import DQN
from stable_baselines3.common.noise import ActionNoise

from policies.core.action_masks import random_valid_actions
from ps_wrappers.layout import AnyLayout, ImageSlotLayout, SlotLayout

__all__ = ["MaskedDQN"]


class MaskedDQN(DQN):
    """DQN with masked warm-up and per-row masked epsilon-greedy exploration.

    Takes exactly SB3's ``DQN`` arguments. Masks are read from the observations of a vec env
    from :func:`ps_wrappers.make_vec_env`; with any other observation space, exploration is SB3's.

    Attributes:
        slot_layout: The env's :class:`~ps_wrappers.SlotLayout`, or ``None`` (unmasked env).
    """

    def _setup_model(self) -> None:
        super()._setup_model()
        layout = getattr(self.observation_space, "layout", None)
        self.slot_layout: AnyLayout | None = layout if isinstance(layout, (SlotLayout, ImageSlotLayout)) else None
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
                raise RuntimeError("MaskedDQN: no observation to sample from; call learn() to reset the env")
            action = self._random_actions(self._last_obs)
            return action, action
        return super()._sample_action(learning_starts, action_noise, n_envs)

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """Greedy masked action; unless ``deterministic``, each row explores with probability epsilon."""
        if self.slot_layout is None:
            return super().predict(observation, state, episode_start, deterministic)
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
