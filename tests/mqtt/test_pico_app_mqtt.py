"""The whole Pico W program (main.py) on MQTT (delivery.mode "mqtt"), on the real MicroPython
(tests/pico_harness: fakes only for Wi-Fi, the clock and the board) under a Pico-sized heap,
against a real Mosquitto and a real `tempest mqtt-subscribe`: its sealed days end in Tempest
byte for byte, its heartbeats are in the registry, it reconnects after a broker restart, and
its Last Will is recorded as a last gasp when it dies. Fixed dates (the fake clock's world)."""

from __future__ import annotations

from pathlib import Path

import pytest

from meter import pico_config
from meter.config import from_dict
from tests.mqtt.test_mqtt_presence import Registry, tempest_cli
from tests.mqtt.test_mqtt_route import ingest
from tests.pico import picotest
from tests.pico.picotest import build_image, fast
from tests.pico_harness import runner
from tests.support.waiting import wait_for


def dropped_days(drop: Path) -> set[str]:
    return {p.name[7:17] for p in drop.glob("pico-1/pico-1_*.mqtt-*.json")}


def test_a_pico_on_mqtt_delivers_its_days_and_heartbeats_to_tempest(tmp_path, broker,
                                                                      tempest_sub):
    picotest.require("micropython", "mpy-cross")
    raw = picotest.raw_config(delivery={"mode": "mqtt"},
                              mqtt={"host": broker.host, "port": broker.port,
                                    "keepalive_s": 10})
    flash = tmp_path / "flash"
    # An hourly heartbeat: the fake clock runs days in seconds, and each heartbeat waits for
    # its PUBACK in real time.
    build_image(flash, raw, options={"heartbeat_s": 3600})
    tempest_cli(tempest_sub.data_dir, "meters", "add", "pico-1", "--timezone", "Europe/Berlin")
    tempest_sub.start()
    reg = Registry(tempest_sub.data_dir)
    # The heap a Pico W leaves the program (as tests/pico/test_demo.py's 192 KiB).
    heap = str(picotest.cap_for_program(tmp_path, 192))
    p = runner.start(flash, heap=heap, control=fast("2024-06-10T21:45:00"))
    try:
        wait_for(lambda: dropped_days(tempest_sub.drop), 180, 0.2,
                 "the Pico's first day in the drop folder")
        beat = wait_for(lambda: (m := reg.meter("pico-1"))["heartbeats"] and m, 60, 0.2,
                        "the Pico's heartbeat in the registry")
        before = dropped_days(tempest_sub.drop)
        broker.restart()  # the Pico's connection breaks: it reconnects, after a backoff
        wait_for(lambda: dropped_days(tempest_sub.drop) - before, 240, 0.2,
                 "its next day after the broker restart")
    finally:
        p.stop()  # killed: no DISCONNECT, so the broker publishes its Last Will
        res = p.wait()
    assert beat["kind"] == "pico" and beat["heartbeat_route"] == "mqtt"
    assert beat["diagnostics"]["free_mem"] > 0
    gasp = wait_for(lambda: reg.meter("pico-1")["last_gasp_at"], 30, 0.2, "the last gasp")
    assert gasp
    assert not [e for e in res.events if e[1] in ("wdt-expired", "reset")], res.events[-20:]
    crash = flash / "crash.log"
    assert not crash.exists() or "MemoryError" not in crash.read_text()

    # Every day the Pico moved to sent/ is in Tempest, byte for byte, stored once.
    outcome = ingest(tempest_sub.data_dir, "pico-1")
    sent = picotest.flash_files(flash, "sent")  # the newest few (sent_keep)
    assert sent and outcome.get("stored", 0) >= len(sent)
    stored = reg.rows("SELECT reading_day, route FROM days JOIN meters USING (serial)")
    assert {route for _, route in stored} == {"mqtt"}
    archive = tempest_sub.data_dir / "archive" / "pico-1"
    archived = {p.name[7:17]: p.read_bytes() for p in archive.glob("*.json")}
    for name, data in sent.items():
        assert archived[name[7:17]] == data, name
    assert reg.meter("pico-1")["route"] == "mqtt"


def test_a_pico_mqtt_config_is_checked_naming_the_field():
    """What the Pico cannot use is refused when its config.json is made (the deploy), naming
    the field; a good one carries the broker's settings, its timeout held under the watchdog."""
    def options(**extra) -> dict:
        raw = picotest.raw_config(delivery={"mode": "mqtt"}, **extra)
        return pico_config.document(from_dict(raw))["pico"]

    got = options(mqtt={"host": "broker.lan", "timeout_s": 5, "qos": 0})["mqtt"]
    assert (got["host"], got["port"], got["prefix"], got["qos"]) == ("broker.lan", 1883,
                                                                     "meters", 0)
    assert got["timeout_s"] == 2.0 and got["client_id"] == "meter-pico-1"
    assert "mqtt" not in pico_config.document(from_dict(picotest.raw_config()))["pico"]
    for extra, field in (({}, "mqtt.host"), ({"mqtt": {"host": "b", "keepalive_s": 5}},
                                             "mqtt.keepalive_s")):
        with pytest.raises(pico_config.PicoConfigError) as err:
            options(**extra)
        assert err.value.field == field, err.value
