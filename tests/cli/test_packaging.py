"""The app is the ps_toolkit package; examples/ is not installed but its main job still runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_examples_is_not_an_installed_top_level_package(tmp_path: Path) -> None:
    code = "import importlib.util as u; s = u.find_spec('examples'); print(s.origin if s else None)"
    found = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert found.returncode == 0, found.stderr
    assert str(ROOT) not in found.stdout  # another distribution's `examples` may exist; ours is not installed
    code = "import ps_toolkit.cli as c; print(c.__file__)"
    found = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert found.returncode == 0 and found.stdout.strip() == str(ROOT / "ps_toolkit" / "cli.py"), found.stderr


def test_the_main_job_runs_as_a_module_from_the_repository_root() -> None:
    done = subprocess.run([sys.executable, "-m", "examples.main_job", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--steps" in done.stdout and "--seeds" in done.stdout
