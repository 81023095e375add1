"""The /api/v1 routes through the Flask test client: auth, bad input, uploads, reads."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tempest.ingest import dropbox
from tempest.ingest.process import Processor
from tempest.settings import DEFAULTS, layout
from tempest.web import openapi_spec
from tests.support import REPO
from tests.support.tempest_client import ADMIN_TOKEN, admin_headers
from tests.tempest.tempest_testdata import expected_values, issue_key, make_day


@pytest.fixture
def key(conn):
    return issue_key(conn, "kili")


@pytest.fixture
def ingest(app, conn):
    """Run the worker's processing over the drop folder (what the worker thread does)."""
    lay = layout(app.config)

    def run():
        proc = Processor(conn, lay, app.config)  # fresh: a test may change the settings
        return proc.process([(p, None) for p in dropbox.scan(lay.drop, 0).ready])

    return run


def upload(client, key, data, route="/api/v1/days"):
    return client.post(route, data=data, headers={"x-api-key": key,
                                                  "Content-Type": "application/json"})


# -- uploads ------------------------------------------------------------------------------------

def test_upload_is_queued_in_the_drop_folder_not_stored(app, client, conn, key, ingest):
    r = upload(client, key, make_day("kili", "2023-05-26"))
    assert r.status_code == 202
    body = r.get_json()
    assert body["status"] == "queued" and re.fullmatch(r"[0-9a-f]{20}", body["id"])
    assert body["status_url"] == f"/api/v1/ingest/{body['id']}"
    assert conn.execute("SELECT count(*) FROM days").fetchone()[0] == 0
    [placed] = list(layout(app.config).drop.iterdir())
    assert placed.name == f"kili_2023-05-26.up-{body['id']}.json"
    status = client.get(body["status_url"], headers={"x-api-key": key}).get_json()
    assert status == {"id": body["id"], "status": "queued", "serial": "kili"}
    ingest()
    status = client.get(body["status_url"], headers={"x-api-key": key}).get_json()
    assert status["status"] == "stored" and status["source"] == "upload"
    assert (status["accounted"], status["expected"]) == (288, 288)
    # the same file again: stored once
    again = upload(client, key, make_day("kili", "2023-05-26")).get_json()
    ingest()
    assert client.get(again["status_url"], headers={"x-api-key": key}).get_json()[
        "status"] == "unchanged"


@pytest.mark.parametrize("headers, status, error", [
    ({}, 401, "unauthorized"),
    ({"x-api-key": "not-a-key"}, 401, "unauthorized"),
])
def test_upload_without_a_valid_key_is_401(client, headers, status, error):
    r = client.post("/api/v1/days", data=make_day("kili", "2023-05-26"), headers=headers)
    assert r.status_code == status
    assert r.get_json()["error"] == error and r.get_json()["reason"]


def test_a_key_writes_only_its_own_serial(client, conn, key):
    issue_key(conn, "other")
    r = upload(client, key, make_day("other", "2023-05-26"))
    assert r.status_code == 403
    body = r.get_json()
    assert (body["error"], body["field"]) == ("forbidden", "serial")
    assert body["reason"].startswith("this key does not belong to the file's serial; every "
                                     "meter needs a key of its own")
    assert "docs/migrate-from-seed.md" in body["reason"]


@pytest.mark.parametrize("body, reason", [
    (b"{not json", "the body is not JSON"),
    (b"[1, 2]", "the body must be a JSON object"),
    (b"\xff\xfe", "the body is not JSON"),
])
def test_upload_that_is_not_a_json_object_is_400(client, key, body, reason):
    r = upload(client, key, body)
    assert r.status_code == 400 and r.get_json()["reason"] == reason


def test_upload_over_the_size_limit_is_413(app, client, key):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    r = upload(client, key, make_day("kili", "2023-05-26"))
    assert r.status_code == 413
    assert r.get_json()["error"] == "too_large" and "10000" in r.get_json()["reason"]


