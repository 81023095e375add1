"""The seed's routes answer with the seed's exact JSON shapes (docs/seed.md)."""

from __future__ import annotations

import json

import pytest

from tempest.ingest import dropbox
from tempest.ingest.process import Processor
from tempest.settings import layout
from tests.tempest.tempest_testdata import flat_payload, issue_key, make_day, seed_payload


@pytest.fixture
def loaded(app, client, conn):
    """kili: a current-shape day and a seed 1.x day; mac: a flat day; idle: no data."""
    key = issue_key(conn, "kili")
    mac = issue_key(conn, "mac", timezone="Pacific/Auckland")
    issue_key(conn, "idle")
    h = {"x-api-key": key}
    assert client.post("/update", data=make_day("kili", "2023-05-26"), headers=h).status_code \
        == 202
    assert client.post("/update", data=seed_payload("kili", "2023-05-25"),
                       headers=h).status_code == 202
    assert client.post("/update", data=flat_payload("mac", "2023-04-02"),
                       headers={"x-api-key": mac}).status_code == 202
    assert client.post("/heartbeat", json={"serial": "kili", "ip": "192.168.86.40",
                                            "timestamp": "2023-05-26T10:05:00+12:00"},
                       headers=h).status_code == 200
    lay = layout(app.config)
    Processor(conn, lay, app.config).process([(p, None) for p in dropbox.scan(lay.drop, 0).ready])
    return key


def test_index(client):
    body = client.get("/").get_json()
    assert list(body) == ["entity", "ip", "now", "timestamp"] and body["entity"] == "tempest"
    assert isinstance(body["timestamp"], int) and len(body["now"]) == 25


def test_heartbeats_and_meters(client, loaded):
    hb = client.get("/heartbeats").get_json()
    assert [list(h) for h in hb] == [["serialNumber", "timeLastCommunicated", "elapsedSeconds"]]
    assert hb[0]["serialNumber"] == "kili" and hb[0]["elapsedSeconds"] >= 0
    meters = {m["serialNumber"]: m for m in client.get("/meters").get_json()}
    assert list(meters["kili"]) == ["serialNumber", "timeLastCommunicated", "elapsedSeconds",
                                    "countOfFilesAvailable", "countOfFilesArchived",
                                    "latestFile"]
    assert meters["kili"]["countOfFilesAvailable"] == 2
    assert meters["kili"]["latestFile"] == "2023-05-26"  # the seed's: the day itself
    assert meters["idle"]["timeLastCommunicated"] is None and meters["idle"]["latestFile"] is None
    assert client.get("/meters/kili").get_json() == {"serialNumber": "kili", "payloads": 2}
    assert client.get("/status").get_json() == {"activeMeters": 1, "inactiveMeters": 2,
                                                "availablePayloads": 3, "archivedPayloads": 3}


def test_payloads(client, loaded):
    payloads = client.get("/meters/kili/payloads").get_json()
    assert payloads == [
        {"filename": "kili_2023-05-25.json", "serialNumber": "kili", "payloadDate": "2023-05-25",
         "meterVersion": "0.3.4", "dataModelVersion": "1.0.0", "interval": 5, "snapshots": 2,
         "datastreams": 2},
        {"filename": "kili_2023-05-26.json", "serialNumber": "kili", "payloadDate": "2023-05-26",
         "meterVersion": "0.1.0", "dataModelVersion": "2.0.0", "interval": 5, "snapshots": 3,
         "datastreams": 3}]
    streams = client.get("/meters/kili/payloads/2023-05-25").get_json()
    seed = json.loads(seed_payload("kili", "2023-05-25"))["datastreams"]
    assert [s["name"] for s in streams] == ["Total", "Main"]
    total = streams[0]
    assert list(total) == ["name", "measurements", "totalValue", "earliest", "latest"]
    assert total["measurements"] == 288
    assert total["totalValue"] == round(sum(seed["Total"].values()), 3)
    assert total["earliest"] == "2023-05-25T00:05:00+12:00"
    assert total["latest"] == "2023-05-26T00:00:00+12:00"
    points = client.get("/meters/kili/payloads/2023-05-25/Main").get_json()
    assert points[:2] == [{"timestamp": k, "value": v} for k, v in list(seed["Main"].items())[:2]]
    assert len(points) == 288


