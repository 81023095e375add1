"""The suites that read the wall clock, run again at 32 fixed instants.

Most tests inject time (`--at`, fixed reading days); the ones listed in DATE_SENSITIVE let the
meter, Tempest or the test itself read "now" (heartbeats and their ages, a meter running on
its own clock from now, late days released at now, Tempest's "today"). Each is run in a child
pytest whose whole process tree sees a fixed, injected now: Debian's libfaketime, preloaded,
moves every clock call (time.time(), datetime.now(), `date`, SQLite) to the instant and lets
it run on from there. The instants are chosen where dates break code: both DST changes in
Europe/Berlin and Pacific/Auckland (a minute before, in the changed hour, after the 23- and
25-hour days end), local and UTC midnights, month and year ends, and 29 February.

The kernel's own file time stamps are not moved (they stay on the real clock), so this also
proves nothing compares a file's time stamp with "now" in a way a skewed clock would break.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from tests.support import ci_guard

ROOT = Path(__file__).resolve().parents[1]
# Debian's faketime, under the machine's multiarch folder (x86_64-linux-gnu, aarch64-linux-gnu).
LIBFAKETIME = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))),
                   Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"))

# Instants in UTC, each with why it is here.
INSTANTS = {
    "2024-02-29 12:00:00": "29 February",
    "2024-02-29 23:30:00": "29 February, already 1 March in Berlin and Auckland",
    "2024-12-31 23:00:00": "New Year's midnight in Berlin",
    "2025-01-31 23:59:00": "a month's last minute (UTC)",
    "2025-03-30 00:58:00": "Berlin, two minutes before clocks spring forward",
    "2025-03-30 01:05:00": "Berlin, just after spring forward (02:00 never happened)",
    "2025-03-30 22:30:00": "Berlin's 23-hour day has just ended",
    "2025-04-05 13:58:00": "Auckland, two minutes before clocks fall back",
    "2025-04-05 14:30:00": "Auckland, inside the repeated hour",
    "2025-04-06 12:30:00": "Auckland's 25-hour day has just ended",
    "2025-06-30 23:59:30": "half-year end",
    "2025-09-27 13:58:00": "Auckland, two minutes before clocks spring forward",
    "2025-09-27 14:30:00": "Auckland, just after spring forward",
    "2025-09-28 11:30:00": "Auckland's 23-hour day has just ended",
    "2025-10-26 00:58:00": "Berlin, two minutes before clocks fall back",
    "2025-10-26 01:30:00": "Berlin, inside the repeated hour",
    "2025-10-26 23:30:00": "Berlin's 25-hour day has just ended",
    "2025-11-30 23:30:00": "month end, already December in Berlin",
    "2025-12-31 11:30:00": "New Year in Auckland, still the old year in UTC",
    "2026-01-01 00:01:00": "New Year in UTC",
    "2026-02-28 23:59:00": "the last minute of a February with no 29th",
    "2026-03-29 00:58:00": "Berlin, spring forward 2026",
    "2026-04-04 14:30:00": "Auckland, fall back 2026",
    "2026-04-30 22:30:00": "1 May in Berlin, still April in UTC",
    "2026-07-15 12:00:00": "an ordinary summer day in the north",
    "2026-09-26 14:30:00": "Auckland, spring forward 2026",
    "2026-10-25 01:30:00": "Berlin, fall back 2026",
    "2026-12-01 23:30:00": "the day the local fleet test failed",
    "2026-12-31 23:59:00": "a year's last minute",
    "2027-01-01 00:00:30": "a year's first minute",
    "2028-02-29 11:30:00": "29 February in UTC, 1 March in Auckland",
    "2030-06-15 06:00:00": "a few years on",
}

# The tests that read the wall clock (see the module docstring), by node id: the rest of
# their modules inject time and would only add minutes to each of the 32 runs.
API = "tests/tempest/test_tempest_api.py::"
SEED = "tests/tempest/test_tempest_seed.py::"
DATE_SENSITIVE = [
    "tests/meter/test_runloop.py",
    *(API + t for t in ("test_upload_is_queued_in_the_drop_folder_not_stored",
                        "test_heartbeat_updates_the_registry",
                        "test_meter_status_follows_thresholds",
                        "test_days_with_completeness_dst_aware",
                        "test_ingest_log_and_summary",
                        "test_quarantine_reingest_and_discard",
                        "test_admin_manages_meters_idempotently")),
    *(SEED + t for t in ("test_heartbeats_and_meters", "test_payloads", "test_meter_query")),
    *("tests/sinks/test_queue.py::" + t for t in (
        "test_stored_days_are_queued_for_each_sink_in_the_ingest_transaction",
        "test_dead_items_are_retried_in_their_place_and_replay_requeues",
        "test_backoff_is_capped_exponential_with_jitter")),
    "tests/delivery/test_heartbeat.py::test_heartbeat_fields_reach_the_registry",
    "tests/delivery/test_heartbeat.py::test_seed_era_tempest_gets_the_seed_heartbeat",
    "tests/ui/test_ui_static.py::test_pages_never_show_keys",
    "tests/ui/test_ui_static.py::test_ui_admin_forms_need_a_session_and_its_csrf_token",
    "tests/ui/test_ui_static.py::test_sinks_page_shows_queues_and_dead_items_and_retries_them",
]

pytestmark = ci_guard.skip_unless(
    LIBFAKETIME.exists(), str(LIBFAKETIME),
    "libfaketime: scripts/setup.sh --test installs Debian's faketime")


def faked_env(instant: str) -> dict[str, str]:
    env = {**os.environ, "LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": "@" + instant,
           # Child processes must not cache the offset past a fork or re-exec of a server.
           "FAKETIME_NO_CACHE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    return env


def utc_seconds(instant: str) -> float:
    return datetime.fromisoformat(instant + "+00:00").timestamp()


def test_there_are_enough_instants_and_they_cover_the_hard_days():
    assert len(INSTANTS) >= 30
    days = {i[:10] for i in INSTANTS}
    # Both DST changes in both zones, 29 February, a month end and a year end.
    for day in ("2025-03-30", "2025-10-26", "2025-04-05", "2025-09-27", "2024-02-29",
                "2025-01-31", "2026-12-31"):
        assert day in days


def test_the_injected_now_reaches_child_processes():
    """Without this the matrix below could pass by running at today's date."""
    for instant in ("2024-02-29 23:30:00", "2030-06-15 06:00:00"):
        out = subprocess.run(
            [sys.executable, "-c", "import subprocess, time; print(time.time()); "
             "print(subprocess.run(['date', '-u', '+%F'], capture_output=True, text=True).stdout)"],
            env=faked_env(instant), capture_output=True, text=True, check=True, timeout=60)
        seen, shell_day = out.stdout.split()
        assert abs(float(seen) - utc_seconds(instant)) < 60, (instant, seen)
        assert shell_day == instant[:10]


