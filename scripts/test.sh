#!/usr/bin/env bash
# Set everything up and run every test (what CI runs), then tests/tempest again on PostgreSQL.
# Each pass ends with a table of the suites: what ran, what was skipped and why; under CI=true
# a skip for a missing dependency fails the run (tests/support/ci_guard.py, loaded by
# pyproject.toml's addopts).
#
# The whole suite runs as two processes side by side: the tests marked `lab` (the lab fleet
# over SSH and the local fleet, tests/conftest.py) and the rest, then Tempest's tests on
# PostgreSQL. The lab half mostly waits on SSH round trips and cron-paced meters, so the
# halves overlap on two cores (docs/testing.md). The lab half's output is printed when it
# ends. Given arguments, it runs just those, in one process, as pytest would.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
if [ "$#" -gt 0 ]; then
  exec .venv/bin/python -m pytest -q -ra "$@"
fi

lab_log=$(mktemp -t meters-lab-tests.XXXXXX)
.venv/bin/python -m pytest -q -ra -m lab -p no:cacheprovider >"$lab_log" 2>&1 &
lab_pid=$!
# Stop the lab half too if this script is interrupted (by its PID, never by name).
trap 'kill "$lab_pid" 2>/dev/null || true' INT TERM

status=0
.venv/bin/python -m pytest -q -ra -m "not lab" || status=$?
# Tempest's tests on the other store: PostgreSQL, started by the tests in a temporary folder
# (docs/scaling.md#tempest-on-postgresql).
METERS_TEST_STORE=postgresql .venv/bin/python -m pytest -q -ra tests/tempest || status=$?

lab_status=0
wait "$lab_pid" || lab_status=$?
trap - INT TERM
echo
echo "================ the lab half (pytest -m lab), run beside the rest ================"
cat "$lab_log"
rm -f "$lab_log"
[ "$lab_status" -eq 0 ] || status=$lab_status
exit "$status"
