"""HTTP delivery against a real Tempest: order, sent/, the open day, a three-day outage, the
seed route."""

from __future__ import annotations

import json

from meter.delivery.upload import upload_pass
from tests.support.waiting import wait_for

from .helpers import seconds

T0 = "2024-03-05T10:00:00+13:00"
T1 = "2024-03-09T00:10:00+13:00"  # days 05..08 are over
DAYS = ["2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"]


def test_outbox_goes_oldest_first_and_moves_to_sent(tempest, meter_for):
    m = meter_for(tempest)
    m.tick(T0)
    m.tick(T1)
    names = [f"{m.serial}_{d}.json" for d in DAYS]
    assert m.names("outbox") == names
    originals = {n: (m.root / "outbox" / n).read_bytes() for n in names}

    res = upload_pass(m.cfg, m.root, seconds(T1))

    assert res.ok and res.sent == names and res.pending == 0
    assert m.names("outbox") == [] and m.names("sent") == names
    stored = tempest.wait_days(m.serial, DAYS)
    for d, n in zip(DAYS, names, strict=True):
        assert stored[d]["status"] == "sealed" and stored[d]["accounted"] == 288
        assert tempest.day_file(m.serial, d) == originals[n] == (m.root / "sent" / n).read_bytes()
    sent_events = [e["file"] for e in m.events() if e["event"] == "sent"]
    assert sent_events == names  # in reading-day order
    # Nothing left to do: a second pass sends nothing and is not an error.
    again = upload_pass(m.cfg, m.root, seconds(T1))
    assert again.ok and again.sent == []


def test_open_day_is_uploaded_when_it_changes_and_the_sealed_day_wins(tempest, meter_for):
    m = meter_for(tempest, delivery={"upload_open_day": True})
    m.tick("2024-03-05T06:00:00+13:00")
    first = upload_pass(m.cfg, m.root, seconds("2024-03-05T06:00:00+13:00"))
    assert first.ok and first.open_day == "sent"
    got = tempest.wait_days(m.serial, ["2024-03-05"])["2024-03-05"]
    assert got["status"] == "open" and got["accounted"] == 72

    same = upload_pass(m.cfg, m.root, seconds("2024-03-05T06:01:00+13:00"))
    assert same.open_day == "unchanged"

    m.tick("2024-03-05T12:00:00+13:00")
    assert upload_pass(m.cfg, m.root, seconds("2024-03-05T12:00:00+13:00")).open_day == "sent"
    tempest.wait_days(m.serial, ["2024-03-05"])
    m.tick("2024-03-06T00:05:00+13:00")
    last = upload_pass(m.cfg, m.root, seconds("2024-03-06T00:05:00+13:00"))
    assert last.sent == [f"{m.serial}_2024-03-05.json"] and last.open_day == "sent"

    def sealed():
        d = tempest.days(m.serial)
        done = d.get("2024-03-05", {}).get("status") == "sealed" and "2024-03-06" in d
        return d if done else None

    days = wait_for(sealed, 20)
    assert days["2024-03-05"]["accounted"] == 288
    assert days["2024-03-06"]["status"] == "open"


def test_tempest_down_three_days_everything_arrives_in_order(make_tempest, meter_for):
    """A real Tempest stopped for three days of meter time (cron ticking and delivering every
    six hours meanwhile), then started again on the same address."""
    server = make_tempest().start()
    m = meter_for(server)
    m.tick("2024-03-05T00:30:00+13:00")
    assert m.cli("deliver", at="2024-03-05T00:30:00+13:00").exit_code == 0
    server.stop()

    exits, deferred = [], 0
    for day in ("05", "06", "07", "08"):
        for hour in ("00", "06", "12", "18"):
            if (day, hour) == ("05", "00"):
                continue
            at = f"2024-03-{day}T{hour}:30:00+13:00"
            assert m.cli("tick", at=at).exit_code == 0
            r = m.cli("deliver", at=at)
            out = json.loads(r.stdout)
            exits.append(r.exit_code)
            deferred += out["error"] is None
            assert out["sent"] == []
    state = json.loads((m.root / "delivery.json").read_text())
    assert state["failures"] >= 5 and "cannot connect" in state["last_error"]
    assert 1 in exits and deferred >= 1  # some passes failed, others waited out the backoff
    waiting = [f"{m.serial}_2024-03-0{d}.json" for d in (5, 6, 7)]
    assert m.names("outbox") == waiting

    server.start()
    at = "2024-03-08T18:35:00+13:00"
    r = m.cli("deliver", "--force", at=at)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["sent"] == waiting and out["failures"] == 0
    stored = server.wait_days(m.serial, ["2024-03-05", "2024-03-06", "2024-03-07"])
    assert all(stored[d]["status"] == "sealed" for d in stored)
    for n in waiting:
        d = n.split("_")[-1][:-5]
        assert server.day_file(m.serial, d) == (m.root / "sent" / n).read_bytes()
    # Sent oldest first (one request after another), each exactly once.
    assert [e["file"] for e in m.events() if e["event"] == "sent"] == waiting
    assert sorted(f["reading_day"] for f in server.files(m.serial)) == [
        "2024-03-05", "2024-03-06", "2024-03-07"]
    assert any(e["event"] == "recovered" for e in m.events())


def test_seed_era_tempest_gets_the_seed_route(tempest, meter_for, proxy_factory):
    proxy = proxy_factory(tempest.url)
    proxy.set("seed")
    m = meter_for(tempest, url=proxy.url)
    m.tick(T0)
    m.tick("2024-03-06T00:10:00+13:00")
    res = upload_pass(m.cfg, m.root, seconds("2024-03-06T00:10:00+13:00"))
    assert res.ok and res.sent == [f"{m.serial}_2024-03-05.json"]
    paths = [r["path"] for r in proxy.requests()]
    assert paths == ["/api/v1/days", "/update"]
    tempest.wait_days(m.serial, ["2024-03-05"])


def test_late_and_duplicate_days_arrive_late_and_twice_and_store_once(tempest, meter_for):
    """The meter's delivery faults: every day held back (late) and sent again (duplicate).
    Held files wait in held/ until the tick releases them into the outbox."""
    m = meter_for(tempest, faults={"late_days": 1.0, "late_max_days": 1,
                                   "duplicate_days": 1.0})
    m.tick(T0)
    m.tick("2024-03-06T00:10:00+13:00")
    name = f"{m.serial}_2024-03-05.json"
    assert m.names("outbox") == [] and name in m.names("held")
    assert upload_pass(m.cfg, m.root, seconds("2024-03-06T00:10:00+13:00")).sent == []

    m.tick("2024-03-07T00:10:00+13:00")  # one day late: released
    assert m.names("outbox") == [name]
    original = (m.root / "outbox" / name).read_bytes()
    assert upload_pass(m.cfg, m.root, seconds("2024-03-07T00:10:00+13:00")).sent == [name]
    m.tick("2024-03-07T06:20:00+13:00")  # the duplicate, about six hours later
    assert m.names("outbox") == [name]
    assert upload_pass(m.cfg, m.root, seconds("2024-03-07T06:20:00+13:00")).sent == [name]
    assert m.names("sent").count(name) == 1
    assert (m.root / "sent" / name).read_bytes() == original  # one copy: the same bytes

    def both():
        files = [f for f in tempest.files(m.serial) if f["reading_day"] == "2024-03-05"]
        return files if len(files) == 2 and all(f["outcome"] for f in files) else None

    files = wait_for(both, 20)
    assert sorted(f["outcome"] for f in files) == ["stored", "unchanged"]
    assert tempest.days(m.serial)["2024-03-05"]["versions"] == 1
