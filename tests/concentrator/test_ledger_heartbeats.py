"""A ledger host's heartbeats (meter/bulkbeat.py) against a real Tempest: built from the ledger,
each meter once per period in a slot of its own, with the config hash the per-meter path
computes, and refused for a meter moved to another concentrator."""

from __future__ import annotations

import json

from meter import config as meter_config
from meter.bulkhost import BulkHost
from meter.bulkrun import LedgerLoop
from tests.concentrator.test_concentrator_host import AT, host, tempest_cli

COUNT = 30
PERIOD_MIN = 3
WALL = 1_800_000_000.0  # a fixed wall clock (2027-01-15T08:00Z), minute-aligned


def ledger_loop(config, heartbeat_s: float, clock: list[float]) -> LedgerLoop:
    bulk = BulkHost(meter_config.read(config), COUNT, False, config.parent,
                    config.parent / "fleet", workers=1)
    return LedgerLoop(bulk, AT, True, 40.0, echo=lambda line: None,
                      heartbeat_s=heartbeat_s, wall=lambda: clock[0])


def beats_by_serial(tempest) -> dict[str, int]:
    return {f"town-{i:04d}": len(tempest.heartbeats(f"town-{i:04d}"))
            for i in range(1, COUNT + 1)}


def test_each_meter_beats_once_a_period_with_the_ledger_facts(tmp_path, make_tempest):
    tempest = make_tempest().start()
    config = host(tmp_path / "host", tempest, COUNT)
    clock = [WALL]
    loop = ledger_loop(config, PERIOD_MIN * 60, clock)
    first = loop.cycle()  # records the intervals, then the first minute's slot
    assert first["heartbeats_sent"] == COUNT // PERIOD_MIN and first["heartbeats_failed"] == 0
    assert loop.heartbeat() == {"heartbeats_sent": 0, "heartbeats_failed": 0}  # same minute
    for minute in (1, 2):
        clock[0] = WALL + 60 * minute + 5
        assert loop.heartbeat()["heartbeats_sent"] == COUNT // PERIOD_MIN
    assert set(beats_by_serial(tempest).values()) == {1}  # everyone once, nobody twice

    # Ten quiet minutes (a long cycle): one catch-up of a whole period, each meter once more.
    clock[0] = WALL + 60 * 12 + 5
    assert loop.heartbeat()["heartbeats_sent"] == COUNT
    assert set(beats_by_serial(tempest).values()) == {2}

    meter = tempest.get("api/v1/meters/town-0007").json()
    cfg = loop.host.config_of(7)
    assert meter["config_hash"] == cfg.hash()  # what the meter's own heartbeat would say
    assert meter["last_tick"] == "2024-06-11T00:10:00+02:00"  # the ledger's recorded minute
    assert meter["outbox_backlog"] == 0


def test_a_meter_moved_to_another_concentrator_is_refused(tmp_path, make_tempest):
    tempest = make_tempest().start()
    config = host(tmp_path / "host", tempest, COUNT)
    tempest_cli(tempest, "concentrators", "add", "dcu-2")
    tempest_cli(tempest, "concentrators", "assign", "dcu-2", "town-0004")
    clock = [WALL]
    loop = ledger_loop(config, 60, clock)
    assert loop.heartbeat() == {"heartbeats_sent": COUNT - 1, "heartbeats_failed": 1}
    assert tempest.heartbeats("town-0004") == []
    assert tempest.heartbeats("town-0005")


def test_a_host_without_a_concentrator_sends_no_heartbeats(tmp_path, make_tempest):
    tempest = make_tempest().start()
    config = host(tmp_path / "host", tempest, COUNT)
    raw = json.loads(config.read_text())
    del raw["concentrator"]
    config.write_text(json.dumps(raw))
    loop = ledger_loop(config, 60, [WALL])
    assert loop.beats is None and loop.heartbeat() == {}
