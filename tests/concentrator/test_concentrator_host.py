"""A bulk meter host acting as a data concentrator, against a real Tempest: its meters' sealed
days and heartbeats go in batches through the concentrator routes (docs/concentrator.md)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from meter.cli import main as meter_main
from tempest.cli import main as tempest_main
from tests.meter.configs import family
from tests.support.waiting import wait_for

AT = "2024-06-11T00:10:00+02:00"


def tempest_cli(tempest, *args) -> str:
    res = CliRunner().invoke(tempest_main, [*args, "--data-dir", str(tempest.data_dir)])
    assert res.exit_code == 0, res.output
    return res.stdout


def host(tmp: Path, tempest, count: int, cid: str = "dcu-1", **section) -> Path:
    """A bulk host's base config (serials town-0001...) behind concentrator `cid`."""
    key = tempest_cli(tempest, "concentrators", "add", cid).strip().splitlines()[-1]
    tempest_cli(tempest, "concentrators", "assign", cid, "--base", "town", "--count", str(count))
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "dcu.key").write_text(key + "\n")
    raw = family(serial="town", commissioned="2024-06-01", tempest_url=tempest.url,
                 concentrator={"id": cid, "key_file": "dcu.key", **section})
    (tmp / "config.json").write_text(json.dumps(raw))
    return tmp / "config.json"


def meter(config: Path, *args: str, count: int):
    argv = [args[0], "--config", str(config), "--count", str(count),
            "--data-dir", str(config.parent / "fleet"), *args[1:], "--at", AT]
    return CliRunner().invoke(meter_main, argv, catch_exceptions=False)


def stored_days(tempest) -> int:
    return tempest.get("api/v1/summary").json()["days_stored"]


def test_a_host_of_200_meters_delivers_through_its_concentrator(tmp_path, make_tempest):
    tempest = make_tempest().start()
    config = host(tmp_path / "host", tempest, 200, batch_files=64)
    res = meter(config, "backfill", "--from", "2024-06-09", "--to", "2024-06-10", "-q",
                count=200)
    assert res.exit_code == 0, res.output
    res = meter(config, "deliver", count=200)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert (out["meters"], out["sent"], out["rejected"], out["pending"]) == (200, 400, 0, 0)
    wait_for(lambda: stored_days(tempest) == 400, 120, 0.5, "400 days stored")
    fleet = config.parent / "fleet"
    one = fleet / "town-0137"
    assert sorted(p.name for p in (one / "sent").iterdir()) == [
        "town-0137_2024-06-09.json", "town-0137_2024-06-10.json"]
    # stored byte for byte as the meter wrote it
    assert tempest.day_file("town-0137", "2024-06-10") == (
        one / "sent" / "town-0137_2024-06-10.json").read_bytes()
    events = [json.loads(line) for line in (one / "delivery.log").read_text().splitlines()]
    assert {e["route"] for e in events if e["event"] == "sent"} == {"concentrator"}
    files = tempest.files("town-0137")
    assert {f["source"] for f in files} == {"upload"}
    res = meter(config, "heartbeat", count=200)
    assert json.loads(res.stdout) == {"meters": 200, "sent": 200}
    listed = tempest.get("api/v1/concentrators/dcu-1").json()
    assert listed["meters"] == 200 and listed["last_seen"]
    assert tempest.get("api/v1/meters?status=online").json()["total"] == 200
    # the concentrator key reached Tempest only in the header, never in a day file
    key = (config.parent / "dcu.key").read_text().strip()
    assert key.encode() not in tempest.day_file("town-0001", "2024-06-09")


def test_a_meter_moved_away_keeps_its_files_and_the_others_go(tmp_path, make_tempest):
    tempest = make_tempest().start()
    config = host(tmp_path / "host", tempest, 4)
    tempest_cli(tempest, "concentrators", "add", "dcu-2")
    tempest_cli(tempest, "concentrators", "assign", "dcu-2", "town-0003")
    res = meter(config, "backfill", "--from", "2024-06-10", "--to", "2024-06-10", "-q", count=4)
    assert res.exit_code == 0, res.output
    res = meter(config, "deliver", count=4)
    out = json.loads(res.stdout)
    assert res.exit_code == 1 and out["sent"] == 3 and out["pending"] == 1
    moved = config.parent / "fleet" / "town-0003"
    assert [p.name for p in (moved / "outbox").iterdir()] == ["town-0003_2024-06-10.json"]
    [retry] = [json.loads(line) for line in (moved / "delivery.log").read_text().splitlines()
               if '"retry"' in line]
    assert retry["status"] == 403 and "not registered behind this concentrator" in retry["reason"]
    wait_for(lambda: stored_days(tempest) == 3, 60, 0.2, "3 days stored")
    assert tempest.days("town-0003") == {}


def test_a_bad_concentrator_section_exits_2_naming_the_field(tmp_path):
    base = family(serial="town", tempest_url="http://127.0.0.1:9/")

    def run(section, *extra_files):
        (tmp_path / "config.json").write_text(json.dumps({**base, "concentrator": section}))
        return meter(tmp_path / "config.json", "deliver", count=2)

    res = run({"id": "dcu-1", "key": "k" * 20, "key_file": "x"})
    assert res.exit_code == 2 and "concentrator.key" in res.output
    res = run({"id": "dcu-1", "key_file": "missing.key"})
    assert res.exit_code == 2 and "concentrator.key_file" in res.output
    res = run({"key": "k" * 20})
    assert res.exit_code == 2 and "concentrator" in res.output and "id" in res.output
    res = run({"id": "dcu-1", "key": "short"})
    assert res.exit_code == 2 and "concentrator.key" in res.output and "short" not in res.output
    res = run({"id": "dcu-1", "key": "k" * 20, "batch_files": 0})
    assert res.exit_code == 2 and "concentrator.batch_files" in res.output


def test_meter_run_sends_the_batches_after_the_ticks(tmp_path, make_tempest):
    from meter.cli_options import load_meters
    from meter.runloop import Loop

    tempest = make_tempest().start()
    config = host(tmp_path / "host", tempest, 3)
    res = meter(config, "backfill", "--from", "2024-06-10", "--to", "2024-06-10", "-q", count=3)
    assert res.exit_code == 0, res.output
    meters = load_meters((config,), config.parent / "fleet", AT, 3, False)
    loop = Loop(meters.reload, at=AT, heartbeat_s=0, echo=lambda line: None)
    loop.cycle()
    fleet = config.parent / "fleet"
    for i in (1, 2, 3):
        assert [p.name for p in (fleet / f"town-000{i}" / "sent").glob("*.json")] == [
            f"town-000{i}_2024-06-10.json"]
    wait_for(lambda: stored_days(tempest) == 3, 60, 0.2, "3 days stored")
    assert all(tempest.heartbeats(f"town-000{i}") for i in (1, 2, 3))