def test_invalid_upload_is_quarantined_and_answered_422(app, client, conn, key):
    data = make_day("kili", "2023-05-26").replace(b'"status": "sealed"', b'"status": "done"')
    r = upload(client, key, data)
    assert r.status_code == 422
    body = r.get_json()
    assert body["error"] == "invalid_day_file" and body["field"] == "status"
    assert body["line"] == 1 and "'done' is not one of" in body["reason"]
    lay = layout(app.config)
    assert dropbox.pending(lay.drop) == 0
    qfile = lay.quarantine / f"kili.up-{body['id']}.json"
    assert qfile.read_bytes() == data
    reason = json.loads(Path(str(qfile) + ".reason.json").read_text())
    assert (reason["field"], reason["line"], reason["id"]) == ("status", 1, body["id"])
    status = client.get(body["status_url"], headers={"x-api-key": key}).get_json()
    assert status["status"] == "quarantined" and status["field"] == "status"
    listed = client.get("/api/v1/quarantine").get_json()["items"]
    assert [q["id"] for q in listed] == [body["id"]] and listed[0]["present"]


def test_ingest_status_needs_the_same_key_or_admin(client, conn, key):
    other = issue_key(conn, "other")
    body = upload(client, key, make_day("kili", "2023-05-26")).get_json()
    assert client.get(body["status_url"]).status_code == 401
    assert client.get(body["status_url"], headers={"x-api-key": other}).status_code == 403
    assert client.get(body["status_url"], headers=admin_headers()).status_code == 200
    assert client.get("/api/v1/ingest/" + "0" * 20, headers=admin_headers()).status_code == 404
    assert client.get("/api/v1/ingest/../../etc", headers=admin_headers()).status_code == 404


def test_revoked_key_is_refused(client, conn, key):
    client.delete("/api/v1/meters/kili/key", headers=admin_headers())
    assert upload(client, key, make_day("kili", "2023-05-26")).status_code == 401


# -- heartbeats and the registry ------------------------------------------------------------------

def test_heartbeat_updates_the_registry(client, conn, key):
    hb = {"serial": "kili", "address": "127.0.0.11", "agent_url": "http://127.0.0.11:8001/",
          "timestamp": "2023-05-26T10:05:00+12:00", "version": "0.1.0",
          "config_hash": "sha256:" + "a" * 64, "outbox_backlog": 2,
          "last_tick": "2023-05-26T10:05:00+12:00", "free_disk_bytes": 10**9, "kind": "pi"}
    r = client.post("/api/v1/heartbeats", json=hb, headers={"x-api-key": key})
    assert r.status_code == 200 and r.get_json()["status"] == "ok"
    m = client.get("/api/v1/meters/kili").get_json()
    assert m["status"] == "online" and m["address"] == "127.0.0.11"
    assert m["outbox_backlog"] == 2 and m["config_hash"] == hb["config_hash"]
    assert m["clock_skew_s"] > 0 and m["key"] == "active" and m["heartbeats"] == 1
    assert "key_hash" not in json.dumps(m)
    items = client.get("/api/v1/heartbeats?serial=kili").get_json()["items"]
    assert items[0]["heartbeat"]["agent_url"] == hb["agent_url"]


@pytest.mark.parametrize("body, field", [
    ({"serial": "kili", "outbox_backlog": -1}, "outbox_backlog"),
    ({"serial": "kili", "config_hash": "md5:abc"}, "config_hash"),
    ({"serial": "kili", "agent_url": "file:///etc/passwd"}, "agent_url"),
    ({"serial": "kili", "timestamp": "yesterday"}, "timestamp"),
    ({"serial": "kili", "kind": "toaster"}, "kind"),
    ({"ip": "1.2.3.4"}, "serial"),
])
def test_bad_heartbeat_is_400_naming_the_field(client, key, body, field):
    r = client.post("/api/v1/heartbeats", json=body, headers={"x-api-key": key})
    assert r.status_code == 400 and r.get_json()["field"] == field


