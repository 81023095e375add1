"""The MDMS push against a real reference receiver process: the three formats field by field,
failures (500, 429, stalls, 400, a long outage) and a Tempest killed mid-queue, with nothing
lost, nothing delivered twice, and never one key with two different payloads."""

from __future__ import annotations

import hashlib
import json
import time

from click.testing import CliRunner

from core import dayfile_reader
from tempest import create_app
from tempest.cli import main as tempest_cli
from tests.sinks.sinkhelpers import AUCKLAND, SYDNEY, Store, day_files, delivering, meter_raw
from tests.support.tempest import Tempest
from tests.support.tempest_client import ADMIN_TOKEN
from tests.support.waiting import wait_for

KEY = "mdms-test-key"
SYD = meter_raw("syd-1", "Australia/Sydney", SYDNEY, pv={"kwp": 5},
                faults={"missing_intervals": 0.02, "estimated": 0.02})
AKL = meter_raw("akl-1", "Pacific/Auckland", AUCKLAND, interval_min=15)


def mdms_store(tmp_path, mdms, fmt: str = "tempest", name: str = "data", **kw) -> Store:
    return Store(tmp_path / name, SINK_MDMS_URL=mdms.url, SINK_MDMS_API_KEY=KEY,
                 SINK_MDMS_FORMAT=fmt, SINK_TIMEOUT_SECONDS=1.0, **kw)


def check_no_conflicts(receiver) -> None:
    """Every key always came with the same bytes, and was accepted once."""
    bodies: dict[str, set] = {}
    for r in receiver.requests():
        bodies.setdefault(r["idempotency_key"], set()).add(r["sha256"])
        assert r["outcome"] != "conflict"
    assert all(len(v) == 1 for v in bodies.values())
    keys = [r["idempotency_key"] for r in receiver.accepted()]
    assert len(keys) == len(set(keys))


def test_the_three_formats_field_by_field(tmp_path, sink_servers):
    mdms = sink_servers.mdms().start()
    files = day_files(SYD, "2024-10-05", "2024-10-07")  # 10-06: clocks go forward (23 h)
    docs = {json.loads(t)["reading_day"]: json.loads(t) for t in files.values()}
    for fmt in ("tempest", "picos", "processing"):
        s = mdms_store(tmp_path, mdms, fmt, name=fmt)
        s.ingest(files)
        with delivering(s):
            wait_for(lambda s=s: len(s.delivered("mdms")) == len(files), 20, what=fmt)
        s.close()
    check_no_conflicts(mdms)
    got = {(r["path"], json.loads(r["body"]).get("reading_day") or json.loads(r["body"]).get(
        "day") or json.loads(r["body"])["unitOfWork"]["payloadDate"][:10]): r
        for r in mdms.accepted()}
    assert len(got) == 9
    for (path, day), r in got.items():
        body = r["body"].encode()
        assert r["idempotency_key"] == f"syd-1:{day}:{hashlib.sha256(body).hexdigest()}"
        assert r["headers"]["x-api-key"] == "***"  # sent (the receiver checks it) and masked
        assert r["headers"]["Content-Type"] == "application/json"
        doc, src = json.loads(body), docs[day]
        parsed = dayfile_reader.parse(files[f"syd-1_{day}.json"])
        if path == "/ingestions/picos":
            assert list(doc) == ["serial", "reading_day", "interval", "snapshots", "datastreams"]
            assert doc["snapshots"] == src["snapshots"]
            assert doc["datastreams"] == src["datastreams"]  # missing intervals left out
        elif path == "/ingestions/processing":
            assert list(doc) == ["meter", "unitOfWork"]
            assert doc["meter"] == {"serialNumber": "syd-1"}
            uow = doc["unitOfWork"]
            assert list(uow) == ["serialNumber", "payloadDate", "dataStreams"]
            # The day's start with the offset then: AEST until clocks go forward on the 6th.
            offset = "+11:00" if day == "2024-10-07" else "+10:00"
            assert uow["payloadDate"] == f"{day}T00:00:00{offset}"
            for stream in uow["dataStreams"]:
                assert list(stream) == ["name", "interval", "readings"]
                assert stream["interval"] == 5
                assert {x["timestamp"]: x["value"] for x in stream["readings"]} == \
                    src["datastreams"][stream["name"]]
        else:
            assert path == "/ingestions/days"
            assert doc["format"] == "tempest.day.v1"
            assert (doc["serial"], doc["day"], doc["interval"], doc["timezone"],
                    doc["status"]) == ("syd-1", day, 5, "Australia/Sydney", "sealed")
            assert doc["expected"] == len(doc["readings"]) == parsed.expected
            assert [c["name"] for c in doc["channels"]] == list(src["channels"])
            for c in doc["channels"]:
                assert c["role"] == src["channels"][c["name"]]["role"]
                assert c["opening"] == src["snapshots"][c["name"]]
                assert c["closing"] == src["closing_snapshots"][c["name"]]
            quality = {k: v for ch in src["quality"].values() for k, v in ch.items()}
            for i, reading in enumerate(doc["readings"]):
                assert reading["end"] == parsed.labels[i]
                assert reading["quality"] == quality.get(reading["end"], "actual")
                if reading["quality"] == "missing":
                    assert reading["values"] is None
                else:
                    assert reading["values"] == [src["datastreams"][c][reading["end"]]
                                                 for c in src["channels"]]
    assert sum(1 for (p, d) in got if d == "2024-10-06" and p == "/ingestions/days") == 1
    assert len(json.loads(got[("/ingestions/days", "2024-10-06")]["body"])["readings"]) == 276


