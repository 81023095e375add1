"""The reference MDMS's `/_admin/*` routes (how it answers, what it recorded) need its key,
against a real `python -m tempest.sinks.reference_mdms` process."""

from __future__ import annotations

import requests

KEY = "mdms-test-key"
ADMIN_CALLS = (("POST", "/_admin/mode", {"mode": "fail"}), ("GET", "/_admin/requests", None))


def _call(mdms, method: str, path: str, body, headers: dict) -> requests.Response:
    return requests.request(method, mdms.url + path, json=body, headers=headers, timeout=10)


def test_admin_routes_refuse_callers_without_the_key(sink_servers):
    mdms = sink_servers.mdms(api_key=KEY).start()
    for method, path, body in ADMIN_CALLS:
        for headers in ({}, {"x-api-key": "not-the-key"}, {"x-api-key": KEY + "x"},
                        {"x-api-key": ""}, {"Authorization": f"Bearer {KEY}"}):
            r = _call(mdms, method, path, body, headers)
            assert r.status_code == 401, (method, path, headers, r.status_code)
            assert r.json()["error"] == "unauthorized" and r.json()["reason"]
    # Nothing changed: it still accepts pushes as before.
    assert requests.get(mdms.url + "/", timeout=10).json()["mode"]["mode"] == "ok"


def test_admin_routes_work_with_the_key(sink_servers):
    mdms = sink_servers.mdms(api_key=KEY).start()
    r = _call(mdms, "POST", "/_admin/mode", {"mode": "reject", "count": 1}, {"x-api-key": KEY})
    assert r.status_code == 200 and r.json()["mode"] == "reject"
    push = requests.post(mdms.url + "/ingestions/days", json={"x": 1}, timeout=10,
                         headers={"x-api-key": KEY, "Idempotency-Key": "k1"})
    assert push.status_code == 400  # told to reject, once
    r = _call(mdms, "GET", "/_admin/requests", None, {"x-api-key": KEY})
    assert r.status_code == 200 and [i["outcome"] for i in r.json()["items"]] == ["rejected"]
    # The test helper sends the key too.
    mdms.mode("ok")


def test_admin_routes_are_closed_when_it_has_no_key(sink_servers):
    mdms = sink_servers.mdms(api_key=None).start()
    for method, path, body in ADMIN_CALLS:
        r = _call(mdms, method, path, body, {"x-api-key": "anything"})
        assert r.status_code == 403 and "--api-key" in r.json()["reason"], (path, r.text)
    assert requests.get(mdms.url + "/", timeout=10).json()["mode"]["mode"] == "ok"
