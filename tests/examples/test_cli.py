"""ps-train: train, save, reload and evaluate round trips on tiny budgets; argument errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from examples import cli
from examples.training import TrainConfig, load_normalizer, load_run
from ps_wrappers import SlotVecNormalize
from ps_wrappers.testing import sample_slot_observations

TINY_ENV = ["--env", "bps", "--env-kwargs", '{"group_sizes": [1, 1], "max_cycles": 10}']
TINY = ["--steps", "256", "--n-envs", "2", "--eval-episodes", "3", "--no-progress"]


def _train(out: Path, *extra: str) -> dict:
    return cli.main(["train", *TINY_ENV, *TINY, "--out", str(out), *extra])


@pytest.mark.parametrize(
    ("method", "algo", "algo_kwargs"),
    [("SNP-PS", "ppo", '{"n_steps": 64, "batch_size": 64, "n_epochs": 2}'),
     ("FuPS+id", "dqn", '{"learning_starts": 64, "buffer_size": 1000, "train_freq": 4}')],
)
def test_train_save_reload_evaluate_round_trip(tmp_path: Path, method: str, algo: str, algo_kwargs: str) -> None:
    trained = _train(tmp_path, "--method", method, "--algo", algo, "--algo-kwargs", algo_kwargs, "--seed", "3")
    for name in ("model.zip", "run.json", "learning_curve.png"):
        assert (tmp_path / name).is_file(), name
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["config"]["method"] == method and meta["config"]["seed"] == 3
    assert meta["config"]["env_kwargs"] == {"group_sizes": [1, 1], "max_cycles": 10}
    # Same greedy episodes (seed 10_000) from the reloaded model: the loaded policy acts identically.
    reloaded = cli.main(["evaluate", "--model", str(tmp_path), "--episodes", "3", "--seed", "10000"])
    assert reloaded["team_return"] == pytest.approx(trained["team_return"])
    assert reloaded["agent_returns"] == pytest.approx(trained["agent_returns"])
    assert set(reloaded["agent_returns"]) == {"group0_0", "group1_0"}


def test_reloaded_model_predicts_like_the_trained_one(tmp_path: Path) -> None:
    _train(tmp_path, "--method", "SePS", "--algo-kwargs", '{"n_steps": 64, "batch_size": 64}',
           "--cluster-kwargs", '{"n_samples": 200, "n_updates": 10, "n_clusters": 2}', "--no-tensorboard")
    model, config = load_run(tmp_path)
    assert isinstance(config, TrainConfig) and config.method == "SePS"
    assert json.loads((tmp_path / "run.json").read_text())["clusters"] == [0, 1]
    assert (tmp_path / "clusters.png").is_file() and not (tmp_path / "tb").exists()
    obs = sample_slot_observations(model.observation_space, 8, np.random.default_rng(0))
    again, _ = load_run(tmp_path)
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], again.predict(obs, deterministic=True)[0])


def test_tensorboard_has_per_agent_and_team_returns(tmp_path: Path) -> None:
    _train(tmp_path, "--method", "AdaPS", "--algo-kwargs", '{"n_steps": 64, "batch_size": 64, "n_epochs": 1}',
           "--cluster-kwargs", '{"n_samples": 200, "n_updates": 10, "n_clusters": 2}', "--eval-episodes", "0")
    (run_dir,) = (tmp_path / "tb").iterdir()
    events = EventAccumulator(str(run_dir))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"returns/agent/group0_0", "returns/agent/group1_0", "returns/team", "returns/per_agent"} <= tags
    team = [e.value for e in events.Scalars("returns/team")]
    assert team and all(np.isfinite(team))
    assert (tmp_path / "mask_overlap.png").is_file()


def test_methods_lists_every_method(capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["methods"])
    out = capsys.readouterr().out
    for name in ("NoPS", "FuPS", "FuPS+id", "SePS", "SNP-PS", "AdaPS", "Sparse+id"):
        assert name in out


def test_bad_json_kwargs_is_a_clear_error() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not valid JSON"):
        cli.parse_json_object("{n_steps: 1}")
    with pytest.raises(argparse.ArgumentTypeError, match="must be a JSON object"):
        cli.parse_json_object("[1, 2]")


def test_unknown_method_and_env_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="method='magic' is not a sharing method; use one of NoPS"):
        _train(tmp_path, "--method", "magic")
    with pytest.raises(ValueError, match="env='no_such_env': cannot import module"):
        cli.main(["train", "--env", "no_such_env", *TINY, "--out", str(tmp_path)])


def test_evaluate_without_a_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="has no run.json; pass the output directory"):
        cli.main(["evaluate", "--model", str(tmp_path)])


def test_console_script_exits_zero_and_lists_methods(capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from examples import cli

    argv, sys.argv = sys.argv, ["ps-train", "methods"]
    try:
        assert cli.console() == 0
    finally:
        sys.argv = argv
    out = capsys.readouterr().out
    assert "SNP-PS" in out and "90%-sparse" in out and "{}" not in out


def test_normalized_run_saves_its_statistics_and_evaluates_with_them(tmp_path: Path) -> None:
    trained = _train(tmp_path, "--method", "FuPS+id", "--algo-kwargs", '{"n_steps": 64, "batch_size": 64}',
                     "--normalize", "--seed", "1")
    assert (tmp_path / "vecnormalize.pkl").is_file()
    model, config = load_run(tmp_path)
    assert config.normalize
    normalizer = load_normalizer(tmp_path, config)
    assert isinstance(normalizer, SlotVecNormalize) and not normalizer.training
    assert normalizer.obs_rms.count > 256 and normalizer.obs_rms.mean.shape == (normalizer.layout.feature_dim,)
    reloaded = cli.main(["evaluate", "--model", str(tmp_path), "--episodes", "3", "--seed", "10000"])
    assert reloaded["team_return"] == pytest.approx(trained["team_return"])
    (tmp_path / "vecnormalize.pkl").unlink()
    with pytest.raises(FileNotFoundError, match="vecnormalize.pkl"):
        load_normalizer(tmp_path, config)