def test_failures_are_retried_in_order_and_nothing_is_sent_twice(tmp_path, sink_servers):
    mdms = sink_servers.mdms(stall_seconds=2.5).start()
    s = mdms_store(tmp_path, mdms)
    files = {**day_files(SYD, "2024-05-01", "2024-05-06"),
             **day_files(AKL, "2024-05-01", "2024-05-06")}
    s.ingest(files)
    order = [(i["serial"], i["reading_day"]) for i in s.queue("mdms")]
    assert len(order) == 12
    mdms.mode("fail", count=3)
    with delivering(s):
        wait_for(lambda: sum(r["outcome"] == "failed" for r in mdms.requests()) == 3, 20)
        mdms.mode("throttle", count=2)
        wait_for(lambda: sum(r["outcome"] == "throttled" for r in mdms.requests()) == 2, 20)
        mdms.mode("stall", count=1)
        wait_for(lambda: len(s.delivered("mdms")) == 12, 30, what="all delivered")
    # The stalled push is recorded when the receiver answers it, after the sender gave up.
    wait_for(lambda: any(r["outcome"] == "stalled" for r in mdms.requests()), 10)
    outcomes = [r["outcome"] for r in mdms.requests()]
    assert outcomes.count("failed") == 3 and outcomes.count("throttled") == 2
    assert outcomes.count("stalled") == 1  # the client gave up after 1 s, then retried
    check_no_conflicts(mdms)
    accepted = [tuple(r["idempotency_key"].split(":")[:2]) for r in mdms.accepted()]
    assert accepted == order  # in queue order, each once
    assert s.queue("mdms") == []
    st = s.conn.execute("SELECT * FROM sinks WHERE name = 'mdms'").fetchone()
    assert st["delivered"] == 12 and st["failures"] == 6 and st["last_success_at"]
    # Delivered and acknowledged: a restart sends nothing again.
    with delivering(s):
        time.sleep(0.5)
    assert len(mdms.requests()) == len(outcomes)