def test_meter_status_follows_thresholds(app, client, conn):
    now = time.time()
    for serial, age in (("a1", 10), ("a2", 600), ("a3", 7200)):
        issue_key(conn, serial)
        conn.execute("UPDATE meters SET last_seen = ? WHERE serial = ?", (now - age, serial))
    issue_key(conn, "a4")
    got = {m["serial"]: m["status"] for m in client.get("/api/v1/meters").get_json()["items"]}
    assert got == {"a1": "online", "a2": "stale", "a3": "offline", "a4": "never_seen"}
    for status, serial in (("online", "a1"), ("stale", "a2"), ("offline", "a3"),
                           ("never_seen", "a4")):
        page = client.get(f"/api/v1/meters?status={status}").get_json()
        assert [m["serial"] for m in page["items"]] == [serial] and page["total"] == 1
    summary = client.get("/api/v1/summary").get_json()
    assert summary["status"] == {"online": 1, "stale": 1, "offline": 1, "never_seen": 1}
    app.config["ONLINE_SECONDS"] = 1000
    got = client.get("/api/v1/meters/a2").get_json()["status"]
    assert got == "online"


def test_meters_are_paged(client, conn):
    for i in range(7):
        issue_key(conn, f"m{i}")
    p = client.get("/api/v1/meters?per_page=3&page=3").get_json()
    assert [m["serial"] for m in p["items"]] == ["m6"] and p["total"] == 7
    assert client.get("/api/v1/meters?q=m1").get_json()["total"] == 1
    for bad in ("per_page=0", "per_page=100000", "page=x", "status=dead", "q=../x"):
        r = client.get(f"/api/v1/meters?{bad}")
        assert r.status_code == 400, bad


# -- reads ----------------------------------------------------------------------------------------

def test_days_with_completeness_dst_aware(client, key, ingest):
    upload(client, key, make_day("kili", "2023-04-02", status="open", upto=150, missing=(3,)))
    upload(client, key, make_day("kili", "2023-09-24"))  # NZ clocks go forward: 23 h
    upload(client, key, make_day("kili", "2023-05-26", estimated=(1, 2)))
    ingest()
    days = client.get("/api/v1/meters/kili/days").get_json()
    assert days["total"] == 3
    by_day = {d["day"]: d for d in days["items"]}
    assert [d["day"] for d in days["items"]] == ["2023-09-24", "2023-05-26", "2023-04-02"]
    back = by_day["2023-04-02"]
    assert (back["expected"], back["accounted"], back["recorded"], back["missing"]) == (
        300, 150, 149, 1)
    assert back["completeness"] == 0.5 and back["status"] == "open"
    assert by_day["2023-09-24"]["expected"] == 276 and by_day["2023-09-24"]["completeness"] == 1
    assert by_day["2023-05-26"]["estimated"] == 2
    ranged = client.get("/api/v1/meters/kili/days?from=2023-05-01&to=2023-06-01").get_json()
    assert [d["day"] for d in ranged["items"]] == ["2023-05-26"]


def test_one_days_readings(client, key, ingest):
    upload(client, key, make_day("kili", "2023-05-26", missing=(0,), estimated=(5,)))
    ingest()
    day = client.get("/api/v1/meters/kili/days/2023-05-26").get_json()
    assert len(day["timestamps"]) == 288 and day["timestamps"][0] == "2023-05-26T00:05:00+12:00"
    assert day["timestamps"][-1] == "2023-05-27T00:00:00+12:00"
    want = expected_values("kili", "2023-05-26", missing=(0,))
    for name in ("Total", "Sub1", "Sub2"):
        got = day["channels"][name]["values"]
        assert got == [None if v is None else v / 1000 for v in want[name]]
    assert day["quality"][:6] == ["missing", "actual", "actual", "actual", "actual",
                                  "estimated"]
    assert day["channels"]["Total"]["role"] == "import"
    total = day["channels"]["Total"]
    assert round((total["closing"] - total["opening"]) * 1000) == round(total["total"] * 1000)
    one = client.get("/api/v1/meters/kili/days/2023-05-26/channels/Sub1").get_json()
    assert one["readings"][1] == {"timestamp": "2023-05-26T00:10:00+12:00",
                                  "value": want["Sub1"][1] / 1000, "quality": "actual"}
    raw = client.get("/api/v1/meters/kili/days/2023-05-26/file")
    assert raw.data == make_day("kili", "2023-05-26", missing=(0,), estimated=(5,))
    files = client.get("/api/v1/meters/kili/files").get_json()["items"]
    assert files[0]["outcome"] == "stored" and files[0]["source"] == "upload"


