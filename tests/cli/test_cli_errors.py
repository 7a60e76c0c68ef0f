"""ps-train user errors: one line on stderr, exit status 2, and nothing trained or written first."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from stable_baselines3.common.base_class import BaseAlgorithm

from ps_toolkit import cli

TINY_ENV = ["--env", "bps", "--env-kwargs", '{"group_sizes": [1, 1], "max_cycles": 10}']


def _bad_out(tmp_path: Path, kind: str) -> str:
    if kind == "file":
        (tmp_path / "a_file").write_text("")
        return str(tmp_path / "a_file")
    if kind == "under_file":
        (tmp_path / "a_file").write_text("")
        return str(tmp_path / "a_file" / "run")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "run.json").write_text("{}")
    return str(tmp_path / "old")


TRAIN_CASES = [
    (["--seed", "-1"], r"argument --seed: must be in \[0, 4294967295\], got -1"),
    (["--seed", "abc"], "argument --seed: 'abc' is not an integer"),
    (["--threads", "0"], "argument --threads: must be >= 1, got 0"),
    (["--n-envs", "0"], "argument --n-envs: must be >= 1, got 0"),
    (["--steps", "0"], "argument --steps: must be >= 1, got 0"),
    (["--eval-episodes", "-2"], "argument --eval-episodes: must be >= 0"),
    (["--algo", "impala"], "argument --algo: invalid choice: 'impala'"),
    (["--algo", "sac"], r"--algo sac trains only Box actions, but bps has Discrete\(5\)"),
    (["--env-kwargs", "{x"], "argument --env-kwargs: '{x' is not valid JSON"),
    (["--out", "<file>"], "is an existing file; give a directory"),
    (["--out", "<under_file>"], "a_file is a file, not a directory"),
    (["--out", "<old>"], "already holds a run; pass --overwrite or another --out"),
    (["--env", "no_such_module"], "env='no_such_module': cannot import module"),
    (["--env", "ps_toolkit.registry"], r"has neither parallel_env\(\) nor env\(\)"),
    (["--method", "magic"], "method='magic' is not a sharing method; use one of NoPS"),
    (["--algo-kwargs", '{"nsteps": 8}'], r"--algo-kwargs: ppo takes no \['nsteps'\]; it takes batch_size"),
    (["--algo-kwargs", '{"seed": 1}'], r"--algo-kwargs: \['seed'\] are set by ps-train"),
    (["--algo-kwargs", '{"n_steps": 0}'], "n_steps must be a positive integer, got 0"),
    (["--cluster-kwargs", '{"k": 2}'], r"--cluster-kwargs: cluster_agents takes no \['k'\]"),
    (["--method-kwargs", '{"actor_pruning": 2}'], "PrunedMaskPolicy: actor_pruning=.* must be in \\[0, 1\\)"),
    (["--method", "SNP-PS", "--method-kwargs", '{"prunning": 0.5}'],
     r"--method-kwargs: PrunedMaskPolicy \(SNP-PS for ppo\) takes no \['prunning'\]; it takes .*actor_pruning"),
    (["--method", "SePS", "--algo", "dqn", "--method-kwargs", '{"share_trunk": true, "log_std_init": 0}'],
     r"SelectiveSharingQPolicy \(SePS for dqn\) takes no \['log_std_init'\]"),
    (["--steps", "3"], "--steps 3 is fewer than one env step \\(4 slots = 2 copies x 2 agents"),
    (["--env-kwargs", '{"group_sizes": [0]}'], "group_sizes"),
]


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any model starts to learn."""

    def learn(*_: Any, **__: Any) -> None:
        raise AssertionError("training started before the arguments were checked")

    monkeypatch.setattr(BaseAlgorithm, "learn", learn)


def _console(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = cli.console(argv)
    err = capsys.readouterr().err
    return status, err


@pytest.mark.parametrize(("extra", "match"), TRAIN_CASES, ids=[" ".join(e) for e, _ in TRAIN_CASES])
def test_train_user_errors_exit_2_with_one_line_before_training(
    extra: list[str], match: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_training: None
) -> None:
    extra = [_bad_out(tmp_path, a[1:-1]) if a.startswith("<") else a for a in extra]
    out = [] if "--out" in extra else ["--out", str(tmp_path / "run")]
    status, err = _console(["train", *TINY_ENV, "--n-envs", "2", "--steps", "64", "--no-progress", *out, *extra], capsys)
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ps-train: error: "), err
    assert re.search(match, lines[0]), lines[0]
    assert not (tmp_path / "run" / "model.zip").exists()


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["evaluate"], "the following arguments are required: --model"),
        (["evaluate", "--model", "<tmp>/none"], "is not a directory; pass the output directory of 'ps-train train'"),
        (["evaluate", "--model", "<tmp>"], "has no run.json; pass the output directory of 'ps-train train'"),
        (["evaluate", "--model", "<tmp>", "--episodes", "0"], "argument --episodes: must be >= 1, got 0"),
        (["evaluate", "--model", "<tmp>", "--seed", "-5"], "argument --seed: must be in"),
        (["evaluate", "--model", "<tmp>", "--threads", "0"], "argument --threads: must be >= 1"),
        (["nothing"], "argument command: invalid choice: 'nothing'"),
        ([], "the following arguments are required: command"),
    ],
)
def test_evaluate_and_parser_errors_exit_2_with_one_line(
    argv: list[str], match: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = _console([a.replace("<tmp>", str(tmp_path)) for a in argv], capsys)
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and match in err, err


def test_the_installed_console_script_exits_2_without_a_traceback(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("ps-train")
    if not script.exists():
        pytest.skip("ps-train is not installed in this environment")
    done = subprocess.run([str(script), "train", "--threads", "0"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "ps-train: error: argument --threads: must be >= 1, got 0 (see 'ps-train train --help')"
    ]
    help_text = subprocess.run([str(script), "evaluate", "--help"], capture_output=True, text=True, timeout=120).stdout
    assert "model.zip is SB3's format, which unpickles" in " ".join(help_text.split())
