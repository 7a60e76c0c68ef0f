"""``ps-train train --backend rllib``: the same run directory as SB3's, read back by ``ps-train evaluate``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.rllib.conftest import SKIP_REASON

pytest.importorskip("ray.rllib", reason=SKIP_REASON)

from ps_toolkit import cli  # noqa: E402
from ps_toolkit.budget import plan_budget  # noqa: E402
from ps_toolkit.cli import UsageError  # noqa: E402
from ps_toolkit.rllib_backend import rllib_training  # noqa: E402
from ps_toolkit.runs import load_model, load_run  # noqa: E402
from ps_wrappers.testing import sample_slot_observations  # noqa: E402

pytestmark = pytest.mark.usefixtures("ray_cluster")

TINY_ENV = ["--env", "bps", "--env-kwargs", '{"group_sizes": [1, 1], "max_cycles": 10}']
TINY = ["--steps", "512", "--n-envs", "2", "--eval-episodes", "3", "--no-progress", "--seed", "3"]
PPO = ["--algo-kwargs", '{"n_steps": 64, "batch_size": 64, "n_epochs": 2}']


def test_rllib_run_writes_the_sb3_run_files_and_evaluates_from_data(tmp_path: Path) -> None:
    trained = cli.main(["train", *TINY_ENV, *TINY, *PPO, "--method", "SNP-PS", "--backend", "rllib",
                        "--num-env-runners", "1", "--out", str(tmp_path)])
    for name in ("run.json", "learning_curve.png", "mask_overlap.png", "policy/policy.json", "policy/weights.npz"):
        assert (tmp_path / name).is_file(), name
    assert (tmp_path / "rllib_checkpoint").is_dir() and not (tmp_path / "model.zip").exists()
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["config"]["backend"] == "rllib" and meta["config"]["method"] == "SNP-PS"
    # The planned budget ran: 512 steps = 256 env steps x 2 agents, in iterations of 64 x 2 env steps.
    steps = meta["result"]["steps"]
    assert steps == [256, 512] and meta["result"]["trained_steps"] == 512
    # The data-only policy replays the trained module's greedy episodes exactly.
    reloaded = cli.main(["evaluate", "--model", str(tmp_path), "--episodes", "3", "--seed", "10000"])
    assert reloaded["team_return"] == pytest.approx(trained["team_return"])
    assert reloaded["agent_returns"] == pytest.approx(trained["agent_returns"])
    run = load_run(tmp_path)
    assert type(run.policy).__name__ == "PrunedMaskPolicy"
    obs = sample_slot_observations(run.policy.observation_space, 4, np.random.default_rng(0))
    assert run.policy.predict(obs, deterministic=True)[0].shape == (4,)  # one action per slot
    with pytest.raises(FileNotFoundError, match=r"trained with --backend rllib and has no model.zip; restore its RLlib"):
        load_model(tmp_path)


def test_sb3_hyperparameters_map_to_rllibs() -> None:
    budget = plan_budget("ppo", 512, 2, 2, {"n_steps": 64, "batch_size": 32})
    settings = rllib_training({"n_steps": 64, "batch_size": 32, "learning_rate": 1e-3, "gae_lambda": 0.9}, budget)
    assert settings["train_batch_size"] == 128 and settings["minibatch_size"] == 32
    assert settings["lr"] == 1e-3 and settings["lambda_"] == 0.9 and settings["num_epochs"] == 10  # SB3's default
    assert settings["use_kl_loss"] is False and settings["vf_clip_param"] == float("inf")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--algo", "dqn"], r"--backend rllib trains PPO .*got --algo dqn"),
        (["--algo-kwargs", '{"target_kl": 0.1}'], r"with --backend rllib, PPO takes no \['target_kl'\]"),
        (["--normalize"], r"--normalize is not available with --backend rllib"),
        (["--num-env-runners", "3"], r"--n-envs 2 must be a multiple of --num-env-runners 3"),
    ],
)
def test_rllib_backend_user_errors_are_one_line_before_training(tmp_path: Path, extra: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        cli.main(["train", *TINY_ENV, *TINY, "--method", "FuPS", "--backend", "rllib", "--out", str(tmp_path / "r"), *extra])


def test_env_runners_need_the_rllib_backend(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"num_env_runners=1 needs --backend rllib"):
        cli.main(["train", *TINY_ENV, *TINY, "--method", "FuPS", "--num-env-runners", "1", "--out", str(tmp_path / "r")])