@pytest.mark.parametrize("path, status", [
    ("/api/v1/meters/nobody", 404),
    ("/api/v1/meters/..%2f..%2fetc", 404),
    ("/api/v1/meters/a..b", 400),
    ("/api/v1/meters/.hidden/days", 400),
    ("/api/v1/meters/kili/days/2023-02-30", 400),
    ("/api/v1/meters/kili/days/2023-05-27", 404),
    ("/api/v1/meters/kili/days/2023-05-26/channels/Nope", 404),
    ("/api/v1/meters/kili/days/2023-05-26/channels/..", 404),
    ("/api/v1/meters/kili/readings?from=2023-05-01", 400),
    ("/api/v1/meters/kili/readings?from=2023-05-01&to=2023-04-01", 400),
    ("/api/v1/meters/kili/readings?from=2023-01-01&to=2023-12-31&resolution=interval", 400),
    ("/api/v1/meters/kili/readings?from=2023-05-01&to=2023-05-02&resolution=minute", 400),
    ("/api/v1/ingest-log?before=x", 400),
    ("/api/v1/quarantine/zz", 404),
])
def test_bad_reads_are_4xx_json(client, key, ingest, path, status):
    upload(client, key, make_day("kili", "2023-05-26"))
    ingest()
    r = client.get(path)
    assert r.status_code == status, r.get_json()
    assert set(r.get_json()) >= {"error", "reason"}


def test_range_resampling(client, key, ingest):
    upload(client, key, make_day("kili", "2023-05-26"))
    upload(client, key, make_day("kili", "2023-05-27", status="open", upto=24))
    ingest()
    want = expected_values("kili", "2023-05-26")["Total"]
    hour = client.get("/api/v1/meters/kili/readings?from=2023-05-26&to=2023-05-27"
                      "&resolution=hour&channel=Total").get_json()
    assert hour["channels"] == ["Total"] and len(hour["timestamps"]) == 48
    assert hour["timestamps"][0] == "2023-05-26T01:00:00+12:00"
    assert hour["values"]["Total"][0] == sum(want[:12]) / 1000
    assert hour["recorded"][:2] == [12, 12] and hour["expected"][24:27] == [12, 12, 12]
    assert hour["recorded"][24:27] == [12, 12, 0] and hour["values"]["Total"][26] is None
    day = client.get("/api/v1/meters/kili/readings?from=2023-05-26&to=2023-05-27"
                     "&resolution=day").get_json()
    assert day["timestamps"] == ["2023-05-26", "2023-05-27"]
    assert day["values"]["Total"][0] == sum(want) / 1000
    assert day["channels"] == ["Total", "Sub1", "Sub2"]
    half = client.get("/api/v1/meters/kili/readings?from=2023-05-26&to=2023-05-26"
                      "&resolution=30min").get_json()
    assert len(half["timestamps"]) == 48 and half["expected"][0] == 6
    raw = client.get("/api/v1/meters/kili/readings?from=2023-05-26&to=2023-05-26").get_json()
    assert raw["values"]["Sub1"] == [v / 1000 for v in expected_values(
        "kili", "2023-05-26")["Sub1"]]


def test_ingest_log_and_summary(client, key, ingest):
    upload(client, key, make_day("kili", "2023-05-26", status="open", upto=10))
    upload(client, key, make_day("kili", "2023-05-26"))
    ingest()
    log = client.get("/api/v1/ingest-log?serial=kili").get_json()["items"]
    assert [e["event"] for e in log] == ["replaced", "stored"]
    older = client.get(f"/api/v1/ingest-log?before={log[0]['id']}").get_json()["items"]
    assert [e["event"] for e in older] == ["stored"]
    s = client.get("/api/v1/summary").get_json()
    assert (s["meters"], s["days_stored"], s["files_archived"], s["drop_pending"]) == (
        1, 1, 2, 0)


