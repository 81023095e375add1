#!/usr/bin/env bash
# Set everything up and run every test (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
exec .venv/bin/python -m pytest -q -ra "$@"
