"""The sink queue: filled in the ingest transaction, one item per sink and day, replaced days
re-queued, dead items retried in place, and nothing lost or doubled across kill -9."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from tempest import db
from tempest.sinks import backoff, queue, registry
from tests.sinks.sinkhelpers import Store
from tests.support import REPO
from tests.support.waiting import wait_for
from tests.tempest.tempest_testdata import make_day

OFF = {"SINK_INFLUX_URL": "http://127.0.0.1:9", "SINK_MDMS_URL": "http://127.0.0.1:9"}


def test_stored_days_are_queued_for_each_sink_in_the_ingest_transaction(tmp_path):
    s = Store(tmp_path / "data", **OFF)
    outcomes = s.ingest({f"kili_2024-04-0{d}.json": make_day("kili", f"2024-04-0{d}")
                         for d in (1, 2, 3)})
    assert outcomes == ["stored"] * 3
    items = s.queue()
    assert {(i["sink"], i["reading_day"], i["cause"]) for i in items} == {
        (sink, f"2024-04-0{d}", "stored") for sink in ("influxdb", "mdms") for d in (1, 2, 3)}
    # The same bytes again: unchanged, nothing queued.
    assert s.ingest({"kili_2024-04-01.copy.json": make_day("kili", "2024-04-01")}) == [
        "unchanged"]
    assert len(s.queue()) == 6
    # A more complete version replaces the day: the waiting item is replaced, at the back.
    before = {i["reading_day"]: i["id"] for i in s.queue("mdms")}
    assert s.ingest({"kili_2024-04-01.v2.json": make_day("kili", "2024-04-01", bump=1)}) == [
        "replaced"]
    after = s.queue("mdms")
    assert [i["reading_day"] for i in after] == ["2024-04-02", "2024-04-03", "2024-04-01"]
    assert after[-1]["cause"] == "replaced" and after[-1]["id"] > max(before.values())
    # An older, less complete version is kept out: nothing queued.
    assert s.ingest({"kili_2024-04-02.open.json": make_day("kili", "2024-04-02", status="open",
                                                           upto=10, bump=3)}) == ["kept"]
    assert len(s.queue("mdms")) == 3


def test_nothing_is_queued_without_sinks_and_removed_sinks_stop_getting_days(tmp_path):
    s = Store(tmp_path / "data")
    s.ingest({"kili_2024-04-01.json": make_day("kili", "2024-04-01")})
    assert s.queue() == []
    s.config.update(OFF)
    registry.sync(s.conn, s.config)
    s.ingest({"kili_2024-04-02.json": make_day("kili", "2024-04-02")})
    assert len(s.queue()) == 2
    s.config["SINK_INFLUX_URL"] = None
    registry.sync(s.conn, s.config)
    assert [r[0] for r in s.conn.execute("SELECT name FROM sinks WHERE enabled = 1")] == ["mdms"]
    s.ingest({"kili_2024-04-03.json": make_day("kili", "2024-04-03")})
    assert [i["reading_day"] for i in s.queue("influxdb")] == ["2024-04-02"]  # kept, visible
    assert [i["reading_day"] for i in s.queue("mdms")] == ["2024-04-02", "2024-04-03"]


def test_dead_items_are_retried_in_their_place_and_replay_requeues(tmp_path):
    s = Store(tmp_path / "data", **OFF)
    s.ingest({f"kili_2024-04-0{d}.json": make_day("kili", f"2024-04-0{d}") for d in (1, 2, 3)})
    head = queue.head(s.conn, "mdms", 10)
    assert [i.reading_day for i in head] == ["2024-04-01", "2024-04-02", "2024-04-03"]
    now = time.time()
    queue.kill(s.conn, "mdms", head[0], "MDMS answered 400: unknown meter", now)
    died = queue.defer(s.conn, "mdms", [head[1]], "MDMS answered 500", now, now, charge=True,
                       max_attempts=1)
    assert [d.id for d in died] == [head[1].id]
    assert [i.reading_day for i in queue.head(s.conn, "mdms", 10)] == ["2024-04-03"]
    dead = {i["reading_day"]: i for i in s.queue("mdms") if i["state"] == "dead"}
    assert dead["2024-04-01"]["last_error"] == "rejected: MDMS answered 400: unknown meter"
    assert dead["2024-04-02"]["last_error"] == "gave up after 1 attempts: MDMS answered 500"
    assert queue.retry_dead(s.conn, "mdms", [head[0].id]) == 1
    assert queue.retry_dead(s.conn, "mdms") == 1
    assert [(i.reading_day, i.attempts) for i in queue.head(s.conn, "mdms", 10)] == [
        ("2024-04-01", 0), ("2024-04-02", 0), ("2024-04-03", 0)]
    # A pause (the sink is down) does not count towards dead.
    queue.defer(s.conn, "mdms", head[:1], "unreachable", now, now + 1, charge=False,
                max_attempts=1)
    assert s.queue("mdms")[0]["state"] == "queued" and s.queue("mdms")[0]["attempts"] == 0
    assert queue.replay(s.conn, "influxdb", "2024-04-02", "2024-04-09", ["kili"], now) == 2
    assert [(i["reading_day"], i["cause"]) for i in s.queue("influxdb")] == [
        ("2024-04-01", "stored"), ("2024-04-02", "replay"), ("2024-04-03", "replay")]


def test_backoff_is_capped_exponential_with_jitter():
    rng = random.Random(1)
    delays = [backoff.delay(n, 1.0, 60.0, rng) for n in range(1, 12)]
    for n, d in enumerate(delays, start=1):
        ceiling = min(60.0, 2 ** (n - 1))
        assert ceiling / 2 <= d <= ceiling
    assert backoff.for_status(503, "x").kind == backoff.RETRY
    assert backoff.for_status(429, "x", 2.0).retry_after == 2.0
    assert backoff.for_status(401, "x").kind == backoff.PAUSE
    assert backoff.for_status(400, "x").kind == backoff.REJECT
    assert backoff.for_status(404, "x").kind == backoff.REJECT


def test_kill9_during_ingest_queues_every_stored_day_exactly_once(tmp_path):
    """`tempest ingest --watch` with both sinks on (pointing at closed ports, so the queue
    only grows), killed with SIGKILL mid-ingest, then restarted: every stored day has exactly
    one item per sink."""
    data = tmp_path / "data"
    s = Store(data, **OFF)
    files = {f"m{m:02d}_2024-03-{d:02d}.json": make_day(f"m{m:02d}", f"2024-03-{d:02d}",
                                                      channels=2, interval=15)
             for m in range(8) for d in range(1, 21)}
    s.register(*(f"m{m:02d}" for m in range(8)))
    for name, data_bytes in files.items():
        (s.layout.drop / name).write_bytes(data_bytes)
    env = {**os.environ, "TEMPEST_SETTLE_SECONDS": "0", "TEMPEST_INGEST_BATCH": "16",
           "TEMPEST_SINK_INFLUX_URL": OFF["SINK_INFLUX_URL"],
           "TEMPEST_SINK_MDMS_URL": OFF["SINK_MDMS_URL"]}
    cmd = [sys.executable, "-m", "tempest", "ingest", "--watch", "--data-dir", str(data)]
    log = open(tmp_path / "ingest.log", "ab")  # noqa: SIM115
    for round_ in range(3):
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=log, stderr=log)
        conn = db.connect(s.layout.database)
        try:
            # Kill it once some days are stored, at a moment of its choosing.
            target = 30 * (round_ + 1)
            wait_for(lambda c=conn, t=target, p=proc: c.execute("SELECT count(*) FROM days")
                     .fetchone()[0] >= t or p.poll() is not None, 60, 0.01, "days stored")
            time.sleep(random.uniform(0, 0.05))
        finally:  # also when the wait fails: never leave the worker running
            conn.close()
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=log, stderr=log)
    try:
        wait_for(lambda: not any(p.suffix == ".json" for p in s.layout.drop.iterdir()), 120,
                 0.1, "drop folder drained")
        days = set(s.days())
        assert len(days) == len(files)
        for sink in ("influxdb", "mdms"):
            items = [(i["serial"], i["reading_day"]) for i in s.queue(sink)]
            assert len(items) == len(set(items))
            assert set(items) == days, sink
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(20)
        log.close()
