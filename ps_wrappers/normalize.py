"""Observation and reward normalisation for parameter-sharing vec envs.

SB3's ``VecNormalize`` standardises every entry of a Box observation. A slot observation
(:mod:`ps_wrappers.layout`) is ``[features | agent one-hot | acting flag | action mask]``, and
only the features are measurements: standardising the other segments turns the one-hot into
arbitrary numbers and the 0/1 mask into values the policies can no longer read (an entry that is
always 1 becomes 0, i.e. "invalid"). :class:`SlotVecNormalize` is a ``VecNormalize`` that
standardises the features only, from the rows of agents that act, and leaves the other segments
bit for bit as the vec env wrote them. Everything else (reward normalisation, ``training``,
``save`` / ``VecNormalize.load``, off-policy buffers normalising at sample time) is SB3's.

SB3's ``save`` / ``load`` pickle the whole wrapper, and unpickling a file runs whatever code it
names. :meth:`SlotVecNormalize.save_statistics` / :meth:`SlotVecNormalize.load_statistics` store the
same statistics and settings as data only (one ``.npz`` of arrays and a JSON header, read with
``allow_pickle=False``): use them for files that travel between machines or people.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from ps_wrappers.layout import SlotLayout, get_flat_layout, get_layout

__all__ = ["STATISTICS_FORMAT", "SlotVecNormalize", "SlotRunningMeanStd"]

STATISTICS_FORMAT = "ps_wrappers.SlotVecNormalize/1"
"""``format`` entry of the header of a :meth:`SlotVecNormalize.save_statistics` file."""
_SETTINGS = ("training", "norm_obs", "norm_reward", "clip_obs", "clip_reward", "gamma", "epsilon")


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
    it as data with ``venv.save_statistics(path)`` and ``SlotVecNormalize.load_statistics(path, venv)``
    (SB3's pickle-based ``venv.save(path)`` / ``SlotVecNormalize.load(path, venv)`` work too, for
    files you trust), and give it to :class:`ps_wrappers.SharedPolicy` / :func:`ps_wrappers.evaluate` as
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

    def save_statistics(self, path: str | Path) -> Path:
        """Write the running statistics and settings as a data-only ``.npz`` (no pickle).

        The file holds the feature mean, variance and count, the return statistics, the settings
        (``training``, ``norm_obs``, ``norm_reward``, ``clip_obs``, ``clip_reward``, ``gamma``,
        ``epsilon``) and the slot layout they belong to; :meth:`load_statistics` reads it back.

        Returns:
            The path written (``.npz`` is appended by numpy when missing).
        """
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        header = {"format": STATISTICS_FORMAT, "layout": asdict(self.layout)}
        header.update({name: getattr(self, name) for name in _SETTINGS})
        arrays = {"ret_mean": self.ret_rms.mean, "ret_var": self.ret_rms.var, "ret_count": self.ret_rms.count}
        if self.norm_obs:
            rms: RunningMeanStd = self.obs_rms  # type: ignore[assignment]  # SB3 types it as a dict too
            arrays.update(obs_mean=rms.mean, obs_var=rms.var, obs_count=rms.count)
        data: dict[str, Any] = {k: np.asarray(v, np.float64) for k, v in arrays.items()}
        np.savez(path, header=np.array(json.dumps(header)), **data)
        return path

    @classmethod
    def load_statistics(cls, path: str | Path, venv: VecEnv) -> SlotVecNormalize:
        """Wrap ``venv`` with the statistics and settings of a :meth:`save_statistics` file.

        Reads arrays and JSON only (``numpy.load(..., allow_pickle=False)``): a file from elsewhere
        cannot run code. Set ``training = False`` (and ``norm_reward = False``) on the result to
        evaluate with frozen statistics.

        Raises:
            FileNotFoundError: if ``path`` does not exist.
            ValueError: if ``path`` is not a statistics file (a pickle from ``save`` included), or
                its statistics were computed on a vec env with another slot layout than ``venv``'s.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"SlotVecNormalize.load_statistics: no file {str(path)!r}")
        header, arrays = _read_statistics(path)
        settings = {name: header[name] for name in _SETTINGS if name != "training"}
        normalizer = cls(venv, training=bool(header["training"]), **settings)
        saved = header["layout"]
        current = json.loads(json.dumps(asdict(normalizer.layout)))
        if saved != current:
            raise ValueError(
                f"SlotVecNormalize.load_statistics: {str(path)!r} holds statistics of a vec env with "
                f"layout {saved}, but venv has layout {current}; load it on the env it was trained on"
            )
        _restore(normalizer.ret_rms, arrays, "ret", (), path)
        if normalizer.norm_obs:
            _restore(normalizer.obs_rms, arrays, "obs", (normalizer.layout.feature_dim,), path)  # type: ignore[arg-type]
        return normalizer


def _read_statistics(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Header and arrays of a statistics file, without ever unpickling."""
    problem = f"SlotVecNormalize.load_statistics: {str(path)!r} is not a statistics file written by save_statistics"
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (ValueError, OSError) as error:  # a pickle (SB3's save) or another format
        raise ValueError(f"{problem} ({error}); SB3 pickles are never opened here") from None
    try:
        header = json.loads(str(arrays.pop("header")))
    except (KeyError, json.JSONDecodeError):
        raise ValueError(f"{problem} (no JSON header)") from None
    missing = [name for name in ("layout", *_SETTINGS) if name not in header]
    if header.get("format") != STATISTICS_FORMAT or missing:
        raise ValueError(f"{problem} (format {header.get('format')!r}, missing {missing})")
    return header, arrays


def _restore(rms: RunningMeanStd, arrays: dict[str, np.ndarray], prefix: str, shape: tuple, path: Path) -> None:
    """Copy ``<prefix>_mean``, ``_var`` and ``_count`` into ``rms``, checking their shapes."""
    try:
        mean, var, count = (arrays[f"{prefix}_{name}"] for name in ("mean", "var", "count"))
    except KeyError as error:
        raise ValueError(f"SlotVecNormalize.load_statistics: {str(path)!r} has no {error.args[0]} array") from None
    if mean.shape != shape or var.shape != shape or count.shape != ():
        raise ValueError(
            f"SlotVecNormalize.load_statistics: {str(path)!r} has {prefix} statistics of shape {mean.shape}, "
            f"expected {shape}"
        )
    rms.mean, rms.var, rms.count = mean.astype(np.float64), var.astype(np.float64), float(count)
