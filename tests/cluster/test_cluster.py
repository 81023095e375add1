"""Two Tempest nodes behind HAProxy on one PostgreSQL (docs/scaling.md): 1,000 meters deliver
their day through the balancer while one node is killed with SIGKILL and started again;
nothing is lost and nothing is stored twice.

A meter resends what was not answered 2xx (a 502 from the balancer for a request its node
died under, a refused connection), as meters do from their outbox. A file the killed node had
accepted waits in its drop folder until it starts again; one it stored is known there by its
bytes when resent to the other node.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import pytest
import requests

from tempest import keys
from tempest.db import connect
from tests.support.haproxy import HAProxy
from tests.support.waiting import wait_for
from tests.tempest.tempest_testdata import make_day

METERS = 1000
DAY = "2023-05-26"
KILL_AFTER, RESTART_AFTER = 300, 500  # meters answered before the kill, and the restart


def _deliver(url: str, serial: str, key: str, body: bytes, stop: threading.Event) -> int:
    """Upload until a 2xx; the number of tries."""
    tries = 0
    while not stop.is_set():
        tries += 1
        try:
            r = requests.post(f"{url}/api/v1/days", data=body, timeout=30,
                              headers={"x-api-key": key, "Content-Type": "application/json"})
            if r.ok:
                return tries
            assert r.status_code in (502, 503, 504), (serial, r.status_code, r.text)
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                requests.Timeout):
            pass  # the node died mid-answer: not acknowledged, so sent again, as a meter does
        time.sleep(0.2)
    raise AssertionError(f"{serial}: never delivered")


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/api/v1/health", timeout=2).ok
    except requests.ConnectionError:
        return False


@pytest.mark.slow
def test_a_node_killed_mid_delivery_loses_nothing_and_stores_nothing_twice(
        postgres_server, make_tempest, tmp_path):
    url = postgres_server.fresh_database()
    serials = [f"CL{i:04d}" for i in range(METERS)]
    with closing(connect(url)) as conn:
        issued = {s: keys.add(conn, s, rotate=True).key for s in serials}
    bodies = {s: make_day(s, DAY) for s in serials}
    nodes = [make_tempest(tmp_path / f"node{i}", TEMPEST_DATABASE_URL=url).start()
             for i in range(2)]
    balancer = HAProxy(tmp_path / "haproxy", [(n.host, n.port) for n in nodes]).start()
    try:
        wait_for(lambda: _answers(balancer.url), what="HAProxy in front of both nodes")
        done = 0
        lock = threading.Lock()
        stop = threading.Event()
        killed = restarted = False

        def one(serial: str) -> int:
            nonlocal done
            tries = _deliver(balancer.url, serial, issued[serial], bodies[serial], stop)
            with lock:
                done += 1
            return tries

        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(one, s) for s in serials]
            while not all(f.done() for f in futures):
                if not killed and done >= KILL_AFTER:
                    nodes[0].kill9()
                    killed = True
                elif killed and not restarted and done >= RESTART_AFTER:
                    nodes[0].start(timeout=60)
                    restarted = True
                time.sleep(0.05)
            tries = [f.result() for f in futures]
        assert killed and restarted
        with closing(connect(url)) as conn:
            def stored() -> int:
                return conn.execute("SELECT count(*) FROM days").fetchone()[0]

            wait_for(lambda: stored() == METERS, timeout=300, what=f"{METERS} days stored")
            days = conn.execute("SELECT count(*), max(versions), count(DISTINCT serial) "
                                "FROM days WHERE reading_day = ?", (DAY,)).fetchone()
            events = conn.execute("SELECT count(*) FROM ingest_log WHERE event = 'stored'"
                                  ).fetchone()[0]
            counters = conn.execute("SELECT min(days_stored), max(days_stored) FROM meters"
                                    ).fetchone()
            readings = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
        assert tuple(days) == (METERS, 1, METERS)  # every meter's day, each once
        assert events == METERS and tuple(counters) == (1, 1)
        assert readings == 3 * METERS
        for node in nodes:  # every accepted file was ingested by the node that took it
            wait_for(lambda n=node: not any((n.data_dir / "drop").rglob("*.json")),
                     what=f"{node.data_dir.name}'s drop folder empty")
        print(f"{sum(tries) - METERS} resends over {METERS} meters")
    finally:
        balancer.stop()
