"""Tempest under gunicorn with its event-loop worker (tempest/web/loopworker.py), a real gunicorn
and a real ingest worker: the same answers as under the sync worker for heartbeats, uploads and
the API, and a clear JSON refusal for what is not HTTP, too large or too slow."""

from __future__ import annotations

import json
import socket

import pytest
import requests

from tests.support.waiting import wait_for
from tests.tempest.tempest_testdata import make_day

LOOP = "tempest.web.loopworker.LoopWorker"
HEARTBEAT = {"serial": "lw1", "kind": "pi", "version": "0.1.0", "address": "10.0.0.7",
             "timestamp": "2026-11-20T10:00:00+00:00", "outbox_backlog": 0}
DAY = "2026-11-19"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """One Tempest under each worker class, each with meter lw1 (same key)."""
    from tests.support.tempest import Tempest

    made = {}
    try:
        for name, klass in (("sync", ""), ("loop", LOOP)):
            folder = tmp_path_factory.mktemp(name)
            tempest = Tempest(folder / "data", folder / "tempest.log", gunicorn_workers=2,
                              worker_class=klass, GUNICORN_CMD_ARGS="--timeout 3")
            made[name] = tempest
            tempest.key = tempest.add_meter("lw1", "lw1-key-0123456789abcdef")
            tempest.start(timeout=60)
        yield made
    finally:
        for tempest in made.values():
            tempest.stop()


def raw(tempest, data: bytes, *, shut: bool = True, timeout: float = 10) -> bytes:
    """Send bytes as they are and read the answer to the server's close."""
    with socket.create_connection((tempest.host, tempest.port), timeout=timeout) as s:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_and_json(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head[9:12]), json.loads(body)


def post_heartbeat(tempest, body=HEARTBEAT, key=None):
    return requests.post(f"{tempest.url}/api/v1/heartbeats", json=body, timeout=10,
                         headers={"x-api-key": key or tempest.key})


def test_a_heartbeat_is_answered_and_recorded_as_under_the_sync_worker(servers):
    answers = {name: post_heartbeat(t) for name, t in servers.items()}
    for name, r in answers.items():
        assert r.status_code == 200, (name, r.text)
        assert r.headers["Content-Type"] == "application/json"
        assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert answers["loop"].json().keys() == answers["sync"].json().keys() == {"status",
                                                                               "server_time"}
    loop = servers["loop"]
    seen = wait_for(lambda: loop.heartbeats("lw1") or None, 10, what="the heartbeat stored")
    assert seen[0]["address"] == "10.0.0.7"


@pytest.mark.parametrize("body, key, status", [
    ({**HEARTBEAT, "serial": "someone-else"}, None, 403),
    (HEARTBEAT, "not-a-key-of-anyone-0000", 401),
    ({**HEARTBEAT, "outbox_backlog": -1}, None, 400),
])
def test_a_refused_heartbeat_gets_the_same_refusal(servers, body, key, status):
    got = {name: post_heartbeat(t, body, key) for name, t in servers.items()}
    assert got["sync"].status_code == status, got["sync"].text
    assert got["loop"].status_code == status
    assert got["loop"].json() == got["sync"].json()


def test_an_upload_is_taken_and_stored(servers):
    loop = servers["loop"]
    day = make_day("lw1", DAY, zone="UTC")
    r = requests.post(f"{loop.url}/api/v1/days", data=day, timeout=30,
                      headers={"x-api-key": loop.key, "Content-Type": "application/json"})
    assert r.status_code == 202, r.text
    assert r.json()["reading_day"] == DAY
    loop.wait_days("lw1", [DAY])
    assert loop.day_file("lw1", DAY) == day


def test_the_api_and_its_large_answers_are_the_same_bytes(servers):
    # Served from the worker's threads, written back through the loop piece by piece.
    got = {name: requests.get(t.endpoint("api/v1/openapi.json"), timeout=30)
           for name, t in servers.items()}
    assert got["loop"].status_code == 200
    assert len(got["loop"].content) > 10_000
    assert got["loop"].content == got["sync"].content
    meters = servers["loop"].admin("GET", "api/v1/meters")
    assert meters.status_code == 200 and meters.json()["items"][0]["serial"] == "lw1"


