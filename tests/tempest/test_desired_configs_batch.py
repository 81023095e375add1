"""`PUT /api/v1/desired-configs`, against a real Tempest: many meters' configs, agent keys and
addresses in one call (the tempest_registration role's one call per batch of meters), each item
checked as one meter's `PUT .../desired-config` checks it and given its own verdict; a
malformed request refused whole; a refused item writing nothing; the admin token only."""

from __future__ import annotations

import json

import pytest

from core.configdoc import config_hash
from tests.support.tempest_client import ADMIN_TOKEN

METERS = ("kili", "mac", "berlin-01")
ROUTE = "api/v1/desired-configs"


def meter_key(serial: str) -> str:
    return f"batch-test-key-{serial}-0123456789"


def raw_config(serial: str, **extra) -> dict:
    return {"serial": serial, "timezone": "Pacific/Auckland", "interval_min": 5,
            "tempest_api_key": meter_key(serial),
            "agent": {"key": f"agent-secret-{serial}-0123", "port": 8001}, **extra}


def item(serial: str, **extra) -> dict:
    return {"serial": serial, "source": "ansible", "config": raw_config(serial),
            "agent_url": f"http://{serial}.lan:8001/", **extra}


@pytest.fixture
def tempest(make_tempest):
    server = make_tempest(ingest=False)
    for serial in METERS:
        server.add_meter(serial, meter_key(serial))
    return server.start()


def put(tempest, body, **kw):
    return tempest.admin("PUT", ROUTE, json=body, **kw)


def held(tempest, serial: str) -> dict:
    r = tempest.get(f"api/v1/meters/{serial}/desired-config")
    assert r.status_code == 200, r.text
    return r.json()


def nothing_held(tempest, serial: str) -> bool:
    got = held(tempest, serial)
    return got["config"] is None and got["agent_key"] is False and got["agent_url"] is None


def test_a_batch_sets_each_meters_config_then_changes_nothing(tempest):
    items = [item(s) for s in METERS]
    r = put(tempest, {"configs": items})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["changed"], answer["unchanged"], answer["refused"]) == (3, 0, 0)
    assert [(i["index"], i["serial"], i["verdict"]) for i in answer["items"]] == \
        [(n, s, "changed") for n, s in enumerate(METERS)]
    for sent, got in zip(items, answer["items"], strict=True):
        assert got["config_hash"] == config_hash(sent["config"])
        doc = held(tempest, sent["serial"])
        assert doc["config_hash"] == config_hash(sent["config"]) and doc["source"] == "ansible"
        assert doc["agent_key"] is True and doc["agent_url"] == sent["agent_url"]
        assert doc["config"]["interval_min"] == 5
        # Stored and shown without the secrets, as one meter's PUT stores it.
        assert "tempest_api_key" not in doc["config"] and "key" not in doc["config"]["agent"]
    assert ADMIN_TOKEN not in r.text and meter_key("kili") not in r.text

    again = put(tempest, {"configs": items})
    assert again.status_code == 200, again.text
    assert (again.json()["changed"], again.json()["unchanged"]) == (0, 3)
    assert {i["verdict"] for i in again.json()["items"]} == {"unchanged"}

    # One meter's config changes, another's agent moves: only those two are changed.
    items[0]["config"]["interval_min"] = 15
    items[2]["agent_url"] = "https://berlin-01.lan:8443/"
    third = put(tempest, {"configs": items}).json()
    assert [i["verdict"] for i in third["items"]] == ["changed", "unchanged", "changed"]
    assert held(tempest, "kili")["config"]["interval_min"] == 15
    assert held(tempest, "berlin-01")["agent_url"] == "https://berlin-01.lan:8443/"
    # An empty batch is a valid one that does nothing.
    empty = put(tempest, {"configs": []})
    assert empty.status_code == 200 and empty.json() == \
        {"changed": 0, "unchanged": 0, "refused": 0, "items": []}


# A bad body for one meter (`s`), as the per-meter PUT and as a batch item: the field at fault.
BAD = {
    "interval": (lambda s: {"config": raw_config(s, interval_min=7)}, "config.interval_min"),
    "serial": (lambda s: {"config": raw_config("kili")}, "config.serial"),  # another's config
    "agent key": (lambda s: {"config": {**raw_config(s), "agent": {"key": "short", "port": 8001}}},
                  "config.agent.key"),
    "agent url": (lambda s: {"config": raw_config(s), "agent_url": "ftp://mac.lan/"},
                  "agent_url"),
    "source": (lambda s: {"config": raw_config(s), "source": 7}, "source"),
    "no config": (lambda s: {}, "config"),
    "hash": (lambda s: {"config": raw_config(s), "config_hash": "md5:abc"}, "config_hash"),
}


