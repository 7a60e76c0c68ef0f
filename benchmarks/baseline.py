"""Import ``ps_wrappers`` as it was at another git revision, beside the current one, in one process.

``load_baseline("3f579f9")`` exports the package at that revision into a temporary directory as
``ps_wrappers_<rev>`` (every ``ps_wrappers`` reference rewritten) and imports it, so a benchmark can
time the old and the new code interleaved, round after round, on the same machine state.
"""

from __future__ import annotations

import importlib
import io
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from types import ModuleType

__all__ = ["load_baseline"]

_ROOT = Path(__file__).resolve().parents[1]


def load_baseline(rev: str, package: str = "ps_wrappers") -> ModuleType:
    """The package ``package`` at git revision ``rev``, imported as ``<package>_<rev>``."""
    name = f"{package}_{re.sub(r'[^0-9A-Za-z]', '_', rev)}"
    if name in sys.modules:
        return sys.modules[name]
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, package], cwd=_ROOT, check=True, capture_output=True
    ).stdout
    target = Path(tempfile.mkdtemp(prefix="ps_baseline_"))
    pattern = re.compile(rf"\b{package}\b")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            path = target / pattern.sub(name, member.name, count=1)
            path.parent.mkdir(parents=True, exist_ok=True)
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.endswith(".py"):
                data = pattern.sub(name, data.decode()).encode()
            path.write_bytes(data)
    sys.path.insert(0, str(target))
    return importlib.import_module(name)