# -- admin ----------------------------------------------------------------------------------------

def test_admin_routes_need_the_admin_token(app, client, key):
    r = client.post("/api/v1/meters", json={"serial": "new1"})
    assert r.status_code == 401
    r = client.post("/api/v1/meters", json={"serial": "new1"}, headers={"x-api-key": key})
    assert r.status_code == 403 and "admin only" in r.get_json()["reason"]
    r = client.post("/api/v1/meters", json={"serial": "new1"},
                    headers={"x-admin-token": "wrong"})
    assert r.status_code == 401
    app.config["ADMIN_TOKEN"] = None
    r = client.post("/api/v1/meters", json={"serial": "new1"},
                    headers={"x-admin-token": ADMIN_TOKEN})
    assert r.status_code == 403 and "TEMPEST_ADMIN_TOKEN" in r.get_json()["reason"]


def test_admin_manages_meters_idempotently(client):
    h = admin_headers()
    r = client.post("/api/v1/meters", json={"serial": "new1", "timezone": "Europe/Berlin"},
                    headers=h)
    assert r.status_code == 201 and len(r.get_json()["key"]) >= 40
    key = r.get_json()["key"]
    again = client.post("/api/v1/meters", json={"serial": "new1"}, headers=h)
    assert again.status_code == 200 and "key" not in again.get_json()
    hb = client.post("/api/v1/heartbeats", json={"serial": "new1"}, headers={"x-api-key": key})
    assert hb.status_code == 200  # the first key still works
    rotated = client.post("/api/v1/meters/new1/key", headers=h).get_json()["key"]
    assert rotated != key
    assert client.post("/api/v1/heartbeats", json={"serial": "new1"},
                       headers={"x-api-key": key}).status_code == 401
    assert client.patch("/api/v1/meters/new1", json={"timezone": "Mars/Olympus"},
                        headers=h).status_code == 400
    assert client.patch("/api/v1/meters/new1", json={"timezone": "Asia/Tokyo"},
                        headers=h).status_code == 200
    assert client.get("/api/v1/meters/new1").get_json()["timezone"] == "Asia/Tokyo"
    assert client.post("/api/v1/meters", json={"serial": "../x"}, headers=h).status_code == 400
    given = client.post("/api/v1/meters", json={"serial": "new1", "key": "x" * 20}, headers=h)
    assert given.status_code == 409


def test_quarantine_reingest_and_discard(app, client, conn, ingest):
    lay = layout(app.config)
    issue_key(conn, "kili")  # ingest stores days only of meters Tempest knows
    app.config["MAX_CONTENT_LENGTH"] = 5000
    dropbox.write_atomic(lay.drop, "big.json", make_day("kili", "2023-05-26"))
    dropbox.write_atomic(lay.drop, "junk.json", b"junk")
    ingest()
    items = {q["original_name"]: q for q in client.get("/api/v1/quarantine").get_json()["items"]}
    assert set(items) == {"big.json", "junk.json"}
    junk, big = items["junk.json"]["id"], items["big.json"]["id"]
    assert client.post(f"/api/v1/quarantine/{junk}/reingest").status_code == 401
    assert client.get(f"/api/v1/quarantine/{junk}/file", headers=admin_headers()).data == b"junk"
    assert client.delete(f"/api/v1/quarantine/{junk}", headers=admin_headers()).status_code == 200
    assert client.delete(f"/api/v1/quarantine/{junk}", headers=admin_headers()).status_code == 409
    assert not (lay.quarantine / items["junk.json"]["file"]).exists()
    # The operator raises the limit, then sends the big file through again.
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    r = client.post(f"/api/v1/quarantine/{big}/reingest", headers=admin_headers())
    assert r.status_code == 202
    new_id = r.get_json()["id"]
    assert dropbox.pending(lay.drop) == 1
    assert client.get(r.get_json()["status_url"], headers=admin_headers()).get_json()[
        "status"] == "queued"
    ingest()
    assert client.get(f"/api/v1/ingest/{new_id}", headers=admin_headers()).get_json()[
        "status"] == "stored"
    assert client.get("/api/v1/quarantine").get_json()["items"] == []
    assert list(lay.quarantine.iterdir()) == []
    everything = client.get("/api/v1/quarantine?all=1").get_json()["items"]
    assert {q["resolution"] for q in everything} == {"discarded", f"reingested as {new_id}"}
    files = client.get("/api/v1/meters/kili/files").get_json()["items"]
    assert files[0]["source"] == "reingest"


