"""One large heartbeat no longer breaks the heartbeat pages (security finding 6).

Tempest kept each heartbeat as its JSON cut at 4,000 characters; a 10 KB heartbeat left a row
that no longer parsed, and `/api/v1/heartbeats`, `/ui/heartbeats` and the meter page answered
500 for as long as the row was kept. Now only the checked fields are kept, and rows an older
Tempest stored cut short are shown without their details instead of failing the page.
"""

from __future__ import annotations

import json
from contextlib import closing

import pytest

from tempest.db import connect
from tests.support.tempest import store_of
from tests.support.tempest_client import admin_headers

PAGES = ("/api/v1/heartbeats", "/api/v1/heartbeats?serial=kili", "/ui/heartbeats",
         "/ui/heartbeats?serial=kili", "/ui/meters/kili")
HEARTBEAT = {"serial": "kili", "kind": "pi", "version": "0.1.0", "address": "127.0.0.11",
             "agent_url": "http://127.0.0.11:8001/", "timestamp": "2024-05-26T10:05:00+12:00",
             "last_tick": "2024-05-26T10:05:00+12:00", "config_hash": "sha256:" + "a" * 64,
             "outbox_backlog": 3, "free_disk_bytes": 10**9, "last_error": "E" * 400}


@pytest.fixture
def served(make_tempest):
    server = make_tempest().start()
    r = server.post("/api/v1/meters", json={"serial": "kili"}, headers=admin_headers())
    assert r.status_code == 201, r.text
    server.key = r.json()["key"]
    return server


def _pages_answer(server) -> None:
    for path in PAGES:
        r = server.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])


@pytest.mark.parametrize("route", ["/api/v1/heartbeats", "/heartbeat"])
def test_a_10_kb_heartbeat_leaves_every_heartbeat_page_working(served, route):
    big = {**HEARTBEAT, "notes": "x" * 10_000,
           **{f"extra_{i}": i for i in range(50)}}  # fields no meter sends
    assert len(json.dumps(big)) > 10_000
    r = served.post(route, json=big, headers={"x-api-key": served.key})
    assert r.status_code == 200, r.text
    _pages_answer(served)

    items = served.get("/api/v1/heartbeats?serial=kili").json()["items"]
    kept = items[0]["heartbeat"]
    # What was checked is kept whole; what no meter sends is not kept at all.
    assert kept == HEARTBEAT
    with closing(connect(store_of(served.data_dir))) as conn:
        bodies = [r[0] for r in conn.execute("SELECT body FROM heartbeats")]
    assert bodies and all(isinstance(json.loads(b), dict) for b in bodies)
    assert max(map(len, bodies)) < 2000


def test_rows_an_older_tempest_stored_cut_short_do_not_break_the_pages(served):
    r = served.post("/api/v1/heartbeats", json=HEARTBEAT, headers={"x-api-key": served.key})
    assert r.status_code == 200
    cut = json.dumps({**HEARTBEAT, "notes": "x" * 10_000})[:4000]
    with closing(connect(store_of(served.data_dir))) as conn:  # autocommit
        for body in (cut, "[1, 2]", ""):  # cut short, not an object, empty
            conn.execute("INSERT INTO heartbeats (serial, received_at, meter_time, skew_s, "
                         "address, body) VALUES ('kili', 1716674700, NULL, NULL, NULL, ?)",
                         (body,))
    _pages_answer(served)
    items = served.get("/api/v1/heartbeats?serial=kili").json()["items"]
    assert items[0]["heartbeat"]["version"] == "0.1.0"  # the good row, newest, in full
    assert [i["heartbeat"] for i in items[1:]] == [None, None, None]  # shown, without details
