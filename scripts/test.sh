#!/usr/bin/env bash
# Set everything up and run every test (what CI runs). It ends with a table of the suites: what
# ran, what was skipped and why; under CI=true a skip for a missing dependency fails the run
# (tests/support/ci_guard.py, loaded by pyproject.toml's addopts).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
exec .venv/bin/python -m pytest -q -ra "$@"
