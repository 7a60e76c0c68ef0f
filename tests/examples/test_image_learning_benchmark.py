"""benchmarks.image_learning on a tiny budget: curve, training log, checkpoint, shuffled check."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.image_learning import Args, main


def test_kaz_vector_run_writes_results_checkpoint_and_shuffled_check(tmp_path: Path) -> None:
    args = Args(
        task="kaz-vector", method="seps", steps=512, eval_every=256, eval_episodes=1, final_episodes=2,
        n_envs=2, n_steps=64, batch_size=64, n_epochs=1, threads=1, out=tmp_path,
    )
    result = main(args)
    assert result["agent_steps"] >= 512 and [p[0] for p in result["curve"]][:3] == [8, 256, 512]
    saved = json.loads((tmp_path / "kaz-vector_seps.json").read_text())
    assert set(saved["shuffled_check"]) == {"real", "shuffled"}
    for view in ("real", "shuffled"):
        assert {k: len(v) for k, v in saved["shuffled_check"][view].items()} == {"greedy": 2, "sampling": 2}
    assert (tmp_path / "kaz-vector_seps_model.zip").exists() and (tmp_path / "kaz-vector.png").exists()
    lines = (tmp_path / "kaz-vector_seps_training.txt").read_text().split("\n")
    assert [int(line.split()[0]) for line in lines if line] == [t for t, _ in saved["training"]]
