#!/usr/bin/env bash
# The README's main job: set up if needed, then a short training run comparing sharing methods.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/python -m examples.main_job "$@"
