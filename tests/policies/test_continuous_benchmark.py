"""benchmarks/continuous_control.py: a tiny run end to end, its table, files, and the waterworld hint."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from benchmarks import continuous_control
from benchmarks.continuous_control import Args, main, make_env_fn


def test_a_tiny_run_writes_the_table_json_and_curves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = Args(envs=["multiwalker"], algos=["ppo", "td3"], seeds=[0], multiwalker_steps=600, eval_episodes=1, procs=1, out=str(tmp_path))
    runs = main(args)
    assert {(r["env"], r["algo"]) for r in runs} == {("multiwalker", "ppo"), ("multiwalker", "td3")}
    assert all(r["steps"] >= 600 and r["curve"] and len(r["curve"][0]) == 2 for r in runs)
    saved = json.loads((tmp_path / "continuous_control.json").read_text())
    assert saved["args"]["multiwalker_steps"] == 600 and set(saved["random"]) == {"multiwalker"}
    assert (tmp_path / "continuous_control.png").stat().st_size > 0
    out = capsys.readouterr().out
    assert "| multiwalker | PPO + FuPS | 1 |" in out and "uniform random actions" in out
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no "mean of empty slice" from the curve bins
        merged = main(Args(merge=[str(tmp_path / "continuous_control.json")], out=str(tmp_path / "m")))
    assert len(merged) == 2


def test_missing_waterworld_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import pettingzoo.sisl

    if hasattr(pettingzoo.sisl, "waterworld_v4"):
        monkeypatch.delattr(pettingzoo.sisl, "waterworld_v4")
    monkeypatch.setitem(__import__("sys").modules, "pettingzoo.sisl.waterworld_v4", None)
    with pytest.raises(ImportError, match=r"removed it in 1\.26.*pettingzoo==1\.25\.0.*PYTHONPATH"):
        make_env_fn("waterworld")
    with pytest.raises(ValueError, match=r"unknown env 'pong'"):
        continuous_control.make_env_fn("pong")
