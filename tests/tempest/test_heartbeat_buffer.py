"""Heartbeats written behind their answer (TEMPEST_HEARTBEAT_FLUSH_SECONDS,
tempest/web/beatbuffer.py): the request still checks the key and every field and refuses as
before, and the heartbeat is written, in order, within the interval; a graceful stop of a real
gunicorn writes what is pending; a store that fails keeps the batch for the next flush."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tempest import create_app, registry
from tempest.db import connect
from tempest.settings import layout
from tempest.web import beatbuffer
from tests.support.tempest import store_config, store_of
from tests.support.waiting import wait_for
from tests.tempest.tempest_testdata import issue_key

HEARTBEAT = {"serial": "late1", "kind": "pi", "version": "0.1.0", "address": "10.0.0.7",
             "timestamp": "2026-11-20T10:00:00+00:00", "outbox_backlog": 3}


@pytest.fixture
def app(tmp_path):
    # The suite's app with heartbeats written behind, every 50 ms.
    return create_app({"DATA_DIR": str(tmp_path / "data"), "SETTLE_SECONDS": 0.0,
                       "HEARTBEAT_FLUSH_SECONDS": 0.05, **store_config()})


@pytest.fixture
def buffer(app):
    buf = app.extensions["tempest.beatbuffer"]
    yield buf
    buf.close()


def beats(conn, serial="late1") -> tuple[int, int]:
    meter = conn.execute("SELECT heartbeats FROM meters WHERE serial = ?", (serial,)).fetchone()
    history = conn.execute("SELECT count(*) FROM heartbeats WHERE serial = ?",
                           (serial,)).fetchone()[0]
    return meter["heartbeats"], history


def post(client, key, body: dict):
    return client.post("/api/v1/heartbeats", data=json.dumps(body),
                       headers={"x-api-key": key, "Content-Type": "application/json"})


def test_heartbeats_are_written_in_order_within_the_interval(client, conn, buffer):
    key = issue_key(conn, "late1")
    for backlog in (1, 2, 3):
        r = post(client, key, {**HEARTBEAT, "outbox_backlog": backlog})
        assert r.status_code == 200 and r.get_json()["status"] == "ok"
    wait_for(lambda: beats(conn) == (3, 3), 5, what="three heartbeats written")
    row = conn.execute("SELECT backlog, address, first_seen, last_seen, heartbeat_route "
                       "FROM meters WHERE serial = 'late1'").fetchone()
    assert row["backlog"] == 3  # the last one wins, as written one by one
    assert (row["address"], row["heartbeat_route"]) == ("10.0.0.7", "http")
    assert row["first_seen"] < row["last_seen"]
    bodies = [json.loads(r["body"])["outbox_backlog"] for r in conn.execute(
        "SELECT body FROM heartbeats WHERE serial = 'late1' ORDER BY id")]
    assert bodies == [1, 2, 3]


def test_a_refused_heartbeat_is_still_refused_at_once(client, conn, buffer):
    key = issue_key(conn, "late1")
    r = post(client, key, {**HEARTBEAT, "outbox_backlog": -1})
    assert r.status_code == 400 and r.get_json()["field"] == "outbox_backlog"
    r = post(client, "x" * 43, HEARTBEAT)
    assert r.status_code == 401
    buffer.flush()
    assert beats(conn) == (0, 0)


def test_a_failing_store_keeps_the_batch_for_the_next_flush(app, conn, tmp_path):
    issue_key(conn, "late1")
    buf = beatbuffer.Buffer(tmp_path / "missing" / "store.sqlite3", 3600)
    now = time.time()
    buf.add("late1", HEARTBEAT, registry.check(HEARTBEAT), now)
    try:
        assert buf.flush() == 0  # the store cannot be opened: kept
        buf.store = layout(app.config).database  # the store is back
        assert buf.flush() == 1
    finally:
        buf.close()
    assert beats(conn) == (1, 1)


def test_a_graceful_stop_writes_what_is_pending(make_tempest, tmp_path):
    tempest = make_tempest(gunicorn_workers=1, ingest=False,
                           TEMPEST_HEARTBEAT_FLUSH_SECONDS=10)  # never flushed by time here
    tempest.start(timeout=60)
    conn = connect(store_of(tempest.data_dir))
    try:
        key = issue_key(conn, "late1")
        for _ in range(3):
            r = requests.post(f"{tempest.url}/api/v1/heartbeats", json=HEARTBEAT,
                              headers={"x-api-key": key}, timeout=10)
            assert r.status_code == 200, r.text
        assert beats(conn) == (0, 0)  # answered, not written yet
        tempest.stop()  # SIGTERM: the worker exits gracefully and writes them
        assert beats(conn) == (3, 3)
    finally:
        conn.close()