def test_a_chunked_heartbeat_is_read_whole(servers):
    loop = servers["loop"]
    body = json.dumps(HEARTBEAT).encode()
    request = (f"POST /api/v1/heartbeats HTTP/1.1\r\nHost: x\r\nx-api-key: {loop.key}\r\n"
               "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
               f"{len(body):x}\r\n").encode() + body + b"\r\n0\r\n\r\n"
    status, answer = status_and_json(raw(loop, request))
    assert status == 200 and answer["status"] == "ok"


def test_expect_100_continue_is_honoured(servers):
    loop = servers["loop"]
    body = json.dumps(HEARTBEAT).encode()
    head = (f"POST /api/v1/heartbeats HTTP/1.1\r\nHost: x\r\nx-api-key: {loop.key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Expect: 100-continue\r\n\r\n").encode()
    with socket.create_connection((loop.host, loop.port), timeout=10) as s:
        s.sendall(head)
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(body)
        answer = b"".join(iter(lambda: s.recv(65536), b""))
    assert status_and_json(answer)[0] == 200


def test_what_is_not_http_is_400_with_a_reason(servers):
    status, answer = status_and_json(raw(servers["loop"], b"GARBAGE \x00\x01\r\n\r\n"))
    assert status == 400
    assert answer["error"] == "bad_request" and "HTTP" in answer["reason"]


def test_a_connection_cut_before_a_whole_request_is_400(servers):
    status, answer = status_and_json(raw(servers["loop"], b"POST /api/v1/heartbeats HTTP/1.1\r\n"
                                                         b"Content-Length: 50\r\n\r\n{}"))
    assert status == 400 and "ended before" in answer["reason"]


def test_a_header_past_the_limit_is_431(servers):
    request = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"
    status, answer = status_and_json(raw(servers["loop"], request))
    assert status == 431 and answer["error"] == "request_header_fields_too_large"


def test_a_body_past_tempests_limit_is_413_before_it_is_sent(servers):
    # Only the head is sent: the answer must come without the 3 MB it announces.
    loop = servers["loop"]
    head = (f"POST /api/v1/days HTTP/1.1\r\nHost: x\r\nx-api-key: {loop.key}\r\n"
            "Content-Type: application/json\r\nContent-Length: 3000000\r\n\r\n").encode()
    status, answer = status_and_json(raw(loop, head, shut=False))
    assert status == 413 and answer["error"] == "too_large"


def test_a_client_that_sends_nothing_is_dropped_after_the_timeout(servers):
    loop = servers["loop"]  # started with --timeout 3
    with socket.create_connection((loop.host, loop.port), timeout=15) as s:
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\n")
        assert s.recv(100) == b""  # closed by the worker, with nothing sent
    assert requests.get(loop.endpoint("api/v1/health"), timeout=10).ok  # still serving


def test_a_graceful_stop_writes_buffered_heartbeats(make_tempest):
    tempest = make_tempest(gunicorn_workers=1, ingest=False, worker_class=LOOP,
                           TEMPEST_HEARTBEAT_FLUSH_SECONDS=10)  # never flushed by time here
    key = tempest.add_meter("lw1", "lw1-key-0123456789abcdef")
    tempest.start(timeout=60)
    for _ in range(3):
        assert post_heartbeat(tempest, key=key).status_code == 200
    tempest.stop()  # SIGTERM: the worker finishes and writes them on its way out
    from tempest.db import connect
    from tests.support.tempest import store_of

    conn = connect(store_of(tempest.data_dir))
    try:
        assert conn.execute("SELECT COUNT(*) FROM heartbeats WHERE serial = 'lw1'"
                            ).fetchone()[0] == 3
    finally:
        conn.close()
