"""A data concentrator's batches against a real Tempest: per-item verdicts, key scope, limits,
bad bodies, and its registry through the CLI and the admin API (docs/concentrator.md)."""

from __future__ import annotations

import json

import pytest

from tempest.cli import main
from tests.tempest.tempest_testdata import make_day

DAYS = "api/v1/concentrator/days"
HEARTBEATS = "api/v1/concentrator/heartbeats"


def cli(runner, tempest, *args, stdin=None):
    return runner.invoke(main, [*args, "--data-dir", str(tempest.data_dir)], input=stdin)


def add_concentrator(runner, tempest, cid: str, *serials: str) -> str:
    res = cli(runner, tempest, "concentrators", "add", cid)
    assert res.exit_code == 0, res.output
    key = res.stdout.strip().splitlines()[-1]
    if serials:
        res = cli(runner, tempest, "concentrators", "assign", cid, *serials)
        assert res.exit_code == 0, res.output
    return key


def batch(tempest, key, files: list, route=DAYS, field="files"):
    return tempest.post(route, headers={"x-api-key": key}, json={field: files})


def text(serial: str, day: str, **kw) -> str:
    return make_day(serial, day, **kw).decode()


@pytest.fixture
def tempest(make_tempest):
    return make_tempest(TEMPEST_CONCENTRATOR_MAX_BATCH_BYTES=400_000,
                        TEMPEST_CONCENTRATOR_MAX_BATCH_ITEMS=20,
                        TEMPEST_MAX_CONTENT_LENGTH=60_000).start()


def test_one_bad_file_loses_nothing_else(tempest, runner):
    key = add_concentrator(runner, tempest, "dcu-1", "m-0001", "m-0002")
    bad = text("m-0002", "2023-05-27").replace('"sealed"', '"done"', 1)
    good = [text("m-0001", "2023-05-26"), text("m-0002", "2023-05-26")]
    r = batch(tempest, key, [good[0], bad, good[1]])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["concentrator"], body["accepted"], body["refused"]) == ("dcu-1", 2, 1)
    ok1, refused, ok2 = body["items"]
    assert [ok1["index"], refused["index"], ok2["index"]] == [0, 1, 2]
    assert ok1["verdict"] == "accepted" and ok1["http"] == 202 and ok1["status"] == "queued"
    assert refused["verdict"] == "refused" and refused["http"] == 422
    assert refused["error"] == "invalid_day_file" and refused["field"] == "status"
    assert refused["serial"] == "m-0002" and refused["id"]
    tempest.wait_days("m-0001", ["2023-05-26"])
    tempest.wait_days("m-0002", ["2023-05-26"])
    # each stored byte for byte, as its text in the batch
    assert tempest.day_file("m-0001", "2023-05-26") == good[0].encode()
    assert tempest.day_file("m-0002", "2023-05-26") == good[1].encode()
    # the bad one is in quarantine, its reason kept, as after a single upload
    q = tempest.get(f"api/v1/quarantine/{refused['id']}").json()
    assert q["serial"] == "m-0002" and q["field"] == "status"
    assert "2023-05-27" not in tempest.days("m-0002")
    # the concentrator follows its verdicts' status_url; another concentrator may not
    status = tempest.get(ok1["status_url"], headers={"x-api-key": key}).json()
    assert status["serial"] == "m-0001" and status["status"] in ("queued", "stored")
    other = add_concentrator(runner, tempest, "dcu-2")
    r = tempest.get(ok1["status_url"], headers={"x-api-key": other})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert tempest.get(ok1["status_url"], headers={"x-api-key": "x" * 40}).status_code == 401


def test_a_meter_moved_to_another_concentrator_is_refused_on_the_old_one(tempest, runner):
    old = add_concentrator(runner, tempest, "dcu-a", "m-0001", "m-0002")
    new = add_concentrator(runner, tempest, "dcu-b")
    res = cli(runner, tempest, "concentrators", "assign", "dcu-b", "m-0002")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["moved"] == [{"serial": "m-0002", "from": "dcu-a"}]
    r = batch(tempest, old, [text("m-0001", "2023-05-26"), text("m-0002", "2023-05-26")])
    kept, moved = r.json()["items"]
    assert kept["verdict"] == "accepted"
    assert (moved["verdict"], moved["http"], moved["error"], moved["field"]) == (
        "refused", 403, "forbidden", "serial")
    assert "not registered behind this concentrator" in moved["reason"]
    hb = batch(tempest, old, [{"serial": "m-0002"}], HEARTBEATS, "heartbeats").json()
    assert hb["items"][0]["http"] == 403 and hb["refused"] == 1
    assert tempest.heartbeats("m-0002") == []
    # the new one may
    r = batch(tempest, new, [text("m-0002", "2023-05-26")])
    assert r.json()["accepted"] == 1
    tempest.wait_days("m-0002", ["2023-05-26"])
    # a meter behind no concentrator at all is refused alike
    r = batch(tempest, new, [text("stranger", "2023-05-26")])
    assert r.json()["items"][0]["http"] == 403


