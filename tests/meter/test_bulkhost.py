"""A ledger host of 2,000 meters (`meter tick|run --count N --ledger`, meter/bulkhost.py): its
first tick simulates no history, its days are the per-meter meter's bytes, and the days it
delivers through its concentrator reach a real Tempest with continuous registers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from core import civil, dayfile_reader
from meter import registers
from meter.bulkhost import LEDGER
from meter.cli import main as meter_main
from meter.daybuild import build_days
from meter.vector.engine import VectorMeter
from tempest.cli import main as tempest_main
from tests.meter.configs import cfg_of, family
from tests.support.waiting import wait_for

COUNT = 2000


def tempest_cli(tempest, *args) -> str:
    res = CliRunner().invoke(tempest_main, [*args, "--data-dir", str(tempest.data_dir)])
    assert res.exit_code == 0, res.output
    return res.stdout


def meter(config: Path, *args: str, at: str):
    argv = [args[0], "--config", str(config), "--count", str(COUNT), "--mix", "--ledger",
            "--data-dir", str(config.parent / "fleet"), *args[1:], "--at", at]
    res = CliRunner().invoke(meter_main, argv, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return [json.loads(line) for line in res.stdout.splitlines()]


@pytest.fixture
def days_simulated(monkeypatch):
    """Days the vectorised engine computes in this process (the work, not the wall clock)."""
    count = {"days": 0}
    real = VectorMeter.run

    def counting(self, first, last):
        count["days"] += last - first + 1
        return real(self, first, last)

    monkeypatch.setattr(VectorMeter, "run", counting)
    return count


def test_a_ledger_host_of_2000_meters_ticks_and_delivers(tmp_path, make_tempest,
                                                         days_simulated):
    tempest = make_tempest().start()
    key = tempest_cli(tempest, "concentrators", "add", "dcu-1").strip().splitlines()[-1]
    tempest_cli(tempest, "concentrators", "assign", "dcu-1", "--base", "town", "--count",
                str(COUNT))
    host = tmp_path / "host"
    host.mkdir()
    (host / "dcu.key").write_text(key + "\n")
    # Commissioned five months before the host starts: the old first tick summed 160 days a
    # meter; 30-minute intervals keep the 4,000 files small.
    raw = family(serial="town", commissioned="2024-01-01", interval_min=30,
                 tempest_url=tempest.url, concentrator={"id": "dcu-1", "key_file": "dcu.key"})
    config = host / "config.json"
    config.write_text(json.dumps(raw))

    [first] = meter(config, "tick", at="2024-06-10T10:02:00+02:00")
    assert first["meters"] == COUNT and first["recorded_to"] == "2024-06-10T10:00:00+02:00"
    assert first["days_sealed"] == 0 and days_simulated["days"] == 0
    ledger = json.loads((host / "fleet" / LEDGER).read_text())
    assert set(ledger["day"]) == {civil.parse_day("2024-06-10")}

    # The first day is over: one day simulated per meter, sealed in this process.
    [rolled] = meter(config, "tick", "--workers", "1", at="2024-06-11T00:05:00+02:00")
    assert rolled["days_sealed"] == COUNT and rolled["meters_due"] == 0
    assert days_simulated["days"] == COUNT
    # A tick inside the day seals nothing and computes nothing.
    [quiet] = meter(config, "tick", at="2024-06-11T09:00:00+02:00")
    assert quiet["days_sealed"] == 0 and days_simulated["days"] == COUNT

    # The long-running loop seals the next day in two worker processes and delivers both.
    cycles = meter(config, "run", "--cycles", "10", "--workers", "2",
                   at="2024-06-12T00:05:00+02:00")
    assert sum(c["days_sealed"] for c in cycles) == COUNT
    assert sum(c["meters_delivered"] for c in cycles) == COUNT
    assert cycles[-1]["meters_due"] == 0
    wait_for(lambda: tempest.get("api/v1/summary").json()["days_stored"] == 2 * COUNT, 180,
             0.5, f"{2 * COUNT} days stored")

    d10 = civil.parse_day("2024-06-10")
    for i in range(1, COUNT + 1, 97):
        serial = f"town-{i:04d}"
        days = [dayfile_reader.parse(tempest.day_file(serial, f"2024-06-{d}"))
                for d in ("10", "11")]
        assert days[0].closing == days[1].opening  # continuous registers
        assert all(days[1].closing[c] >= days[1].opening[c] >= days[0].opening[c]
                   for c in days[0].opening)
        cfg = cfg_of({**json.loads(json.dumps(raw)), **_derived(host, i)})
        # opened at the estimated read, not a simulated history
        assert list(days[0].opening.values()) == registers.start_read(cfg, d10)
        # byte for byte what a backfill of a meter starting that day writes
        built = [b.text.encode() for b in build_days(cfg, d10, d10 + 1,
                                                     registers.opening(cfg, d10))]
        assert tempest.day_file(serial, "2024-06-10") == built[0]
        assert tempest.day_file(serial, "2024-06-11") == built[1]


def _derived(host: Path, i: int) -> dict:
    """Meter i's serial, seed and archetype, as `--count --mix` derives them."""
    from meter import bulk

    base = json.loads((host / "config.json").read_text())
    raw = bulk.derive(base, i, True)
    return {k: raw[k] for k in ("serial", "seed", "archetype")}


