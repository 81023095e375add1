"""A plain valid heartbeat is answered by tempest/web/fastpath.py, outside Flask's request
machinery: the same answer and the same rows as the Flask route, and every other heartbeat
(a bad key, body or field, a body past the limit) still gets the Flask route's refusal."""

from __future__ import annotations

import json

import pytest

from tests.tempest.tempest_testdata import issue_key

HEARTBEAT = {"serial": "fast1", "kind": "pi", "version": "0.1.0", "address": "10.0.0.7",
             "agent_url": "http://10.0.0.7:8001/", "timestamp": "2026-11-20T10:00:00+00:00",
             "last_tick": "2026-11-20T09:55:00+00:00", "config_hash": "sha256:" + "a" * 64,
             "outbox_backlog": 3, "free_disk_bytes": 12_000_000_000}


@pytest.fixture
def key(conn):
    return issue_key(conn, "fast1")


def flask_only(app):
    """A client of the same app without the fast path in front (the Flask route alone)."""
    wrapped = app.wsgi_app
    app.wsgi_app = wrapped.inner
    return wrapped


def post(client, key, body: bytes, route="/api/v1/heartbeats", **headers):
    return client.post(route, data=body, headers={"x-api-key": key,
                                                  "Content-Type": "application/json", **headers})


def test_the_fast_answer_is_the_flask_routes_answer(app, client, conn, key):
    body = json.dumps(HEARTBEAT).encode()
    fast = post(client, key, body)
    wrapped = flask_only(app)
    try:
        slow = post(client, key, body)
    finally:
        app.wsgi_app = wrapped
    assert fast.status_code == slow.status_code == 200
    for name in ("Content-Type", "Access-Control-Allow-Origin"):
        assert fast.headers[name] == slow.headers[name], name
    assert int(fast.headers["Content-Length"]) == len(fast.data)
    assert list(fast.get_json()) == list(slow.get_json()) == ["status", "server_time"]
    assert fast.data.endswith(b"\n") and slow.data.endswith(b"\n")  # byte for byte but the time
    assert len(fast.data) == len(slow.data)
    # both were recorded alike: two history rows with the same kept fields
    rows = conn.execute("SELECT body, address, meter_time FROM heartbeats WHERE serial = 'fast1' "
                        "ORDER BY id").fetchall()
    assert len(rows) == 2 and rows[0]["body"] == rows[1]["body"]
    assert [r["address"] for r in rows] == ["10.0.0.7"] * 2
    m = conn.execute("SELECT heartbeats, backlog, version FROM meters WHERE serial = 'fast1'"
                     ).fetchone()
    assert (m["heartbeats"], m["backlog"], m["version"]) == (2, 3, "0.1.0")


def test_the_seed_routes_are_answered_alike(client, conn, key):
    for route in ("/heartbeat", "/heartbeats"):
        r = post(client, key, json.dumps(HEARTBEAT).encode(), route=route)
        assert r.status_code == 200 and r.get_json()["status"] == "ok"
    assert conn.execute("SELECT heartbeats FROM meters WHERE serial = 'fast1'"
                        ).fetchone()[0] == 2


@pytest.mark.parametrize(("body", "status", "field"), [
    (b"not json", 400, None),
    (b"[1, 2]", 400, None),
    (json.dumps({**HEARTBEAT, "serial": "other"}).encode(), 403, "serial"),
    (json.dumps({k: v for k, v in HEARTBEAT.items() if k != "serial"}).encode(), 400, "serial"),
    (json.dumps({**HEARTBEAT, "outbox_backlog": -1}).encode(), 400, "outbox_backlog"),
    (json.dumps({**HEARTBEAT, "agent_url": "ftp://x/"}).encode(), 400, "agent_url"),
])
def test_a_refused_heartbeat_keeps_the_flask_routes_refusal(client, conn, key, body, status,
                                                            field):
    r = post(client, key, body)
    assert r.status_code == status, r.data
    doc = r.get_json()
    assert doc["reason"] and doc.get("field") == field
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert conn.execute("SELECT count(*) FROM heartbeats").fetchone()[0] == 0


def test_a_bad_or_missing_key_is_401_and_writes_nothing(client, conn, key):
    body = json.dumps(HEARTBEAT).encode()
    for headers in ({"x-api-key": "x" * 43}, {"x-api-key": "12345"}, {}):
        r = client.post("/api/v1/heartbeats", data=body, headers=headers)
        assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"
    assert conn.execute("SELECT count(*) FROM heartbeats").fetchone()[0] == 0


def test_a_body_past_the_limit_is_413(app, client, key):
    big = json.dumps({**HEARTBEAT, "pad": "x" * app.config["MAX_CONTENT_LENGTH"]}).encode()
    r = post(client, key, big)
    assert r.status_code == 413 and r.get_json()["error"] == "too_large"


def test_options_and_other_methods_go_to_flask(client, key):
    r = client.options("/api/v1/heartbeats")
    assert r.headers["Access-Control-Allow-Methods"]
    r = client.get("/api/v1/heartbeats?serial=fast1")
    assert r.status_code == 200 and r.get_json()["items"] == []


def test_a_valid_heartbeat_never_reaches_flask(app, conn, key):
    from werkzeug.test import Client

    from tempest.web import fastpath

    def flask_must_not_run(environ, start_response):
        raise AssertionError(f"{environ['PATH_INFO']} went to Flask")

    client = Client(fastpath.wrap(app, flask_must_not_run))
    r = client.post("/api/v1/heartbeats", data=json.dumps(HEARTBEAT),
                    headers={"x-api-key": key})
    assert r.status_code == 200 and json.loads(r.data)["status"] == "ok"
    assert conn.execute("SELECT heartbeats FROM meters WHERE serial = 'fast1'"
                        ).fetchone()[0] == 1
    with pytest.raises(AssertionError, match="went to Flask"):  # and a refused one does
        client.post("/api/v1/heartbeats", data=b"{}", headers={"x-api-key": key})