# Loading these costs each child about 2.5 s of CPU (hypothesis alone 1.4 s), 32 times over, and
# none of the suites above uses them.
UNUSED_PLUGINS_OFF = [arg for name in ("cacheprovider", "schemathesis", "hypothesispytest", "anyio")
                      for arg in ("-p", f"no:{name}")]


def run_at(instant: str) -> tuple[str, int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-o", "addopts=", *UNUSED_PLUGINS_OFF,
         *DATE_SENSITIVE],
        cwd=ROOT, env=faked_env(instant), capture_output=True, text=True, timeout=900)
    return instant, proc.returncode, proc.stdout[-4000:] + proc.stderr[-2000:]


@pytest.mark.slow
def test_date_sensitive_suites_pass_at_every_instant():
    started = time.monotonic()
    # Three at a time on two cores: each child is mostly one process, and a part of its time
    # is spent waiting (the run loop's fast clock, servers starting), which a third fills.
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(run_at, INSTANTS))
    failed = [(i, INSTANTS[i], out) for i, rc, out in results if rc != 0]
    assert not failed, "\n\n".join(f"== at {i} UTC ({why}):\n{out}" for i, why, out in failed)
    print(f"{len(INSTANTS)} instants x {len(DATE_SENSITIVE)} suites in "
          f"{time.monotonic() - started:.0f} s")