def test_a_crash_before_the_ledger_moves_loses_nothing_and_repeats_the_bytes(tmp_path,
                                                                            monkeypatch):
    """Killed after placing the files but before the ledger says so: the next tick seals the
    same days again, byte for byte, and then moves on."""
    from meter import bulkhost, config
    from meter.clock import now_minute

    (tmp_path / "base.json").write_text(json.dumps(family(serial="town",
                                                          commissioned="2024-01-01")))
    host = bulkhost.BulkHost(config.read(tmp_path / "base.json"), 12, True, tmp_path,
                             tmp_path / "fleet", workers=1)
    host.tick(now_minute("2024-06-10T10:02:00+02:00"))

    def crash():
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(bulkhost.os, "sync", crash)
    with pytest.raises(KeyboardInterrupt):
        host.tick(now_minute("2024-06-11T00:05:00+02:00"))
    outbox = sorted((tmp_path / "fleet").glob("town-*/outbox/*.json"))
    assert len(outbox) == 12
    first_bytes = {p: p.read_bytes() for p in outbox}
    ledger = json.loads((tmp_path / "fleet" / LEDGER).read_text())
    assert set(ledger["day"]) == {civil.parse_day("2024-06-10")}  # not moved on

    monkeypatch.undo()
    again = bulkhost.BulkHost(config.read(tmp_path / "base.json"), 12, True, tmp_path,
                              tmp_path / "fleet", workers=1)  # a new process
    summary = again.tick(now_minute("2024-06-11T00:06:00+02:00"))
    assert summary["days_sealed"] == 12 and summary["meters_due"] == 0
    assert {p: p.read_bytes() for p in outbox} == first_bytes
    ledger = json.loads((tmp_path / "fleet" / LEDGER).read_text())
    assert set(ledger["day"]) == {civil.parse_day("2024-06-11")}
    assert all(r is not None for r in ledger["registers"])
    # a redial or backfill from a meter's folder continues what the ledger holds
    for i in (1, 7):
        assert registers.opening(again.config_of(i), civil.parse_day("2024-06-11"),
                                 again.root(i)) == ledger["registers"][i - 1]


def test_a_second_ledger_tick_at_the_same_time_is_refused(tmp_path):
    import fcntl

    from meter import bulkhost, config
    from meter.operations import Busy

    (tmp_path / "base.json").write_text(json.dumps(family(serial="town")))
    host = bulkhost.BulkHost(config.read(tmp_path / "base.json"), 3, False, tmp_path,
                             tmp_path / "fleet", workers=1)
    (tmp_path / "fleet").mkdir()
    with open(tmp_path / "fleet" / ".bulk-ledger.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(Busy):
            host.tick(28_000_000)
    assert not (tmp_path / "fleet" / LEDGER).exists()


def test_ledger_without_count_exits_2_naming_the_option(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(family()))
    res = CliRunner().invoke(meter_main, ["tick", "--config", str(tmp_path / "config.json"),
                                          "--ledger", "--at", "2024-06-10T10:00:00Z"])
    assert res.exit_code == 2 and "--ledger: needs --count" in res.output
    assert not (tmp_path / LEDGER).exists()
