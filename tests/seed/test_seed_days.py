"""What the seed's routes mean by a day and by a key: `/payload` finds a seed file by the
`reading_day` the seed gave it, even when Tempest stores its readings a day earlier;
`GET /meters` `latestFile` is the seed's date; a seed fleet's shared key is refused with the
way out in the answer."""

from __future__ import annotations

import json

import pytest

from core import civil
from tempest.ingest import dropbox
from tempest.ingest.process import Processor
from tempest.settings import layout
from tests.seed.seedfleet import SHARED_KEY
from tests.tempest.tempest_testdata import issue_key, seed_payload


def named_after_midnight(serial: str, readings_day: str) -> bytes:
    """A file of the seed's first meters: times without an offset, readings of `readings_day`
    (00:05 to the next midnight), named after the day that midnight begins."""
    d = civil.parse_day(readings_day)
    stream = {}
    for i in range(288):
        minutes = (i + 1) * 5
        day, minute = d + minutes // 1440, minutes % 1440
        stream[f"{civil.format_day(day)}T{minute // 60:02d}:{minute % 60:02d}:00"] = \
            round(0.2 + 0.001 * (i % 40), 3)
    return json.dumps({"serial": serial, "reading_day": civil.format_day(d + 1), "interval": 5,
                       "datastreams": {"Total": stream}}).encode()


@pytest.fixture
def ingest(app, conn):
    def run():
        lay = layout(app.config)
        Processor(conn, lay, app.config).process(
            [(p, None) for p in dropbox.scan(lay.drop, 0).ready])
    return run


def test_payload_finds_a_seed_file_by_the_day_the_seed_named_it(client, conn, ingest):
    key = issue_key(conn, "everest", timezone="Pacific/Auckland")
    first = named_after_midnight("everest", "2023-05-25")  # named 2023-05-26
    second = named_after_midnight("everest", "2023-05-26")  # named 2023-05-27
    for body in (first, second):
        r = client.post("/update", data=body, headers={"x-api-key": key})
        assert r.status_code == 202, r.get_json()
    ingest()
    # Tempest stores each under the day its readings belong to...
    assert client.get("/meter?serial=everest").get_json() == ["2023-05-26", "2023-05-25"]
    files = client.get("/api/v1/meters/everest/files").get_json()["items"]
    assert any("seed reading_day 2023-05-26 moved to 2023-05-25" in n
               for f in files for n in f["notes"] or [])
    # ...and the seed's own reading_day finds the very file the seed stored under it.
    for named, body in (("2023-05-26", first), ("2023-05-27", second)):
        r = client.get(f"/payload?serial=everest&day={named}")
        assert r.status_code == 200 and r.data == body, named
        assert r.get_json()["reading_day"] == named
    # Tempest's own day still answers where no seed file was named after it.
    assert client.get("/payload?serial=everest&day=2023-05-25").data == first
    assert client.get("/payload?serial=everest&day=2023-05-28").status_code == 404
    assert client.get("/payload?serial=everest&day=2023-02-30").status_code == 400


def test_a_file_with_offsets_on_its_own_day_is_found_by_that_day(client, conn, ingest):
    key = issue_key(conn, "kili")
    body = seed_payload("kili", "2023-05-26")
    assert client.post("/update", data=body, headers={"x-api-key": key}).status_code == 202
    ingest()
    assert client.get("/payload?serial=kili&day=2023-05-26").data == body
    assert client.get("/payload?serial=kili&day=2023-05-27").status_code == 404


def test_latest_file_is_the_seeds_date(client, conn, ingest):
    key = issue_key(conn, "kili")
    issue_key(conn, "idle")
    for day in ("2023-05-24", "2023-05-26", "2023-05-25"):
        client.post("/update", data=seed_payload("kili", day), headers={"x-api-key": key})
    ingest()
    meters = {m["serialNumber"]: m for m in client.get("/meters").get_json()}
    assert meters["kili"]["latestFile"] == "2023-05-26"
    assert meters["idle"]["latestFile"] is None


@pytest.mark.parametrize("route", ["/update", "/updates", "/heartbeat", "/heartbeats",
                                   "/api/v1/days", "/api/v1/heartbeats"])
def test_the_seed_fleets_shared_key_is_refused_with_the_way_out(client, conn, route):
    issue_key(conn, "kili")
    body = (seed_payload("kili", "2023-05-26") if "update" in route or "days" in route
            else json.dumps({"serial": "kili", "ip": "192.168.86.40",
                             "timestamp": "2023-05-26T10:05:00+12:00"}).encode())
    r = client.post(route, data=body, headers={"x-api-key": SHARED_KEY,
                                               "Content-Type": "application/json"})
    assert r.status_code == 401
    doc = r.get_json()
    assert doc["error"] == "unauthorized" and doc["see"] == "docs/migrate-from-seed.md"
    assert "shared key" in doc["reason"] and "meter migrate-seed" in doc["reason"]
    assert client.get("/api/v1/meters/kili").get_json()["heartbeats"] == 0


def test_one_key_for_two_meters_is_refused_with_the_way_out(client, conn):
    key = issue_key(conn, "kili")
    issue_key(conn, "meru")
    r = client.post("/heartbeats", json={"serial": "meru", "ip": "192.168.86.41"},
                    headers={"x-api-key": key})
    assert r.status_code == 403 and "docs/migrate-from-seed.md" in r.get_json()["reason"]
