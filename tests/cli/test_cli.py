"""ps-train: train, save, reload and evaluate round trips on tiny budgets; the budget that runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from stable_baselines3.common.callbacks import BaseCallback
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ps_toolkit import cli
from ps_toolkit.runs import load_model, load_normalizer, load_run, read_config
from ps_toolkit.training import TrainConfig, train
from ps_wrappers import SlotVecNormalize
from ps_wrappers.testing import sample_slot_observations

TINY_ENV = ["--env", "bps", "--env-kwargs", '{"group_sizes": [1, 1], "max_cycles": 10}']
TINY = ["--steps", "256", "--n-envs", "2", "--eval-episodes", "3", "--no-progress"]


def _train(out: Path, *extra: str) -> dict:
    return cli.main(["train", *TINY_ENV, *TINY, "--out", str(out), *extra])


@pytest.mark.parametrize(
    ("method", "algo", "algo_kwargs"),
    [("SNP-PS", "ppo", '{"n_steps": 64, "batch_size": 64, "n_epochs": 2}'),
     ("FuPS+id", "dqn", '{"learning_starts": 64, "buffer_size": 1000, "train_freq": 4}'),
     ("Kaleidoscope", "dqn", '{"learning_starts": 64, "buffer_size": 1000, "train_freq": 4}')],
)
def test_train_save_reload_evaluate_round_trip(tmp_path: Path, method: str, algo: str, algo_kwargs: str) -> None:
    trained = _train(tmp_path, "--method", method, "--algo", algo, "--algo-kwargs", algo_kwargs, "--seed", "3")
    for name in ("model.zip", "run.json", "learning_curve.png", "policy/policy.json", "policy/weights.npz"):
        assert (tmp_path / name).is_file(), name
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["format"] == "ps-toolkit.run/1"
    assert meta["config"]["method"] == method and meta["config"]["seed"] == 3
    assert meta["config"]["env_kwargs"] == {"group_sizes": [1, 1], "max_cycles": 10}
    # Same greedy episodes (seed 10_000) from the data-only policy: it acts as the trained model did.
    reloaded = cli.main(["evaluate", "--model", str(tmp_path), "--episodes", "3", "--seed", "10000"])
    assert reloaded["team_return"] == pytest.approx(trained["team_return"])
    assert reloaded["agent_returns"] == pytest.approx(trained["agent_returns"])
    assert set(reloaded["agent_returns"]) == {"group0_0", "group1_0"}


def test_data_only_policy_predicts_like_the_sb3_model(tmp_path: Path) -> None:
    _train(tmp_path, "--method", "SePS", "--algo-kwargs", '{"n_steps": 64, "batch_size": 64}',
           "--cluster-kwargs", '{"n_samples": 200, "n_updates": 10, "n_clusters": 2}', "--no-tensorboard")
    run = load_run(tmp_path)
    assert isinstance(run.config, TrainConfig) and run.config.method == "SePS" and run.normalizer is None
    assert json.loads((tmp_path / "run.json").read_text())["clusters"] == [0, 1]
    assert (tmp_path / "clusters.png").is_file() and not (tmp_path / "tb").exists()
    model = load_model(tmp_path)  # SB3's zip (a trusted file of our own here)
    obs = sample_slot_observations(model.observation_space, 8, np.random.default_rng(0))
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], run.policy.predict(obs, deterministic=True)[0])


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
    assert cli.console(["methods"]) == 0
    out = capsys.readouterr().out
    for name in ("NoPS", "FuPS", "FuPS+id", "SePS", "SNP-PS", "AdaPS", "Sparse+id", "Kaleidoscope"):
        assert name in out
    assert "learned weight mask per agent" in out
    assert "90%-sparse" in out and "{}" not in out


def test_kaleidoscope_run_logs_and_plots_its_masks_over_training(tmp_path: Path) -> None:
    _train(tmp_path, "--method", "Kaleidoscope", "--algo-kwargs", '{"n_steps": 32, "batch_size": 64, "n_epochs": 1}',
           "--method-kwargs", '{"reset_interval": 128}', "--steps", "512", "--eval-episodes", "0")
    for name in ("mask_overlap.png", "mask_history.png"):
        assert (tmp_path / name).stat().st_size > 1000, name
    history = json.loads((tmp_path / "run.json").read_text())["result"]["mask_history"]
    assert [r["timesteps"] for r in history] == [128, 128, 256, 256, 384, 384, 512, 512]  # rollouts of 32 x 4 slots
    assert {r["network"] for r in history} == {"policy_net", "value_net"}
    events = EventAccumulator(str(next((tmp_path / "tb").iterdir())))
    events.Reload()
    assert {"masks/policy_net/overlap", "masks/value_net/density/group0_0", "masks/div_coef"} <= set(events.Tags()["scalars"])
    model = load_model(tmp_path)
    regularizer = model.policy.learned_masks
    # the schedule was set from the budget: 128 timesteps = 1 rollout = 2 optimizer steps; resets
    # at steps 2 and 4, not at 6 (within the last interval of the 8 steps of training)
    assert regularizer.reset_interval == 2 and int(regularizer.horizon) == 8 and int(regularizer.last_reset) == 4


def test_bad_json_kwargs_is_a_clear_error() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not valid JSON"):
        cli.parse_json_object("{n_steps: 1}")
    with pytest.raises(argparse.ArgumentTypeError, match="must be a JSON object"):
        cli.parse_json_object("[1, 2]")


def test_normalized_run_saves_its_statistics_as_data_and_evaluates_with_them(tmp_path: Path) -> None:
    trained = _train(tmp_path, "--method", "FuPS+id", "--algo-kwargs", '{"n_steps": 64, "batch_size": 64}',
                     "--normalize", "--seed", "1")
    assert (tmp_path / "normalizer.npz").is_file() and not list(tmp_path.glob("*.pkl"))
    config = read_config(tmp_path)
    assert config.normalize
    run = load_run(tmp_path)
    assert isinstance(run.normalizer, SlotVecNormalize) and not run.normalizer.training
    assert run.normalizer.obs_rms.count > 256 and run.normalizer.obs_rms.mean.shape == (run.normalizer.layout.feature_dim,)
    reloaded = cli.main(["evaluate", "--model", str(tmp_path), "--episodes", "3", "--seed", "10000"])
    assert reloaded["team_return"] == pytest.approx(trained["team_return"])
    (tmp_path / "normalizer.npz").unlink()
    with pytest.raises(FileNotFoundError, match="trained with normalize=True but has no normalizer.npz"):
        load_normalizer(tmp_path, config, run.env_fn)


class _BarTotal(BaseCallback):
    """Records what SB3's progress bar counts to (``total_timesteps - num_timesteps`` at the start)."""

    def _on_training_start(self) -> None:
        self.bar_total = self.locals["total_timesteps"] - self.model.num_timesteps

    def _on_step(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("algo", "steps", "algo_kwargs", "expected", "says"),
    [
        ("ppo", 100, {}, 100, "1 rollout of n_steps=25 (sized to --steps 100), batch_size=50"),
        ("ppo", 102, {}, 104, "2 steps more than asked, to fill whole env steps"),
        ("a2c", 100, {}, 100, "5 rollouts of n_steps=5"),
        ("ppo", 100, {"n_steps": 16, "batch_size": 32}, 128, "--steps 100 rounded up to 2 whole rollouts of n_steps=16"),
        ("dqn", 101, {"learning_starts": 8}, 112, "whole blocks of train_freq=4 env steps"),
    ],
)
def test_the_requested_budget_is_what_runs_and_what_the_bar_counts(
    algo: str, steps: int, algo_kwargs: dict, expected: int, says: str
) -> None:
    config = TrainConfig(env="bps", env_kwargs={"group_sizes": [1, 1], "max_cycles": 10}, method="FuPS",
                         algorithm=algo, algo_kwargs=algo_kwargs, steps=steps, n_envs=2)
    bar = _BarTotal()
    run = train(config, callback=bar)
    assert run.budget is not None and run.budget.total == expected
    assert run.model.num_timesteps == expected == run.result.trained_steps == bar.bar_total
    assert says in run.budget.describe()