def test_refused_items_name_the_field_and_write_nothing(tempest):
    """Each case on a meter of its own (one Tempest for them all)."""
    for n, case in enumerate(sorted(BAD)):
        serial = f"bad-{n}"
        tempest.add_meter(serial, meter_key(serial))
        make, field = BAD[case]
        body = make(serial)
        batch = put(tempest, {"configs": [item("kili"), {"serial": serial, **body}]})
        assert batch.status_code == 200, (case, batch.text)
        good, bad = batch.json()["items"]
        assert good["verdict"] in ("changed", "unchanged") and batch.json()["refused"] == 1
        assert bad["verdict"] == "refused" and bad["error"] == "bad_request", (case, bad)
        assert bad["index"] == 1 and bad["serial"] == serial and bad["field"] == field, \
            (case, bad)
        assert nothing_held(tempest, serial), case  # not its config, agent key or address
        # One meter's PUT refuses the same body naming the same field, writing nothing either.
        one = tempest.admin("PUT", f"api/v1/meters/{serial}/desired-config", json=body)
        assert one.status_code == 400 and one.json()["field"] == field, (case, one.text)
        assert nothing_held(tempest, serial), case
        for text in (batch.text, one.text):  # no secret of the refused config is quoted
            assert meter_key(serial) not in text and f"agent-secret-{serial}" not in text, case


def test_an_unknown_meter_is_refused_alone_and_not_registered(tempest):
    r = put(tempest, {"configs": [item("nobody-yet"), item("kili")]})
    assert r.status_code == 200, r.text
    unknown, kili = r.json()["items"]
    assert unknown["verdict"] == "refused" and unknown["error"] == "not_found"
    assert unknown["field"] == "serial" and "no meter nobody-yet" in unknown["reason"]
    assert kili["verdict"] == "changed"
    assert tempest.get("api/v1/meters/nobody-yet").status_code == 404


MALFORMED = {
    "a list": ([item("kili")], None),
    "no configs": ({"items": [item("kili")]}, "items"),
    "configs not a list": ({"configs": {"kili": item("kili")}}, "configs"),
    "an item not an object": ({"configs": [item("kili"), "mac"]}, "configs[1]"),
    "no serial": ({"configs": [item("kili"), {"config": raw_config("mac")}]},
                  "configs[1].serial"),
    "a bad serial": ({"configs": [item("kili"), item("../mac")]}, "configs[1].serial"),
    "a meter twice": ({"configs": [item("kili"), item("mac"), item("kili")]},
                      "configs[2].serial"),
    "an unknown field": ({"configs": [item("kili"), item("mac", agenturl="x")]},
                         "configs[1].agenturl"),
}


def test_a_malformed_batch_is_refused_whole(tempest):
    for case, (body, field) in MALFORMED.items():
        r = put(tempest, body)
        assert r.status_code == 400, (case, r.text)
        doc = r.json()
        assert doc["error"] == "bad_request" and doc["reason"], case
        assert doc.get("field") == field, (case, doc)
        assert nothing_held(tempest, "kili"), case  # the well-formed items are not written


def test_not_json_and_too_many_items(tempest):
    r = tempest.admin("PUT", ROUTE, data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "bad_request"
    many = [item("kili")] + [{"serial": f"m{n:04d}", "config": {}} for n in range(500)]
    r = put(tempest, {"configs": many})
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "too_large" and r.json()["field"] == "configs"
    assert "501" in r.json()["reason"] and "500" in r.json()["reason"]
    assert nothing_held(tempest, "kili")


def test_only_the_admin_token_writes(tempest):
    body = {"configs": [item("kili")]}
    for headers, status in (({}, 401),
                            ({"x-api-key": meter_key("kili")}, 403),
                            ({"Authorization": "Bearer not-the-token-0123456789"}, 401)):
        r = tempest.request("PUT", ROUTE, json=body, headers=headers)
        assert r.status_code == status, (headers, r.text)
        assert r.json()["error"] and r.json()["reason"]
    assert nothing_held(tempest, "kili")
    r = tempest.request("PUT", ROUTE, json=body, headers={"x-admin-token": ADMIN_TOKEN})
    assert r.status_code == 200 and r.json()["changed"] == 1, r.text
    assert json.loads(r.text)["items"][0]["serial"] == "kili"
