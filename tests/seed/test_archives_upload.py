"""The seed's `POST /upload` and `/archives` routes over the MDMS sink, against a real
`tempest serve` and a real reference MDMS receiver (`python -m tempest.sinks.reference_mdms`).

`POST /upload` makes what waits for the MDMS go now, through the sink's queue and worker (the
days go out in order, with their idempotency keys, acknowledged by the worker); `/archives...`
are the `/meters...` routes for the days the MDMS has."""

from __future__ import annotations

import json

from tests.support.waiting import wait_for
from tests.tempest.tempest_testdata import seed_payload

KEY = "kili-own-key-0123456789abcdef"
MDMS_KEY = "mdms-test-key"
DAYS = ["2023-05-24", "2023-05-25", "2023-05-26"]
LATE = "2023-05-27"


def _sink(tempest) -> dict:
    return tempest.get("api/v1/sinks/mdms").json()


def test_upload_forwards_what_waits_and_archives_mirror_the_forwarded_days(
        make_tempest, sink_servers):
    mdms = sink_servers.mdms(api_key=MDMS_KEY)  # its address is fixed; it is not up yet
    # Backoff of a minute or more: what failed waits, unless asked to go now.
    tempest = make_tempest(TEMPEST_SINK_MDMS_URL=mdms.url, TEMPEST_SINK_MDMS_API_KEY=MDMS_KEY,
                           TEMPEST_SINK_MDMS_FORMAT="picos", TEMPEST_SINK_BACKOFF_SECONDS=60,
                           TEMPEST_SINK_BACKOFF_MAX_SECONDS=120, TEMPEST_SINK_POLL_SECONDS=0.2,
                           TEMPEST_SINK_TIMEOUT_SECONDS=2)
    tempest.add_meter("kili", KEY)
    tempest.start()
    for day in DAYS:
        r = tempest.post("update", data=seed_payload("kili", day), headers={"x-api-key": KEY})
        assert r.status_code == 202
    tempest.wait_days("kili", DAYS)
    # The MDMS is down: the worker tried, and the days wait out the backoff.
    wait_for(lambda: _sink(tempest)["failures"] >= 1, 30, what="a failed delivery")
    assert _sink(tempest)["queued"] == 3
    assert tempest.get("archives").json() == []
    assert tempest.get("archives/kili").json() == {"serialNumber": "kili", "payloads": 0}
    assert tempest.get(f"archives/kili/payloads/{DAYS[0]}").status_code == 404

    # Who may ask: the admin only.
    assert tempest.post("upload").status_code == 401
    assert tempest.post("upload", headers={"x-api-key": KEY}).status_code == 403

    mdms.start()
    r = tempest.admin("POST", "upload")
    assert (r.status_code, r.json()) == (200, {"uploaded": 3})
    got = [json.loads(x["body"]) for x in mdms.accepted()]
    assert [d["reading_day"] for d in got] == DAYS  # in order, each once
    assert {x["path"] for x in mdms.accepted()} == {"/ingestions/picos"}
    assert _sink(tempest)["queued"] == 0
    # Nothing waits now: asking again forwards nothing and sends nothing twice.
    assert tempest.admin("POST", "upload").json() == {"uploaded": 0}
    assert len(mdms.requests()) == 3

    archives = tempest.get("archives").json()
    assert archives == [{"serialNumber": "kili", "timeLastCommunicated": None,
                         "elapsedSeconds": None, "countOfFilesAvailable": 0,
                         "countOfFilesArchived": 3, "latestFile": DAYS[-1]}]
    assert tempest.get("archives/kili").json() == {"serialNumber": "kili", "payloads": 3}
    # The archive routes are the /meters routes' shapes for the forwarded days.
    assert tempest.get("archives/kili/payloads").json() == \
        tempest.get("meters/kili/payloads").json()
    for day in DAYS:
        assert tempest.get(f"archives/kili/payloads/{day}").json() == \
            tempest.get(f"meters/kili/payloads/{day}").json()
        assert tempest.get(f"archives/kili/payloads/{day}/Main").json() == \
            tempest.get(f"meters/kili/payloads/{day}/Main").json()

    # A day the MDMS will not take: it stays waiting, and the answer says why.
    mdms.mode("fail")
    r = tempest.post("update", data=seed_payload("kili", LATE), headers={"x-api-key": KEY})
    assert r.status_code == 202
    tempest.wait_days("kili", [LATE])
    r = tempest.admin("POST", "upload")
    assert r.status_code == 502, r.text
    doc = r.json()
    assert (doc["error"], doc["uploaded"], doc["waiting"]) == ("bad_gateway", 0, 1)
    assert "MDMS answered 500" in doc["reason"]
    assert tempest.get(f"archives/kili/payloads/{LATE}").status_code == 404
    assert tempest.get(f"meters/kili/payloads/{LATE}").status_code == 200
    assert tempest.get("archives").json()[0]["countOfFilesAvailable"] == 1
    mdms.mode("ok")
    r = tempest.admin("POST", "upload")
    assert (r.status_code, r.json()) == (200, {"uploaded": 1})
    assert tempest.get("archives/kili").json()["payloads"] == 4

    # Without its worker (a Tempest started with no ingest), the answer says so.
    tempest.stop()
    idle = make_tempest(data_dir=tempest.data_dir, address=(tempest.host, tempest.port),
                        ingest=False, TEMPEST_SINK_MDMS_URL=mdms.url)
    idle.start()
    r = idle.admin("POST", "upload")
    assert r.status_code == 503 and "not running" in r.json()["reason"]


def test_upload_without_an_mdms_sink_says_how_to_set_one(client):
    from tests.support.tempest_client import admin_headers

    r = client.post("/upload", headers=admin_headers())
    assert r.status_code == 409 and "TEMPEST_SINK_MDMS_URL" in r.get_json()["reason"]