# -- documentation ------------------------------------------------------------------------------

def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def _ui(rule) -> bool:
    """The web UI's pages and page data (under /ui) are not API: docs/ui.md lists them."""
    return rule.rule == "/ui" or rule.rule.startswith("/ui/")


def test_every_route_is_in_the_openapi_document(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or _ui(rule):
            continue
        path = _openapi_path(rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method.lower()))
            assert path in doc["paths"], f"{path} is not documented"
            assert method.lower() in doc["paths"][path], f"{method} {path} is not documented"
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    assert documented == routes  # nothing documented that does not exist
    assert doc["paths"] == openapi_spec.paths()


def test_every_route_and_setting_is_in_the_docs(app):
    """Each route as "METHOD /path" and each setting as TEMPEST_NAME somewhere in docs/
    (api.md and operations.md for the head-end's own; a part may document its own page)."""
    docs = "\n".join(p.read_text() for p in sorted((REPO / "docs").glob("*.md")))
    for rule in app.url_map.iter_rules():
        path = _openapi_path(rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert f"{method} {path}" in docs, f"docs/ lacks {method} {path}"
    for name in DEFAULTS:
        assert f"TEMPEST_{name}" in docs, f"docs/ lacks TEMPEST_{name}"


def test_errors_and_cors(client):
    r = client.get("/no/such/route")
    assert r.status_code == 404 and r.get_json()["error"] == "not_found"
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    r = client.options("/update")
    assert r.status_code == 200 and "x-api-key" in r.headers["Access-Control-Allow-Headers"]
    r = client.put("/api/v1/days")
    assert r.status_code == 405 and r.get_json()["error"] == "method_not_allowed"


def test_resampling_on_days_clocks_change(client, key, ingest):
    upload(client, key, make_day("kili", "2023-04-02"))  # NZ clocks go back: 25 hours
    upload(client, key, make_day("kili", "2023-09-24"))  # forward: 23 hours
    ingest()
    back = client.get("/api/v1/meters/kili/readings?from=2023-04-02&to=2023-04-02"
                      "&resolution=hour").get_json()
    assert len(back["timestamps"]) == 25 and set(back["expected"]) == {12}
    assert back["timestamps"][1:4] == ["2023-04-02T02:00:00+13:00", "2023-04-02T02:00:00+12:00",
                                       "2023-04-02T03:00:00+12:00"]
    want = expected_values("kili", "2023-04-02")["Total"]
    assert sum(round(v * 1000) for v in back["values"]["Total"]) == sum(want)
    forward = client.get("/api/v1/meters/kili/readings?from=2023-09-24&to=2023-09-24"
                         "&resolution=hour").get_json()
    assert len(forward["timestamps"]) == 23 and set(forward["expected"]) == {12}
    assert forward["timestamps"][1:3] == ["2023-09-24T03:00:00+13:00",
                                          "2023-09-24T04:00:00+13:00"]
    day = client.get("/api/v1/meters/kili/readings?from=2023-04-02&to=2023-09-24"
                     "&resolution=day").get_json()
    assert day["timestamps"] == ["2023-04-02", "2023-09-24"] and day["expected"] == [300, 276]


def test_upload_when_the_drop_folder_cannot_be_written_is_503(app, client, key):
    drop = layout(app.config).drop
    drop.rmdir()
    drop.write_text("not a folder")  # writes into it now fail, as on a broken disk
    r = upload(client, key, make_day("kili", "2023-05-26"))
    assert r.status_code == 503 and r.get_json()["error"] == "unavailable"
