"""Run directories from elsewhere: evaluating one never unpickles and never imports a module it names."""

from __future__ import annotations

import json
import pickle
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from stable_baselines3.common.base_class import BaseAlgorithm

from ps_toolkit import cli

TINY = ["--env", "bps", "--env-kwargs", '{"group_sizes": [1, 1], "max_cycles": 10}', "--steps", "64", "--n-envs", "2",
        "--eval-episodes", "0", "--no-progress", "--no-tensorboard", "--algo-kwargs", '{"n_steps": 16, "batch_size": 32}']

HOSTILE_MODULE = '''
from pathlib import Path
Path({marker!r}).touch()           # a side effect of importing the module
from integrations.bps import parallel_env
'''


class _Payload:
    """A pickle that creates a file when loaded: what a hostile pickle would do with real code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "normalized"
    cli.main(["train", *TINY, "--method", "SNP-PS", "--normalize", "--out", str(out)])
    return out


def _copy(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / "downloaded"))


def _set_env(run: Path, env: str) -> None:
    meta = json.loads((run / "run.json").read_text())
    meta["config"]["env"] = env
    (run / "run.json").write_text(json.dumps(meta))


def test_a_module_named_only_by_run_json_is_never_imported(
    trained_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "hostile_env_module.py").write_text(HOSTILE_MODULE.format(marker=str(marker)))
    monkeypatch.syspath_prepend(str(tmp_path))
    run = _copy(trained_run, tmp_path)
    _set_env(run, "hostile_env_module")
    assert cli.console(["evaluate", "--model", str(run), "--episodes", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "ps-train: error: the run was trained on the module 'hostile_env_module', which is not a bundled integration; "
        "ps-train imports only modules you name, so if you trust it pass --env hostile_env_module"
    )
    assert not marker.exists() and "hostile_env_module" not in sys.modules
    # Named by the user, the module is imported (and here builds the env the run was trained on).
    result = cli.main(["evaluate", "--model", str(run), "--env", "hostile_env_module", "--episodes", "1"])
    assert marker.exists() and set(result["agent_returns"]) == {"group0_0", "group1_0"}
    monkeypatch.delitem(sys.modules, "hostile_env_module")


def test_evaluate_never_unpickles(trained_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "unpickled"
    expected = cli.main(["evaluate", "--model", str(trained_run), "--episodes", "2"])
    run = _copy(trained_run, tmp_path)
    (run / "model.zip").write_bytes(pickle.dumps(_Payload(marker)))  # both files are hostile pickles now
    (run / "vecnormalize.pkl").write_bytes(pickle.dumps(_Payload(marker)))

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("evaluate unpickled a file")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(BaseAlgorithm, "load", refuse)
    result = cli.main(["evaluate", "--model", str(run), "--episodes", "2"])
    assert result == expected and not marker.exists()


def test_runs_with_only_pickled_files_are_refused_with_the_way_out(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(trained_run, tmp_path)
    (run / "normalizer.npz").rename(run / "vecnormalize.pkl")
    assert cli.console(["evaluate", "--model", str(run)]) == 2
    assert "has no normalizer.npz (its vecnormalize.pkl is a pickle and is never opened)" in capsys.readouterr().err
    shutil.rmtree(run / "policy")
    assert cli.console(["evaluate", "--model", str(run)]) == 2
    err = capsys.readouterr().err
    assert "has no policy/ (the data-only policy)" in err and "policies.export_policy(" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda m: m["config"].update(steps=-1), "steps must be >= 1, got -1"),
        (lambda m: m["config"].update(extra=1), r"not a run written by ps-train \(config has unknown \['extra'\]\)"),
        (lambda m: m.update(config=[1]), r"not a run written by ps-train \(config missing\)"),
        (lambda m: m["config"].update(env=["x"]), "env must be an integration name or a module path"),
    ],
)
def test_malformed_run_json_is_a_one_line_error(
    edit: Any, match: str, trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    run = _copy(trained_run, tmp_path)
    meta = json.loads((run / "run.json").read_text())
    edit(meta)
    (run / "run.json").write_text(json.dumps(meta))
    assert cli.console(["evaluate", "--model", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(match, err), err