def test_keys_open_only_their_own_routes(tempest, runner):
    key = add_concentrator(runner, tempest, "dcu-1", "m-0001")
    meter_key = tempest.add_meter("solo")
    day = text("m-0001", "2023-05-26")
    for sent in ("x" * 43, meter_key, None):
        headers = {"x-api-key": sent} if sent else {}
        r = tempest.post(DAYS, headers=headers, json={"files": [day]})
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        r = tempest.post(HEARTBEATS, headers=headers, json={"heartbeats": []})
        assert r.status_code == 401
    # a concentrator key is not a meter key: the per-meter routes refuse it
    r = tempest.post("api/v1/days", data=day, headers={"x-api-key": key})
    assert r.status_code == 401
    r = tempest.post("api/v1/heartbeats", json={"serial": "m-0001"}, headers={"x-api-key": key})
    assert r.status_code == 401
    # revoked: 401 from then on
    assert cli(runner, tempest, "concentrators", "revoke", "dcu-1").exit_code == 0
    assert batch(tempest, key, [day]).status_code == 401


def test_limits_are_413_and_bad_bodies_400_naming_the_field(tempest, runner):
    key = add_concentrator(runner, tempest, "dcu-1", "m-0001")
    day = text("m-0001", "2023-05-26")
    big = [day] * 40  # about 40 x 17 kB: over the 400,000-byte batch limit
    r = batch(tempest, key, big)
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    assert "400000-byte" in r.json()["reason"]
    r = batch(tempest, key, [day[:10]] * 21)  # more items than TEMPEST_..._MAX_BATCH_ITEMS
    assert r.status_code == 413 and r.json()["field"] == "files"
    # one file over the per-file limit (TEMPEST_MAX_CONTENT_LENGTH) is refused alone
    huge = json.dumps({**json.loads(day), "padding": "x" * 70_000})
    r = batch(tempest, key, [huge, day])
    first, second = r.json()["items"]
    assert (first["http"], first["error"]) == (413, "too_large")
    assert second["verdict"] == "accepted"
    # bad bodies
    r = tempest.post(DAYS, headers={"x-api-key": key}, data=b"{not json")
    assert r.status_code == 400 and r.json()["error"] == "bad_request"
    r = batch(tempest, key, {"a": 1})
    assert r.status_code == 400 and r.json()["field"] == "files"
    r = tempest.post(DAYS, headers={"x-api-key": key}, json={"heartbeats": []})
    assert r.status_code == 400 and r.json()["field"] == "files"
    r = batch(tempest, key, [42, "{}", "not json"])
    items = r.json()["items"]
    assert [i["http"] for i in items] == [400, 400, 400]
    assert items[0]["field"] == "files[0]" and items[1]["field"] == "serial"


def test_batched_heartbeats_are_checked_as_single_ones(tempest, runner):
    key = add_concentrator(runner, tempest, "dcu-1", "m-0001", "m-0002")
    r = batch(tempest, key, [{"serial": "m-0001", "version": "1.0", "outbox_backlog": 3},
                             {"serial": "m-0002", "outbox_backlog": -1}, "nope"],
              HEARTBEATS, "heartbeats")
    assert r.status_code == 200
    body = r.json()
    assert body["server_time"] and (body["accepted"], body["refused"]) == (1, 2)
    ok, bad, nope = body["items"]
    assert ok == {"index": 0, "verdict": "accepted", "http": 200, "serial": "m-0001",
                  "status": "ok"}
    assert (bad["http"], bad["field"], bad["serial"]) == (400, "outbox_backlog", "m-0002")
    assert nope["field"] == "heartbeats[2]"
    [seen] = tempest.heartbeats("m-0001")
    assert seen["outbox_backlog"] == 3
    meter = tempest.get("api/v1/meters/m-0001").json()
    assert meter["status"] == "online" and meter["version"] == "1.0"
    listed = tempest.get("api/v1/concentrators").json()["items"]
    assert listed[0]["id"] == "dcu-1" and listed[0]["last_seen"] and listed[0]["meters"] == 2


