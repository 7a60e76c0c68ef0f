#!/usr/bin/env bash
# Create ./.venv (once) and install the project with everything the main job and tests need.
# torch is installed first and pinned (constraints.txt) so no CUDA build is ever pulled.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
stamp=.venv/.ps-installed
want="$(cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints.txt torch==2.13.0
# setuptools notes every editable install with an informational "Editable installation" warning
# (not a deprecation; nothing to fix on our side): keep the install output clean.
PYTHONWARNINGS="ignore:Editable installation" .venv/bin/python -m pip install -q -c constraints.txt -e ".[dev,rllib]"
echo "$want" > "$stamp"
