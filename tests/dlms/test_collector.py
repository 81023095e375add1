"""Tempest collects over DLMS like a head-end: `tempest dlms-collect` reads yesterday's load
profile by range from a real `meter dlms-serve` process, records the clock skew and drops the
day file, which ingest stores; it carries the meter's own day file's readings, quality and
registers exactly."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest
from click.testing import CliRunner

from core import dayfile_reader
from meter.cli import main as meter_cli
from tempest.cli import main as tempest_cli
from tests.dlms.meters import AT, CONFIG, PASSWORD, start_server
from tests.support.processes import stop_process


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dlms-collect")
    proc, host, port = start_server(tmp, CONFIG)
    (tmp / "dl-1.password").write_text(PASSWORD + "\n")
    (tmp / "dlms-meters.json").write_text(json.dumps([{
        "serial": "dl-1", "host": host, "port": port, "password_file": "dl-1.password",
        "timezone": "Europe/Berlin"}]))
    yield tmp
    stop_process(proc)


def collect(tmp, *args):
    got = CliRunner().invoke(tempest_cli, [
        "dlms-collect", "--data-dir", str(tmp / "tempest"), "--meters",
        str(tmp / "dlms-meters.json"), "--at", AT.isoformat(), "--redial-days", "0", *args])
    return got.exit_code, [json.loads(line) for line in got.output.splitlines()]


def test_yesterday_collected_equals_the_meters_own_day_file(served):
    tmp = served
    code, out = collect(tmp)  # yesterday, at AT in the meter's zone: 2024-06-15
    assert code == 0, out
    [got] = out
    assert (got["serial"], got["day"], got["route"]) == ("dl-1", "2024-06-15", "dlms")
    # Tempest's time minus the meter's: the meter's clock runs 5 minutes ahead on that day
    # (and on since the server started a few seconds ago).
    assert -300 - 30 < got["clock_skew_s"] <= -300
    dropped = tmp / "tempest" / "drop" / got["file"]
    collected = json.loads(dropped.read_bytes())
    dayfile_reader.parse(dropped.read_bytes())  # a valid day file, as ingest will check
    # The meter's own sealed file for that day, from its folder.
    sealed = CliRunner().invoke(meter_cli, [
        "backfill", "--config", str(tmp / "dl-1.json"), "--data-dir", str(tmp / "dl-1"),
        "--from", "2024-06-15", "--to", "2024-06-15", "--at", AT.isoformat(), "-q"])
    assert sealed.exit_code == 0, sealed.output
    own = json.loads((tmp / "dl-1" / "outbox" / "dl-1_2024-06-15.json").read_text())
    for key in ("serial", "reading_day", "interval", "timezone", "status", "channels",
                "snapshots", "closing_snapshots", "datastreams", "quality"):
        assert collected[key] == own[key], key
    assert set(collected["quality"]["Total"].values()) == {"missing", "estimated"}
    assert got["intervals"] == len(own["datastreams"]["Total"])

    # Every route ends in the drop folder: ingest stores it; collecting again stores nothing
    # twice.
    env = {"TEMPEST_SETTLE_SECONDS": "0"}  # the file is whole already (written atomically)
    added = CliRunner().invoke(tempest_cli, ["meters", "add", "dl-1", "--data-dir",
                                             str(tmp / "tempest"), "-q"])
    assert added.exit_code == 0, added.output
    ingest = CliRunner(env=env).invoke(tempest_cli, ["ingest", "--data-dir",
                                                     str(tmp / "tempest"), "-q"])
    assert ingest.exit_code == 0, ingest.output
    first = json.loads(ingest.output.splitlines()[-1])
    assert first["files"] == 1 and first.get("stored") == 1, first
    assert collect(tmp)[0] == 0
    again = CliRunner(env=env).invoke(tempest_cli, ["ingest", "--data-dir",
                                                    str(tmp / "tempest"), "-q"])
    assert again.exit_code == 0, again.output
    with sqlite3.connect(tmp / "tempest" / "tempest.sqlite3") as conn:
        days = conn.execute("SELECT serial, reading_day FROM days").fetchall()
        files = conn.execute("SELECT source FROM files").fetchall()
    assert days == [("dl-1", "2024-06-15")]
    assert files == [("dlms",)]  # the route shows with the file (API and UI)
    assert not list((tmp / "tempest" / "drop").glob("*.json"))


def test_an_outage_day_drops_nothing_and_a_dead_meter_is_reported(served, tmp_path):
    tmp = served
    code, [got] = collect(tmp, "--day", "2024-06-10")  # an outage day of this meter
    assert code == 0
    assert got["file"] is None and got["intervals"] == 0
    assert not (tmp / "tempest" / "drop" / "dl-1_2024-06-10.json").exists()
    # A meter that does not answer: reported, exit 1, nothing dropped.
    (tmp_path / "p").write_text(PASSWORD)
    (tmp_path / "m.json").write_text(json.dumps([{
        "serial": "gone", "host": "127.0.0.1", "port": 9, "password_file": "p",
        "timezone": "Europe/Berlin"}]))
    got = CliRunner().invoke(tempest_cli, [
        "dlms-collect", "--data-dir", str(tmp_path / "t"), "--meters", str(tmp_path / "m.json"),
        "--at", (AT + timedelta(days=1)).isoformat()])
    assert got.exit_code == 1
    assert json.loads(got.output)["error"]