def test_the_cli_says_what_will_run_before_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["train", *TINY_ENV, "--steps", "100", "--n-envs", "2", "--eval-episodes", "0", "--no-progress",
              "--no-tensorboard", "--out", str(tmp_path)])
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("training 100 steps (4 slots = 2 copies x 2 agents): 1 rollout of n_steps=25")
    assert json.loads((tmp_path / "run.json").read_text())["result"]["trained_steps"] == 100


def test_aec_only_env_module_trains_and_evaluates(tmp_path: Path) -> None:
    pytest.importorskip("pettingzoo.classic.connect_four_v3")
    env = ["--env", "pettingzoo.classic.connect_four_v3"]
    trained = cli.main(["train", *env, "--method", "FuPS+id", "--steps", "200", "--n-envs", "2", "--eval-episodes", "2",
                        "--no-progress", "--no-tensorboard", "--out", str(tmp_path)])
    reloaded = cli.main(["evaluate", "--model", str(tmp_path), *env, "--episodes", "2", "--seed", "10000"])
    assert set(reloaded["agent_returns"]) == {"player_0", "player_1"}
    assert reloaded["agent_returns"] == pytest.approx(trained["agent_returns"])


def test_a_run_without_out_replaces_the_default_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["train", *TINY_ENV, "--steps", "8", "--n-envs", "2", "--eval-episodes", "0", "--no-progress", "--no-tensorboard"]
    cli.main(args)
    cli.main([*args, "--seed", "4"])
    assert read_config(tmp_path / cli.DEFAULT_OUT).seed == 4


