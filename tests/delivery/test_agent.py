"""The meter agent: status, config (auth, validation, atomic replacement, last good kept),
tick, day, redial; through Flask's test client and as real `meter agent` processes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
import requests

from meter.agent import create_app
from tests.support import REPO
from tests.support.addresses import free_address
from tests.support.processes import stop_process
from tests.support.waiting import wait_for

KEY = "agent-key-0123456789abcdef"
AT = "2024-03-07T00:10:00+13:00"


@pytest.fixture
def fresh(tempest, meter_for):
    """A meter with its agent key that has not ticked yet."""
    return meter_for(tempest, agent={"key": KEY, "host": "127.0.0.1", "port": 8001})


@pytest.fixture
def meter(fresh):
    """The same, with two sealed days waiting in the outbox."""
    fresh.tick("2024-03-05T10:00:00+13:00")
    fresh.tick(AT)
    return fresh


def _client(m):
    return create_app({"CONFIG_PATH": str(m.path), "AT": AT, "TESTING": True}).test_client()


@pytest.fixture
def client(meter):
    return _client(meter)


def _auth(key: str = KEY) -> dict:
    return {"x-api-key": key}


def test_status_is_the_seeds_plus_the_meters(client, meter):
    r = client.get("/")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["entity"] == "agent" and doc["ip"] and doc["timestamp"] == AT
    assert doc["serial"] == meter.serial and doc["version"] == "0.1.0"
    assert doc["backlog"] == 2 and doc["last_tick"] == AT
    assert doc["config_hash"] == meter.cfg.hash()


def test_get_config_hides_the_secrets(client, meter):
    doc = client.get("/config").get_json()
    assert doc["serial"] == meter.serial and "tempest_url" in doc
    text = json.dumps(doc)
    assert "tempest_api_key" not in doc and KEY not in text
    assert meter.raw["tempest_api_key"] not in text


@pytest.mark.parametrize("headers, status", [({}, 401), (_auth("wrong-key-0123456789"), 401)])
@pytest.mark.parametrize("method, path", [
    ("post", "/config"), ("post", "/tick"), ("post", "/day?day=2024-03-05"),
    ("post", "/redial?from=2024-03-05&to=2024-03-06"), ("post", "/deliver")])
def test_state_changing_calls_need_the_key(fresh, method, path, headers, status):
    before = fresh.path.read_bytes()
    r = getattr(_client(fresh), method)(path, headers=headers, json={"serial": fresh.serial})
    assert r.status_code == status
    assert r.get_json()["error"] == "unauthorized"
    assert fresh.path.read_bytes() == before
    assert fresh.names("data") == [] and fresh.names("sent") == []  # no tick, no upload


def test_an_agent_without_a_key_refuses_every_change(tempest, meter_for):
    m = meter_for(tempest)
    app = create_app({"CONFIG_PATH": str(m.path), "AT": AT, "TESTING": True})
    r = app.test_client().post("/config", json={"serial": m.serial}, headers=_auth())
    assert r.status_code == 403 and "no key configured" in r.get_json()["reason"]


@pytest.mark.parametrize("change, field", [
    ({"interval_min": 7}, "interval_min"),
    ({"colour": "blue"}, "colour"),
    ({"serial": "someone-else"}, "serial"),
    ({"delivery": {"mode": "carrier-pigeon"}}, "delivery.mode"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
])
def test_a_bad_config_is_refused_naming_the_field_and_nothing_changes(fresh, change, field):
    before = fresh.path.read_bytes()
    r = _client(fresh).post("/config", json={**fresh.raw, **change}, headers=_auth())
    assert r.status_code == 400
    doc = r.get_json()
    assert doc["error"] == "invalid_config" and doc["field"] == field and doc["reason"]
    assert fresh.path.read_bytes() == before
    assert not (fresh.root / "config.json.last-good").exists()


def test_a_body_that_is_not_a_config_object_is_refused(fresh):
    before = fresh.path.read_bytes()
    for body in (b"{not json", b"[1, 2]"):
        r = _client(fresh).post("/config", data=body, headers={
            **_auth(), "Content-Type": "application/json"})
        assert r.status_code == 400 and r.get_json()["error"] == "invalid_config"
    assert fresh.path.read_bytes() == before


def test_a_good_config_is_applied_atomically_and_the_last_good_kept(fresh):
    meter, client = fresh, _client(fresh)
    before = meter.path.read_bytes()
    old_hash = meter.cfg.hash()
    public = client.get("/config").get_json()  # no secrets in it: they are carried over
    r = client.post("/config", json={**public, "archetype": "family"}, headers=_auth())
    assert r.status_code == 200, r.get_json()
    doc = r.get_json()
    assert doc["status"] == "applied" and doc["previous_hash"] == old_hash
    assert doc["restart_needed"] is False

    new = json.loads(meter.path.read_text())
    assert new["archetype"] == "family"
    assert new["tempest_api_key"] == meter.raw["tempest_api_key"]
    assert new["agent"]["key"] == KEY
    assert (meter.root / "config.json.last-good").read_bytes() == before
    assert stat.S_IMODE(os.stat(meter.path).st_mode) == 0o600
    assert not [n for n in os.listdir(meter.root) if n.endswith(".tmp")]
    assert client.get("/config").get_json()["archetype"] == "family"
    assert client.get("/").get_json()["config_hash"] == doc["config_hash"] != old_hash
    # The same key still works, and a second change keeps the first one as last good.
    applied = meter.path.read_bytes()
    r = client.post("/config", json={**public, "archetype": "retired"}, headers=_auth())
    assert r.status_code == 200
    assert (meter.root / "config.json.last-good").read_bytes() == applied


def test_tick_day_and_redial(client, meter, tempest):
    r = client.post("/tick?at=2024-03-08T00:10:00%2B13:00", headers=_auth())
    assert r.status_code == 200, r.get_json()
    doc = r.get_json()
    assert doc["tick"]["sealed"] == ["2024-03-07"]
    assert len(doc["delivery"]["sent"]) == 3 and doc["delivery"]["error"] is None

    r = client.get("/day?day=2024-03-06")
    assert r.status_code == 200 and r.headers["X-Meter-Source"] == "sent"
    assert r.data == (meter.root / "sent" / f"{meter.serial}_2024-03-06.json").read_bytes()
    r = client.get("/day?day=2024-03-08")
    assert r.status_code == 200 and r.headers["X-Meter-Source"] == "open"
    assert client.get("/day?day=2024-03-10").status_code == 404
    bad = client.get("/day?day=2024-13-01")
    assert bad.status_code == 400 and bad.get_json()["field"] == "day"

    # The agent's clock says 03-07 00:10, so 03-07 is not over yet; `at` moves it on.
    r = client.post("/redial?from=2024-03-05&to=2024-03-07", headers=_auth())
    assert r.status_code == 200
    assert r.get_json()["days_uploaded"] == 2
    assert r.get_json()["days"][-1]["status"] == "not_over"
    r = client.post("/redial?from=2024-03-05&to=2024-03-07&at=2024-03-08T00:10:00%2B13:00",
                    headers=_auth())
    assert r.get_json()["days_uploaded"] == 3
    r = client.post("/redial?day=2024-03-06", headers=_auth())  # the seed's form
    assert r.get_json()["days_uploaded"] == 1
    r = client.post("/day?day=2024-03-08", headers=_auth())  # the open day, as far as it goes
    assert r.get_json()["days_uploaded"] == 1 and r.get_json()["days"][0]["source"] == "open"
    tempest.wait_days(meter.serial, ["2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"])
    events = client.get("/delivery").get_json()
    assert events["state"]["failures"] == 0 and events["events"]


def _agent(m, host: str, port: int, log):
    return subprocess.Popen(
        [sys.executable, "-m", "meter", "agent", "--config", str(m.path), "--host", host,
         "--port", str(port), "--at", AT], cwd=REPO, stdout=log, stderr=log)


def test_several_agents_on_one_machine_each_on_its_own_address(tempest, meter_for, tmp_path):
    _, port = free_address()
    procs, agents = [], []
    try:
        for i in range(2):
            m = meter_for(tempest, root=tmp_path / f"meter{i}", agent={"key": KEY})
            m.raw["serial"] = f"{m.serial}-{i}"
            m.update(tempest_api_key=tempest.add_meter(m.raw["serial"]))
            host = f"127.0.0.{60 + i}"
            with open(tmp_path / f"agent{i}.log", "ab") as log:
                procs.append(_agent(m, host, port, log))
            agents.append((m, f"http://{host}:{port}/"))
        for m, url in agents:
            doc = wait_for(lambda url=url: _get(url), 20)
            assert doc["serial"] == m.raw["serial"]
        m, url = agents[1]
        assert requests.post(url + "tick", timeout=10).status_code == 401
        r = requests.post(url + "tick", headers=_auth(), timeout=30)
        assert r.status_code == 200 and r.json()["tick"]["written"] > 0
    finally:
        for p in procs:
            stop_process(p)
    assert all(p.returncode == 0 for p in procs)  # SIGTERM: a clean stop


def _get(url: str):
    try:
        return requests.get(url, timeout=2).json()
    except requests.RequestException:
        return None
