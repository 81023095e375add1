"""The DLMS collector under faults (issue 19): a meter whose connection drops mid-read, and
Tempest's collector killed (SIGKILL, by PID) mid-collection. Then collected again and
ingested: every day the meter recorded is stored once, no file twice, no event twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from core import civil
from meter import config, daybuild
from meter.vector.engine import VectorMeter
from tempest import create_app, db
from tempest.cli import main as tempest_cli
from tests.dlms.meters import AT, CONFIG, PASSWORD, ROOT, start_server
from tests.dlms.proxy import Relay
from tests.support.processes import stop_process

WINDOW = [f"2024-06-{d:02d}" for d in range(9, 16)]  # yesterday (06-15) and 6 days before
COLLECT = ["dlms-collect", "--at", AT.isoformat(), "--redial-days", "6"]


@pytest.fixture
def faulty(tmp_path):
    proc, host, port = start_server(tmp_path, CONFIG)
    relay = Relay((host, port))
    (tmp_path / "pw").write_text(PASSWORD)
    data = str(tmp_path / "tempest")
    runner = CliRunner(env={"TEMPEST_SETTLE_SECONDS": "0"})
    assert runner.invoke(tempest_cli, ["meters", "add", "dl-1", "--timezone", "Europe/Berlin",
                                       "-q", "--data-dir", data]).exit_code == 0
    got = runner.invoke(tempest_cli, ["meters", "dlms", "dl-1", "--host", "127.0.0.1", "--port",
                                      str(relay.port), "--password-file", str(tmp_path / "pw"),
                                      "--data-dir", data])
    assert got.exit_code == 0, got.output
    yield tmp_path, relay, runner, data
    relay.close()
    stop_process(proc)


def recorded_days() -> set[str]:
    cfg = config.from_dict(CONFIG)
    vm = VectorMeter(cfg.model)
    return {d for d in WINDOW
            if not daybuild.truth(cfg, civil.parse_day(d), vm)["day_faults"]["outage"]}


def test_a_dropped_connection_and_a_killed_collector_lose_nothing_store_nothing_twice(faulty):
    tmp, relay, runner, data = faulty
    drop = tmp / "tempest" / "drop"
    # 1. The meter's connection drops in the middle of the first day's profile.
    relay.cut_after = 3000
    got = runner.invoke(tempest_cli, [*COLLECT, "--data-dir", data])
    assert got.exit_code == 1, got.output
    [line] = [json.loads(x) for x in got.output.splitlines()]
    assert line["day"] == WINDOW[0] and line["error"] and relay.cuts == 1
    assert not list(drop.glob("*.json"))
    client = create_app({"DATA_DIR": data}).test_client()
    assert client.get("/api/v1/meters/dl-1").get_json()["dlms"]["last_error"]

    # 2. The collector, a real process in its loop, killed once it has dropped a day.
    relay.delay_s = 0.002  # each chunk a little late: the kill lands within a read
    proc = subprocess.Popen([sys.executable, "-m", "tempest", *COLLECT, "--every", "60",
                             "--data-dir", data], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        first = json.loads(proc.stdout.readline())
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        stop_process(proc)
    assert first["day"] == WINDOW[0] and "error" not in first
    dropped = sorted(p.name for p in drop.glob("*.json"))
    assert 1 <= len(dropped) < len(WINDOW)

    # 3. Collected again: only the days not yet dropped are read, then ingest stores each once.
    relay.delay_s = 0.0
    got = runner.invoke(tempest_cli, [*COLLECT, "--data-dir", data])
    assert got.exit_code == 0, got.output
    again = [json.loads(x)["day"] for x in got.output.splitlines()]
    assert WINDOW[0] not in again and WINDOW[-1] in again
    assert runner.invoke(tempest_cli, ["ingest", "-q", "--data-dir", data]).exit_code == 0
    conn = db.connect(tmp / "tempest" / "tempest.sqlite3")
    try:
        days = [r["reading_day"] for r in conn.execute("SELECT reading_day FROM days")]
        files = conn.execute("SELECT reading_day, outcome FROM files").fetchall()
        events = conn.execute("SELECT at, code FROM meter_events").fetchall()
        quarantined = conn.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    finally:
        conn.close()
    assert sorted(days) == sorted(recorded_days())
    assert sorted(r["reading_day"] for r in files) == sorted(days)  # one delivery a day
    assert {r["outcome"] for r in files} == {"stored"}
    assert events and len(events) == len({tuple(e) for e in events})
    assert quarantined == 0
    assert not list(drop.glob("*.json"))  # every dropped file ingested
    assert client.get("/api/v1/meters/dl-1").get_json()["dlms"]["last_error"] is None