def test_meter_query(client, loaded):
    assert client.get("/meter?serial=kili").get_json() == ["2023-05-26", "2023-05-25"]
    day = client.get("/meter?serial=mac&day=2023-04-02").get_json()
    assert len(day) == 24 and day[0] == {"timestamp": "2023-04-02T01:00:00+13:00", "value": 0.51}
    assert client.get("/meter").status_code == 400
    assert client.get("/meter?serial=nobody").status_code == 404


def test_payload_is_the_stored_file_as_received(client, loaded):
    r = client.get("/payload?serial=kili&day=2023-05-25")
    assert r.data == seed_payload("kili", "2023-05-25")


@pytest.mark.parametrize("path", ["/meters/no..pe", "/meters/kili/payloads/2023-13-01",
                                  "/meters/kili/payloads/2023-05-26/Nope", "/payload?serial=kili"])
def test_seed_route_errors_are_json(client, loaded, path):
    r = client.get(path)
    assert r.status_code in (400, 404) and set(r.get_json()) >= {"error", "reason"}
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_seed_get_routes_answer_cors_and_preflight(client):
    for path in ("/", "/heartbeats", "/meters", "/status"):
        r = client.get(path)
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        pre = client.options(path, headers={"Origin": "http://ui.example",
                                            "Access-Control-Request-Method": "GET"})
        assert pre.status_code == 200 and pre.headers["Access-Control-Allow-Origin"] == "*"
        assert "GET" in pre.headers["Access-Control-Allow-Methods"]


def test_a_seed_files_own_key_is_never_served(app, client, conn):
    """The seed's meters wrote their whole config, API key included, into every day file; the
    routes serving stored files are public, so the key is masked there (and nothing else)."""
    key = issue_key(conn, "kili")
    doc = json.loads(seed_payload("kili", "2023-05-25"))
    doc["metadata"]["config"] = {"serial": "kili", "interval_min": 5, "tempest_api_key": key,
                                 "tempest_url": "http://tempest.example/"}
    sent = json.dumps(doc).encode()
    assert client.post("/update", data=sent, headers={"x-api-key": key}).status_code == 202
    lay = layout(app.config)
    Processor(conn, lay, app.config).process([(p, None) for p in dropbox.scan(lay.drop, 0).ready])
    for path in ("/payload?serial=kili&day=2023-05-25",
                 "/api/v1/meters/kili/days/2023-05-25/file"):
        served = client.get(path)
        assert served.status_code == 200, path
        assert key.encode() not in served.data, path
        # Every other byte is the one delivered.
        assert served.data.replace(b'"***"', json.dumps(key).encode()) == sent, path
    # The archive itself keeps the file as received.
    archived = [p.read_bytes() for p in (lay.data_dir / "archive").rglob("*.json")]
    assert sent in archived


def test_the_config_page_reads_a_seed_files_config_without_its_key(app, client, conn):
    from tempest.read import archive

    key = issue_key(conn, "kili")
    doc = json.loads(seed_payload("kili", "2023-05-25"))
    doc["metadata"]["config"] = {"serial": "kili", "tempest_api_key": key,
                                 "agent": {"port": 8001, "key": "agent-secret-0123456789"}}
    assert client.post("/update", data=json.dumps(doc).encode(),
                       headers={"x-api-key": key}).status_code == 202
    lay = layout(app.config)
    Processor(conn, lay, app.config).process([(p, None) for p in dropbox.scan(lay.drop, 0).ready])
    cfg, day = archive.reported_config(conn, lay.data_dir, "kili")
    assert day == "2023-05-25"
    assert cfg == {"serial": "kili", "tempest_api_key": "***", "agent": {"port": 8001, "key": "***"}}