def test_the_admin_api_registers_assigns_moves_and_releases(tempest):
    r = tempest.admin("POST", "api/v1/concentrators", json={"id": "dcu-1"})
    assert r.status_code == 201 and len(r.json()["key"]) >= 16
    again = tempest.admin("POST", "api/v1/concentrators", json={"id": "dcu-1"})
    assert again.status_code == 200 and "key" not in again.json()
    tempest.admin("POST", "api/v1/concentrators", json={"id": "dcu-2"})
    r = tempest.admin("POST", "api/v1/concentrators/dcu-1/meters",
                      json={"serials": ["a-1", "a-2"]})
    assert r.json() == {"id": "dcu-1", "assigned": ["a-1", "a-2"], "moved": [], "unchanged": 0}
    r = tempest.admin("POST", "api/v1/concentrators/dcu-2/meters", json={"serials": ["a-2"]})
    assert r.json()["moved"] == [{"serial": "a-2", "from": "dcu-1"}]
    assert tempest.get("api/v1/concentrators/dcu-1").json()["serials"] == ["a-1"]
    r = tempest.admin("DELETE", "api/v1/concentrators/dcu-1/meters/a-1")
    assert r.json()["released"] is True
    assert tempest.admin("DELETE", "api/v1/concentrators/dcu-1/meters/a-1").status_code == 404
    # bad input: 400 naming the field; no token: 401; unknown: 404
    r = tempest.admin("POST", "api/v1/concentrators/dcu-1/meters", json={"serials": ["ok", "../x"]})
    assert r.status_code == 400 and r.json()["field"] == "serials[1]"
    r = tempest.admin("POST", "api/v1/concentrators", json={"id": "bad id"})
    assert r.status_code == 400 and r.json()["field"] == "id"
    r = tempest.admin("POST", "api/v1/concentrators", json={"id": "dcu-3", "key": "short"})
    assert r.status_code == 400 and r.json()["field"] == "key"
    assert tempest.post("api/v1/concentrators", json={"id": "dcu-9"}).status_code == 401
    assert tempest.get("api/v1/concentrators/nope").status_code == 404
    # a key a meter holds is never a concentrator's
    meter_key = tempest.add_meter("solo")
    r = tempest.admin("POST", "api/v1/concentrators", json={"id": "dcu-4", "key": meter_key})
    assert r.status_code == 409 and r.json()["field"] == "key"
    r = tempest.admin("DELETE", "api/v1/concentrators/dcu-2/key")
    assert r.json() == {"id": "dcu-2", "revoked": True}


def test_cli_bad_input_exits_2_naming_the_option(tempest, runner):
    res = cli(runner, tempest, "concentrators", "add", "bad id")
    assert res.exit_code == 2 and "ID" in res.output
    add_concentrator(runner, tempest, "dcu-1")
    res = cli(runner, tempest, "concentrators", "assign", "dcu-1", "--base", "h")
    assert res.exit_code == 2 and "--base" in res.output
    res = cli(runner, tempest, "concentrators", "assign", "dcu-1", "--base", "h", "--count", "0")
    assert res.exit_code == 2 and "--count" in res.output
    res = cli(runner, tempest, "concentrators", "assign", "nope", "m-1")
    assert res.exit_code == 2 and "no concentrator nope" in res.output
    res = cli(runner, tempest, "concentrators", "assign", "dcu-1", "ok", "../x")
    assert res.exit_code == 2 and "SERIAL" in res.output
    res = cli(runner, tempest, "concentrators", "add", "dcu-2", "--key-stdin", stdin="short\n")
    assert res.exit_code == 2 and "--key-stdin" in res.output
    # a range as a bulk host derives it
    res = cli(runner, tempest, "concentrators", "assign", "dcu-1", "--base", "h", "--count", "3")
    assert res.exit_code == 0 and json.loads(res.stdout)["assigned"] == 3
    shown = json.loads(cli(runner, tempest, "concentrators", "show", "dcu-1").stdout)
    assert shown["serials"] == ["h-0001", "h-0002", "h-0003"]
    listed = cli(runner, tempest, "concentrators", "list").stdout
    assert "dcu-1" in listed and " 3 " in listed