def test_rejected_and_exhausted_days_go_dead_visible_and_retryable(tmp_path, sink_servers,
                                                                   monkeypatch):
    mdms = sink_servers.mdms().start()
    s = mdms_store(tmp_path, mdms, SINK_MAX_ATTEMPTS=3)
    s.ingest(day_files(SYD, "2024-05-01", "2024-05-04"))
    mdms.mode("reject", match="syd-1:2024-05-02:")
    with delivering(s):
        wait_for(lambda: len(s.delivered("mdms")) == 3, 20, what="the others delivered")
    (dead,) = s.queue("mdms")
    assert dead["state"] == "dead" and dead["reading_day"] == "2024-05-02"
    assert dead["last_error"] == "rejected: MDMS answered 400: " \
        '{"error": "bad_request", "reason": "told to reject"}'
    # The API shows it; retrying needs the admin token.
    app = create_app({"DATA_DIR": s.config["DATA_DIR"], "ADMIN_TOKEN": ADMIN_TOKEN})
    client = app.test_client()
    (sink,) = client.get("/api/v1/sinks").get_json()["items"]
    assert (sink["name"], sink["queued"], sink["dead"], sink["delivered"]) == ("mdms", 0, 1, 3)
    assert sink["dead_items"][0]["last_error"] == dead["last_error"]
    assert client.get("/api/v1/sinks/mdms/items?state=dead").get_json()["items"][0]["id"] == \
        dead["id"]
    assert client.post("/api/v1/sinks/mdms/retry-dead").status_code == 401
    assert client.get("/api/v1/sinks/nope").status_code == 404
    mdms.mode("ok")
    r = client.post("/api/v1/sinks/mdms/retry-dead",
                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert r.get_json() == {"sink": "mdms", "requeued": 1}
    # Five attempts that all fail (MAX_ATTEMPTS is 3): dead after three, with the reason.
    s.ingest(day_files(SYD, "2024-05-05", "2024-05-05"))
    mdms.mode("fail", match="syd-1:2024-05-05:")
    with delivering(s):
        wait_for(lambda: len(s.delivered("mdms")) == 4, 20, what="the retried day")
        wait_for(lambda: any(i["state"] == "dead" for i in s.queue("mdms")), 20)
    (dead,) = s.queue("mdms")
    assert dead["attempts"] == 3
    assert dead["last_error"].startswith("gave up after 3 attempts: MDMS answered 500")
    mdms.mode("ok")
    monkeypatch.setenv("TEMPEST_ADMIN_TOKEN", ADMIN_TOKEN)
    out = CliRunner().invoke(tempest_cli, ["sinks", "retry-dead", "--sink", "mdms",
                                           "--data-dir", s.config["DATA_DIR"]])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == {"sink": "mdms", "requeued": 1}
    with delivering(s):
        wait_for(lambda: len(s.delivered("mdms")) == 5, 20)
    check_no_conflicts(mdms)
    assert [tuple(r["idempotency_key"].split(":")[:2])[1] for r in mdms.accepted()] == [
        "2024-05-01", "2024-05-03", "2024-05-04", "2024-05-02", "2024-05-05"]


def test_a_long_outage_loses_nothing_and_delivers_in_order(tmp_path, sink_servers):
    mdms = sink_servers.mdms().start()
    s = mdms_store(tmp_path, mdms, SINK_MAX_ATTEMPTS=2)
    s.ingest(day_files(AKL, "2024-06-01", "2024-06-02"))
    with delivering(s):
        wait_for(lambda: len(s.delivered("mdms")) == 2, 20)
        mdms.stop()  # the MDMS goes away for far longer than MAX_ATTEMPTS retries take
        s.ingest(day_files(AKL, "2024-06-03", "2024-06-12"))
        s.ingest(day_files(SYD, "2024-06-01", "2024-06-05"))
        order = [(i["serial"], i["reading_day"]) for i in s.queue("mdms")]
        time.sleep(3.0)  # about 10 paused attempts at the test's 0.5 s backoff cap
        waiting = s.queue("mdms")
        assert len(waiting) == 15 and all(i["state"] == "queued" for i in waiting)
        assert all(i["attempts"] == 0 for i in waiting)  # an outage is not the item's fault
        assert "unreachable" in waiting[0]["last_error"]
        mdms.start()
        wait_for(lambda: len(s.delivered("mdms")) == 17, 30, what="all delivered")
    check_no_conflicts(mdms)
    accepted = [tuple(r["idempotency_key"].split(":")[:2]) for r in mdms.accepted()]
    assert accepted[2:] == order


def test_tempest_killed_mid_queue_loses_nothing(tmp_path, sink_servers):
    """A real `tempest serve`, killed with SIGKILL while it pushes a backlog to a slow MDMS,
    then restarted: every day arrives, none with two payloads, none lost."""
    mdms = sink_servers.mdms().start()
    s = mdms_store(tmp_path, mdms)
    files = {**day_files(SYD, "2024-07-01", "2024-07-10"),
             **day_files(AKL, "2024-07-01", "2024-07-10")}
    s.ingest(files)
    s.close()
    mdms.mode("slow", seconds=0.1)
    env = {"TEMPEST_SINK_MDMS_URL": mdms.url, "TEMPEST_SINK_MDMS_API_KEY": KEY,
           "TEMPEST_SINK_POLL_SECONDS": "0.05", "TEMPEST_SINK_BACKOFF_SECONDS": "0.05",
           "TEMPEST_SINK_BACKOFF_MAX_SECONDS": "0.5"}
    tempest = Tempest(tmp_path / "data", tmp_path / "tempest.log", **env)
    try:
        tempest.start()
        wait_for(lambda: len(mdms.accepted()) >= 6, 30, what="some delivered")
        tempest.kill9()
        assert len(mdms.accepted()) < len(files)
        tempest.start()
        wait_for(lambda: len(mdms.accepted()) == len(files), 60, what="all delivered")
        sinks = tempest.get("/api/v1/sinks").json()["items"]
        wait_for(lambda: tempest.get("/api/v1/sinks/mdms").json()["queued"] == 0, 10)
    finally:
        tempest.stop()
    assert sinks[0]["name"] == "mdms"
    check_no_conflicts(mdms)
    days = {tuple(r["idempotency_key"].split(":")[:2]) for r in mdms.accepted()}
    assert days == {(n.split("_")[0], n.split("_")[1][:10]) for n in files}
    # At most the one request in flight at the kill was sent again (as a duplicate).
    assert sum(r["outcome"] == "duplicate" for r in mdms.requests()) <= 1


def test_the_reference_mdms_refuses_a_body_cut_short_by_a_dying_sender(tmp_path, sink_servers):
    """A sender killed mid-request leaves fewer bytes than its Content-Length: those bytes are
    not the body its Idempotency-Key names, so they are neither accepted nor a conflict."""
    import socket

    mdms = sink_servers.mdms().start()
    body = json.dumps({"serial": "cut-1", "day": "2024-05-02"}).encode()
    key = f"cut-1:2024-05-02:{hashlib.sha256(body).hexdigest()}"
    head = (f"POST /ingestions/days HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"x-api-key: {KEY}\r\nIdempotency-Key: {key}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection((mdms.host, mdms.port), timeout=5) as s:
        s.sendall(head + body[:10])
        s.shutdown(socket.SHUT_WR)  # the sender is gone
        chunks = []
        while chunk := s.recv(4096):  # headers and body may come in separate packets
            chunks.append(chunk)
        answer = b"".join(chunks).decode()
    assert answer.startswith("HTTP/1.0 400") or answer.startswith("HTTP/1.1 400"), answer
    assert "cut short: 10 of" in answer
    got = wait_for(lambda: mdms.requests(), 5, what="the recorded request")
    assert [r["outcome"] for r in got] == ["incomplete"]
    assert mdms.accepted() == []
