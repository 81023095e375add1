"""Heartbeats and the Last Will over MQTT into Tempest's registry (tempest/mqtt/presence.py),
against a real Mosquitto, a real `meter run` and a real `tempest mqtt-subscribe`: a heartbeat
is recorded as an HTTP one is (same checks), the last gasp becomes an event, the retained
copies handed out at every subscription add nothing. Fixed dates (the meter's --at)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from tempest import create_app
from tempest.db import connect
from tempest.settings import layout
from tests.meter.configs import family
from tests.mqtt.conftest import ENV
from tests.mqtt.test_mqtt_route import ingest
from tests.support.waiting import wait_for


def tempest_cli(data_dir, *args: str) -> None:
    out = subprocess.run([sys.executable, "-m", "tempest", *args, "--data-dir", str(data_dir)],
                         env=ENV, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


class Registry:
    """Tempest's API and store on the subscriber's data folder."""

    def __init__(self, data_dir):
        self.app = create_app({"DATA_DIR": str(data_dir)})
        self.client = self.app.test_client()

    def meter(self, serial: str) -> dict:
        r = self.client.get(f"/api/v1/meters/{serial}")
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.get_json()

    def rows(self, sql: str, *args) -> list[tuple]:
        conn = connect(layout(self.app.config).database)
        try:
            return [tuple(r) for r in conn.execute(sql, args).fetchall()]
        finally:
            conn.close()


def test_heartbeats_and_the_last_gasp_reach_the_registry(tmp_path, broker, tempest_sub):
    data_dir = tempest_sub.data_dir
    tempest_cli(data_dir, "meters", "add", "mq-7", "--timezone", "Europe/Berlin")
    tempest_sub.start()
    reg = Registry(data_dir)
    raw = family(serial="mq-7", commissioned="2025-03-09", interval_min=30,
                 delivery={"mode": "mqtt"},
                 mqtt={"host": broker.host, "port": broker.port, "timeout_s": 3})
    config = tmp_path / "config.json"
    config.write_text(json.dumps(raw))
    proc = subprocess.Popen([sys.executable, "-m", "meter", "run", "--config", str(config),
                             "--at", "2025-03-10T01:00:00+01:00", "--heartbeat-every", "1"],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        meter = wait_for(lambda: (m := reg.meter("mq-7"))["heartbeats"] >= 1 and m,
                         timeout=60, what="an MQTT heartbeat in the registry")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert meter["status"] == "online" and meter["heartbeat_route"] == "mqtt"
    assert meter["kind"] == "pi" and meter["config_hash"].startswith("sha256:")
    assert meter["last_gasp_at"] is None
    kept = reg.client.get("/api/v1/heartbeats?serial=mq-7").get_json()["items"][0]
    assert kept["heartbeat"]["serial"] == "mq-7" and kept["meter_time"]

    # Killed: the broker publishes the Last Will; Tempest records the last gasp, once.
    gasp = wait_for(lambda: reg.meter("mq-7")["last_gasp_at"], timeout=30,
                    what="the last gasp in the registry")
    events = reg.rows("SELECT event, source FROM meter_events WHERE serial = ?", "mq-7")
    assert events == [("last_gasp", "mqtt")]
    page = reg.client.get("/ui/meters/mq-7").get_data(as_text=True)
    assert 'id="last-gasp"' in page and "heartbeats by MQTT" in page
    fleet = reg.client.get("/ui/meters").get_data(as_text=True)
    assert 'class="badge st-offline last-gasp"' in fleet
    beats = reg.meter("mq-7")["heartbeats"]

    # A new subscription gets the retained heartbeat and Last Will again: nothing changes.
    tempest_sub.stop()
    tempest_sub.start()
    wait_for(lambda: tempest_sub.log.read_text().count("retained copy") >= 2,
             what="the retained copies skipped")
    after = reg.meter("mq-7")
    assert (after["heartbeats"], after["last_gasp_at"]) == (beats, gasp)
    assert len(reg.rows("SELECT 1 FROM meter_events WHERE serial = ?", "mq-7")) == 1


def test_mqtt_heartbeats_get_the_http_checks(tmp_path, broker, tempest_sub, listen):
    """The topic's meter must be registered and named in the body, and every field is checked
    by the registry's own check (the one POST /api/v1/heartbeats uses): a bad one names it."""
    data_dir = tempest_sub.data_dir
    tempest_cli(data_dir, "meters", "add", "mq-8")
    tempest_sub.start()
    reg = Registry(data_dir)
    other = listen("meters/none", client_id="test-beats")
    other.publish("meters/mq-8/heartbeat", b'{"serial": "mq-8", "config_hash": "md5:x"}')
    other.publish("meters/mq-8/heartbeat", b'{"serial": "mq-9", "kind": "pi"}')
    other.publish("meters/mq-9/heartbeat", b'{"serial": "mq-9", "kind": "pi"}')
    other.publish("meters/mq-8/heartbeat", b"not json")
    other.publish("meters/mq-8/state", b'{"serial": "mq-8", "state": "online"}')
    other.publish("meters/mq-8/heartbeat", b'{"serial": "mq-8", "kind": "pico"}')  # good
    meter = wait_for(lambda: (m := reg.meter("mq-8"))["heartbeats"] and m,
                     what="the good heartbeat")
    log = wait_for(lambda: (t := tempest_sub.log.read_text()).count("meters/mq-8/state") and t,
                   what="every message handled")
    assert (meter["heartbeats"], meter["kind"], meter["heartbeat_route"]) == (1, "pico", "mqtt")
    assert "refused: config_hash: must be sha256: and 64 hex digits" in log
    assert "meter mq-9 is not registered" in log and "naming the topic's serial" in log
    assert reg.rows("SELECT serial FROM heartbeats") == [("mq-8",)]
    assert reg.rows("SELECT count(*) FROM meters") == [(1,)]


def test_a_meter_on_mqtt_shows_the_mqtt_route(tmp_path, broker, tempest_sub):
    """Its days come by the subscriber: once stored, the registry says MQTT."""
    tempest_sub.start()
    raw = family(serial="mq-10", commissioned="2025-03-09", interval_min=30,
                 delivery={"mode": "mqtt"},
                 mqtt={"host": broker.host, "port": broker.port, "timeout_s": 10})
    config = tmp_path / "config.json"
    config.write_text(json.dumps(raw))
    for args, at in ((("tick",), "2025-03-10T23:30:00+01:00"),
                     (("tick",), "2025-03-11T00:30:00+01:00"),
                     (("deliver",), "2025-03-11T00:30:00+01:00")):
        out = subprocess.run([sys.executable, "-m", "meter", *args, "--config", str(config),
                              "--at", at], env=ENV, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
    wait_for(lambda: list(tempest_sub.drop.glob("mq-10/*.json")), what="the day dropped")
    assert ingest(tempest_sub.data_dir, "mq-10")["stored"] == 1
    assert Registry(tempest_sub.data_dir).meter("mq-10")["route"] == "mqtt"
