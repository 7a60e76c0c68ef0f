#!/usr/bin/env bash
# The README's test command: set up if needed, lint, type-check, run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check ps_wrappers policies integrations ps_toolkit examples benchmarks tests
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
