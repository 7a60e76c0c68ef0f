"""SlotVecNormalize statistics as data: saved and loaded without pickle, refused when they do not fit."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mpe2 import simple_spread_v3, simple_world_comm_v3

import ps_wrappers as pw
from tests.vec_env.conftest import random_masked_actions


def _venv(make: Any = simple_world_comm_v3.parallel_env, seed: int = 0) -> Any:
    return pw.make_vec_env(lambda: make(max_cycles=25), n_envs=1, seed=seed)


def _rolled(**kwargs: Any) -> pw.SlotVecNormalize:
    venv = pw.SlotVecNormalize(_venv(), **kwargs)
    rng = np.random.default_rng(0)
    venv.reset()
    for _ in range(20):
        venv.step(random_masked_actions(venv, rng))
    return venv


class _Payload:
    """A pickle that creates a file when it is loaded (as a hostile file would run code)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


def test_statistics_round_trip_as_data_without_unpickling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv = _rolled(clip_obs=4.0, gamma=0.9, norm_reward=True)
    path = venv.save_statistics(tmp_path / "stats")
    assert path == tmp_path / "stats.npz"

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("unpickled")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    loaded = pw.SlotVecNormalize.load_statistics(path, _venv(seed=3))
    assert isinstance(loaded, pw.SlotVecNormalize) and loaded.layout == venv.layout
    assert (loaded.clip_obs, loaded.gamma, loaded.norm_reward, loaded.training) == (4.0, 0.9, True, True)
    for name in ("mean", "var", "count"):
        np.testing.assert_array_equal(getattr(loaded.obs_rms, name), getattr(venv.obs_rms, name))
        np.testing.assert_array_equal(getattr(loaded.ret_rms, name), getattr(venv.ret_rms, name))
    batch = venv.get_original_obs()
    np.testing.assert_array_equal(loaded.normalize_obs(batch), venv.normalize_obs(batch))
    np.testing.assert_array_equal(loaded.normalize_reward(np.ones(3)), venv.normalize_reward(np.ones(3)))


def test_without_observation_normalisation_only_return_statistics_are_kept(tmp_path: Path) -> None:
    venv = _rolled(norm_obs=False)
    loaded = pw.SlotVecNormalize.load_statistics(venv.save_statistics(tmp_path / "s.npz"), _venv())
    assert not loaded.norm_obs and loaded.ret_rms.count == venv.ret_rms.count


def test_a_pickle_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    hostile = tmp_path / "vecnormalize.pkl"
    hostile.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ValueError, match="is not a statistics file written by save_statistics .*never opened"):
        pw.SlotVecNormalize.load_statistics(hostile, _venv())
    assert not marker.exists()
    _rolled().save(str(tmp_path / "sb3.pkl"))  # SB3's own (pickle) format is refused the same way
    with pytest.raises(ValueError, match="is not a statistics file"):
        pw.SlotVecNormalize.load_statistics(tmp_path / "sb3.pkl", _venv())


def test_statistics_of_another_layout_are_refused(tmp_path: Path) -> None:
    path = _rolled().save_statistics(tmp_path / "s.npz")
    with pytest.raises(ValueError, match="holds statistics of a vec env with layout .* but venv has layout"):
        pw.SlotVecNormalize.load_statistics(path, _venv(simple_spread_v3.parallel_env))
    with pytest.raises(FileNotFoundError, match="load_statistics: no file"):
        pw.SlotVecNormalize.load_statistics(tmp_path / "missing.npz", _venv())
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(ValueError, match="no JSON header"):
        pw.SlotVecNormalize.load_statistics(tmp_path / "other.npz", _venv())
