"""Heartbeats to a real Tempest: every field lands in its registry; a Tempest that is down
or slow costs at most the short timeout and never an exception."""

from __future__ import annotations

import json
import time

from meter.delivery import heartbeat

from .helpers import seconds

T = "2024-03-07T00:10:00+13:00"


def test_heartbeat_fields_reach_the_registry(tempest, meter_for):
    m = meter_for(tempest, agent={"host": "127.0.0.77", "port": 8123, "key": "agent-key-x"})
    m.tick("2024-03-05T10:00:00+13:00")
    m.tick(T)
    r = m.cli("heartbeat", at=T)
    assert r.exit_code == 0
    out = json.loads(r.stdout)
    assert out["sent"] is True and out["status"] == 200 and out["server_time"]

    got = tempest.admin("GET", f"api/v1/meters/{m.serial}").json()
    assert got["status"] == "online" and got["heartbeats"] == 1
    assert got["kind"] == "pi" and got["version"] == "0.1.0"
    assert got["config_hash"] == m.cfg.hash()
    assert got["outbox_backlog"] == 2
    assert got["last_tick"] == T
    assert got["address"] == "127.0.0.77"
    assert got["agent_url"] == "http://127.0.0.77:8123/"
    assert got["free_disk_bytes"] > 0
    # The meter's clock was --at: Tempest sees (and records) the skew, its clock less the
    # meter's, whichever way round they are on the day the test runs.
    assert abs(got["clock_skew_s"] - (time.time() - seconds(T))) < 300
    assert abs(got["clock_skew_s"]) > 3600
    assert "agent-key-x" not in json.dumps(out)


def test_heartbeat_when_tempest_is_down_returns_at_once(meter_for):
    from tests.support.addresses import free_address

    host, port = free_address()
    m = meter_for(None, url=f"http://{host}:{port}/")
    t = time.monotonic()
    r = m.cli("heartbeat", at=T)
    assert time.monotonic() - t < 5
    assert r.exit_code == 0
    out = json.loads(r.stdout)
    assert out["sent"] is False and "cannot connect" in out["reason"]


def test_slow_tempest_costs_at_most_the_heartbeat_timeout(tempest, meter_for, proxy_factory):
    proxy = proxy_factory(tempest.url)
    proxy.set("delay", delay_s=5)
    m = meter_for(tempest, url=proxy.url, heartbeat={"timeout_s": 0.5})
    t = time.monotonic()
    out = heartbeat.send(m.cfg, m.root, seconds(T))
    assert time.monotonic() - t < 2
    assert out["sent"] is False and "0.5 s" in out["reason"]


def test_heartbeats_off_send_nothing(tempest, meter_for, proxy_factory):
    proxy = proxy_factory(tempest.url)
    m = meter_for(tempest, url=proxy.url, heartbeat={"enabled": False})
    assert heartbeat.send(m.cfg, m.root, seconds(T))["sent"] is False
    assert proxy.requests() == []


def test_seed_era_tempest_gets_the_seed_heartbeat(tempest, meter_for, proxy_factory):
    proxy = proxy_factory(tempest.url)
    proxy.set("seed")
    m = meter_for(tempest, url=proxy.url)
    out = heartbeat.send(m.cfg, m.root, seconds(T))
    assert out["sent"] is True
    assert [r["path"] for r in proxy.requests()] == ["/api/v1/heartbeats", "/heartbeat"]
    assert tempest.admin("GET", f"api/v1/meters/{m.serial}").json()["heartbeats"] == 1
