"""A bulk host serves DLMS for every meter it simulates, and Tempest collects them all
concurrently (issue 19): real processes throughout (`meter tick --count --ledger`, `meter
dlms-serve --count`, `tempest meters dlms --from`, `tempest dlms-collect --workers`, `tempest
ingest`). Every collected interval equals `meter truth` to the Wh and the bulk host's own
sealed day file; a meter whose connection drops mid-read loses nothing and doubles nothing."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from decimal import Decimal

import pytest

from core import civil
from meter import bulk, config, daybuild
from tests.dlms import bulk as host
from tests.dlms.meters import AT
from tests.dlms.proxy import Relay
from tests.support.addresses import free_address
from tests.support.processes import stop_process

COUNT = 50
FLAKY = 7  # the meter whose connection the relay cuts in the middle of its load profile


def wh(kwh) -> int:
    """A day file's or the truth's kWh (3 decimals) as whole Wh."""
    return int(Decimal(str(kwh)) * 1000)


def collect(tempest_dir, *args):
    got = subprocess.run(
        [sys.executable, "-m", "tempest", "dlms-collect", "--data-dir", str(tempest_dir),
         "--at", AT.isoformat(), "--redial-days", "0", "--workers", "8", *args],
        env=host.env(), capture_output=True, text=True, timeout=120)
    return got.returncode, [json.loads(line) for line in got.stdout.splitlines()]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dlms-bulk")
    address, _ = free_address()
    host.write_base(tmp, 20000)  # the ledger's ticks need the base config; ports come next
    host.seal_ledger(tmp, COUNT)
    proc, started = host.start_host(tmp, COUNT, address, processes=2)  # a worker forked
    relay = None
    try:
        assert started == {"meters": COUNT, "host": address, "first_port": started["first_port"],
                           "last_port": started["first_port"] + COUNT - 1}
        eps = json.loads((tmp / "endpoints.json").read_text())
        assert (tmp / "endpoints.json").stat().st_mode & 0o077 == 0  # it holds passwords
        assert len({e["password"] for e in eps}) == COUNT  # a password of its own each
        relay = Relay((address, eps[FLAKY - 1]["port"]))
        eps[FLAKY - 1].update(host="127.0.0.1", port=relay.port)
        (tmp / "registered.json").write_text(json.dumps(eps))
        host.register(tmp, tmp / "tempest", tmp / "registered.json")
        yield tmp, relay, eps
    finally:
        if relay is not None:
            relay.close()
        stop_process(proc)


def test_every_meter_collected_equals_the_truth_and_a_cut_loses_nothing(fleet):
    tmp, relay, eps = fleet
    tempest = tmp / "tempest"
    # 1. One round over all meters, 8 at a time; the flaky meter's connection is cut.
    relay.cut_after = 3000
    code, out = collect(tempest)
    assert code == 1
    errors = [o for o in out if "error" in o]
    assert [o["serial"] for o in errors] == [eps[FLAKY - 1]["serial"]]
    assert relay.cuts == 1
    drop = tempest / "drop"
    assert not list(drop.glob(f"{eps[FLAKY - 1]['serial']}_*"))  # nothing half-read dropped

    # 2. The next round drops only the day still missing: the flaky meter's (a meter whose
    # day was an outage has nothing to drop, so its day stays due and is read again).
    code, again = collect(tempest)
    assert code == 0, again
    assert [o["serial"] for o in again if o["file"]] == [eps[FLAKY - 1]["serial"]]
    assert all(o["intervals"] == 0 for o in again if not o["file"])
    files = sorted(drop.glob("*.json"))
    assert {o["serial"] for o in out + again if "error" not in o} == {e["serial"] for e in eps}

    # 3. Every dropped day equals the bulk host's own sealed file and the truth, to the Wh.
    base = json.loads((tmp / "bulk.json").read_text())
    day = civil.parse_day(host.DAY)
    recorded = 0
    for i, e in enumerate(eps, 1):
        serial = e["serial"]
        cfg = config.from_dict(bulk.derive(base, i, True))
        truth = daybuild.truth(cfg, day)
        mine = [f for f in files if f.name.startswith(f"{serial}_{host.DAY}.dl-")]
        if truth["day_faults"]["outage"]:
            assert not mine  # an outage day: the meter recorded nothing
            continue
        [path] = mine
        got = json.loads(path.read_text())
        own = json.loads((tmp / "host" / serial / "outbox" / f"{serial}_{host.DAY}.json")
                         .read_text())
        for key in ("serial", "reading_day", "interval", "timezone", "channels", "snapshots",
                    "closing_snapshots", "datastreams", "quality"):
            assert got[key] == own[key], (serial, key)
        names = [c[0] for c in cfg.model["channels"]]
        recorded_ivs = [iv for iv in truth["intervals"] if iv["recorded"] is not None]
        for name in names:
            assert len(got["datastreams"][name]) == len(recorded_ivs)
        for iv in recorded_ivs:
            for name in names:
                assert wh(got["datastreams"][name][iv["end"]]) == wh(iv["recorded"][name]), (
                    serial, name, iv["end"])
            recorded += 1
    assert recorded > COUNT * 250  # the comparison covered real days, not empty ones

    # 4. Ingest stores each meter's day once, from one delivery.
    got = subprocess.run([sys.executable, "-m", "tempest", "ingest", "--data-dir", str(tempest),
                          "-q"], env=host.env(), capture_output=True, text=True, timeout=120)
    assert got.returncode == 0, got.stderr
    with sqlite3.connect(tempest / "tempest.sqlite3") as conn:
        days = conn.execute("SELECT serial, COUNT(*) FROM days GROUP BY serial").fetchall()
        sources = conn.execute("SELECT source, COUNT(*) FROM files GROUP BY source").fetchall()
        errors = conn.execute("SELECT COUNT(*) FROM dlms_meters WHERE last_error IS NOT NULL"
                              ).fetchone()[0]
    assert all(n == 1 for _, n in days)
    assert len(days) == len(files) and sources == [("dlms", len(files))]
    assert errors == 0  # the flaky meter's error is cleared by its successful read


def test_the_hosts_endpoints_list_is_read_directly(fleet):
    # `--meters` reads the list `meter dlms-serve --endpoints` writes (passwords inline).
    tmp, _relay, eps = fleet
    got = subprocess.run(
        [sys.executable, "-m", "tempest", "dlms-collect", "--data-dir", str(tmp / "direct"),
         "--meters", str(tmp / "endpoints.json"), "--serial", eps[1]["serial"], "--day",
         host.DAY, "--at", AT.isoformat()], env=host.env(), capture_output=True, text=True,
        timeout=120)
    assert got.returncode == 0, got.stderr
    [line] = [json.loads(x) for x in got.stdout.splitlines()]
    own = json.loads((tmp / "host" / eps[1]["serial"] / "outbox" /
                      f"{eps[1]['serial']}_{host.DAY}.json").read_text())
    dropped = json.loads((tmp / "direct" / "drop" / line["file"]).read_text())
    assert dropped["datastreams"] == own["datastreams"]
