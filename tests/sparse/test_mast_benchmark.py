"""benchmarks/mast_sparsity.py bookkeeping: merging result files and pairing RigL with static."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from benchmarks.mast_sparsity import Args, merge, paired_differences, paired_interval


def _write(path: Path, seeds: list[int], **settings: object) -> str:
    args = asdict(Args(seeds=seeds, **settings))  # type: ignore[arg-type]
    results = [
        {"name": name, "seed": s, "final_return": value + s}
        for s in seeds
        for name, value in (("static-0.9/mast", -10.0), ("rigl-0.9/mast", -9.5))
    ]
    path.write_text(json.dumps({"args": args, "random": -20.0, "results": results}))
    return str(path)


def test_merge_joins_seeds_of_one_setting_and_pairs_rigl_with_static(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.json", [0, 1], hidden=256)
    b = _write(tmp_path / "b.json", [2], hidden=256, procs=1)
    args, random, results = merge([a, b])
    assert args.seeds == [0, 1, 2] and args.hidden == 256 and random == -20.0
    by_name: dict = {}
    for r in results:
        by_name.setdefault(r["name"], []).append(r)
    rows = paired_differences(by_name)
    assert rows[-1] == "| rigl-0.9/mast vs static-0.9/mast | +0.50 | [+0.50, +0.50] | +0.50, +0.50, +0.50 | 3 of 3 |"


def test_paired_interval_is_the_student_t_interval() -> None:
    # mean 2, sample sd 1, n 3: half-width t(0.975, 2) / sqrt(3) = 4.3027 / 1.7321 = 2.4841
    low, high = paired_interval(np.array([1.0, 2.0, 3.0]))
    assert low == pytest.approx(2.0 - 2.4841, abs=1e-4) and high == pytest.approx(2.0 + 2.4841, abs=1e-4)
    assert np.isnan(paired_interval(np.array([0.3]))[0])


def test_merge_refuses_files_of_different_settings(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.json", [0], hidden=256)
    b = _write(tmp_path / "b.json", [1], hidden=512, zeta=0.3)
    with pytest.raises(ValueError, match=r"b.json differs from .*a.json in \['hidden', 'zeta'\]"):
        merge([a, b])