CONTINUOUS_ENV = ["--env", "mpe2.simple_spread_v3", "--env-kwargs", '{"N": 2, "max_cycles": 10, "continuous_actions": true}']
OFF_POLICY = '{"learning_starts": 32, "buffer_size": 500}'


@pytest.mark.parametrize(
    ("method", "algo", "algo_kwargs", "env"),
    [("SePS", "sac", OFF_POLICY, CONTINUOUS_ENV),
     ("SNP-PS", "td3", OFF_POLICY, CONTINUOUS_ENV),
     ("FuPS+id", "ddpg", OFF_POLICY, CONTINUOUS_ENV),
     ("Kaleidoscope", "sac", OFF_POLICY, CONTINUOUS_ENV),
     ("AdaPS", "trpo", '{"n_steps": 64, "batch_size": 64}', TINY_ENV),
     ("FuPS+id", "recurrent-ppo", '{"n_steps": 32, "batch_size": 64, "n_epochs": 1}', TINY_ENV),
     ("Sparse+id", "qrdqn", '{"learning_starts": 32, "buffer_size": 500}', TINY_ENV)],
)
def test_every_algorithm_family_trains_saves_and_evaluates(
    tmp_path: Path, method: str, algo: str, algo_kwargs: str, env: list[str]
) -> None:
    from ps_toolkit.registry import FAMILIES, policy_class

    trained = cli.main(["train", *env, *TINY, "--out", str(tmp_path), "--method", method, "--algo", algo,
                        "--algo-kwargs", algo_kwargs, "--cluster-kwargs", '{"n_samples": 100, "n_updates": 5}',
                        "--no-tensorboard"])
    model = load_model(tmp_path)
    assert type(model.policy) is policy_class(method, algo)
    assert type(model.policy).__module__.startswith(FAMILIES[algo])
    assert model.num_timesteps >= 256
    reloaded = cli.main(["evaluate", "--model", str(tmp_path), "--env", env[1], "--episodes", "3", "--seed", "10000"])
    assert reloaded["team_return"] == pytest.approx(trained["team_return"])


@pytest.mark.parametrize(("algo", "env", "match"), [
    ("sac", TINY_ENV, r"--algo sac trains only Box actions, but bps has Discrete\(5\).*use --algo ppo / a2c / trpo"),
    ("dqn", CONTINUOUS_ENV, r"--algo dqn trains only Discrete actions, but mpe2.simple_spread_v3 has Box.*use --algo ppo"),
])
def test_an_algorithm_that_cannot_take_the_action_space_is_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], algo: str, env: list[str], match: str
) -> None:
    import re

    status = cli.console(["train", *env, *TINY, "--out", str(tmp_path), "--algo", algo])
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and re.search(match, lines[0]), lines
    assert not (tmp_path / "run.json").exists()
