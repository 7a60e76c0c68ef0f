"""Observation and reward normalisation for parameter-sharing vec envs.

SB3's ``VecNormalize`` standardises every entry of a Box observation. A slot observation
(:mod:`ps_wrappers.layout`) is ``[features | agent one-hot | acting flag | action mask]``, and
only the features are measurements: standardising the other segments turns the one-hot into
arbitrary numbers and the 0/1 mask into values the policies can no longer read (an entry that is
always 1 becomes 0, i.e. "invalid"). :class:`SlotVecNormalize` is a ``VecNormalize`` that
standardises the features only, from the rows of agents that act, and leaves the other segments
bit for bit as the vec env wrote them. Everything else (reward normalisation, ``training``,
``save`` / ``VecNormalize.load``, off-policy buffers normalising at sample time) is SB3's.
"""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from ps_wrappers.layout import SlotLayout, get_flat_layout, get_layout

__all__ = ["SlotVecNormalize", "SlotRunningMeanStd"]


class SlotRunningMeanStd(RunningMeanStd):
    """Running mean and variance of the feature segment of acting slot rows.

    ``update`` takes whole slot observations ``[B, total_dim]`` and keeps statistics of
    ``features`` (``[D]``) over the rows whose acting flag is 1. Placeholder rows (dead agents,
    agents waiting for their turn) are left out, so the zeros of a dead slot do not pull the mean
    towards zero.
    """

    def __init__(self, layout: SlotLayout, epsilon: float = 1e-4) -> None:
        super().__init__(epsilon=epsilon, shape=(layout.feature_dim,))
        self.layout = layout

    def update(self, arr: np.ndarray) -> None:
        """Add a batch of slot observations to the statistics."""
        rows = np.asarray(arr).reshape(-1, self.layout.total_dim)
        rows = rows[rows[:, self.layout.acting_index] > 0.5, : self.layout.feature_dim]
        if len(rows):
            super().update(rows.astype(np.float64))


class SlotVecNormalize(VecNormalize):
    """``VecNormalize`` for :func:`ps_wrappers.make_vec_env`: standardises the features only.

    Use it wherever you would use ``VecNormalize``; the arguments are the same, except that
    ``norm_obs_keys`` does not apply (slot observations are flat Boxes). With ``norm_obs=True`` the
    feature segment of every row is ``clip((x - mean) / sqrt(var + epsilon), -clip_obs, clip_obs)``
    with statistics from acting rows; the agent one-hot, acting flag and action mask are passed
    through unchanged, so agent-conditioned policies and action masking keep working. Save and load
    it as SB3 documents for ``VecNormalize`` (``venv.save(path)``; ``SlotVecNormalize.load(path,
    venv)``), and give it to :class:`ps_wrappers.SharedPolicy` / :func:`ps_wrappers.evaluate` as
    ``normalizer=`` when you act outside the vec env.

    Raises:
        TypeError: if ``venv``'s observation space is not the ``SlotBox`` of a ps vec env.

    Example:
        >>> venv = SlotVecNormalize(make_vec_env(simple_spread_v3.parallel_env, n_envs=4))  # doctest: +SKIP
        >>> model = PPO(FullSharingPolicy, venv).learn(100_000)                             # doctest: +SKIP
    """

    def __init__(
        self,
        venv: VecEnv,
        training: bool = True,
        norm_obs: bool = True,
        norm_reward: bool = True,
        clip_obs: float = 10.0,
        clip_reward: float = 10.0,
        gamma: float = 0.99,
        epsilon: float = 1e-8,
    ) -> None:
        if getattr(get_layout(venv.observation_space, "SlotVecNormalize"), "is_image", False):
            raise TypeError(
                "SlotVecNormalize: this vec env emits image slots (a SlotDict); images are not standardised "
                "here: SB3's policies scale uint8 images by 1/255 themselves. Use the vec env without "
                "SlotVecNormalize, or VecNormalize(venv, norm_obs=False) to normalise rewards only."
            )
        layout = get_flat_layout(venv.observation_space, owner="SlotVecNormalize")
        super().__init__(
            venv,
            training=training,
            norm_obs=norm_obs,
            norm_reward=norm_reward,
            clip_obs=clip_obs,
            clip_reward=clip_reward,
            gamma=gamma,
            epsilon=epsilon,
        )
        if norm_obs:
            self.obs_rms = SlotRunningMeanStd(layout)  # type: ignore[assignment]  # SB3 types it as a dict too

    @property
    def layout(self) -> SlotLayout:
        """The slot layout of the wrapped vec env's observations."""
        return get_flat_layout(self.observation_space, owner="SlotVecNormalize")

    def _normalize_obs(self, obs: np.ndarray, obs_rms: RunningMeanStd) -> np.ndarray:
        out = np.array(obs, dtype=np.float32, copy=True)
        d = self.layout.feature_dim
        scaled = (out[..., :d] - obs_rms.mean) / np.sqrt(obs_rms.var + self.epsilon)
        out[..., :d] = np.clip(scaled, -self.clip_obs, self.clip_obs)
        return out

    def _unnormalize_obs(self, obs: np.ndarray, obs_rms: RunningMeanStd) -> np.ndarray:
        out = np.array(obs, dtype=np.float32, copy=True)
        d = self.layout.feature_dim
        out[..., :d] = out[..., :d] * np.sqrt(obs_rms.var + self.epsilon) + obs_rms.mean
        return out
