#!/usr/bin/env bash
# Set everything up and run every test (what CI runs), then tests/tempest again on PostgreSQL.
# Each pass ends with a table of the suites: what ran, what was skipped and why; under CI=true
# a skip for a missing dependency fails the run (tests/support/ci_guard.py, loaded by
# pyproject.toml's addopts).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
status=0
.venv/bin/python -m pytest -q -ra "$@" || status=$?
# The whole suite also runs Tempest's tests on the other store: PostgreSQL, started by the tests
# in a temporary folder (docs/scaling.md#tempest-on-postgresql). Not when given what to run.
if [ "$#" -eq 0 ]; then
  METERS_TEST_STORE=postgresql .venv/bin/python -m pytest -q -ra tests/tempest || status=$?
fi
exit "$status"
