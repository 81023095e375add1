"""A real Mosquitto per test, Tempest's subscriber as a process, and a test's own MQTT client."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support import ci_guard
from tests.support.mosquitto import Mosquitto
from tests.support.processes import stop_process
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture
def broker(tmp_path):
    b = Mosquitto(tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.fixture(autouse=True)
def _close_meter_connections():
    yield
    from meter.delivery import mqtt

    mqtt.close_all()


class TempestSubscriber:
    """`tempest mqtt-subscribe` on the test's data dir, started and stopped by PID."""

    def __init__(self, data_dir: Path, broker: Mosquitto):
        self.data_dir, self.broker = data_dir, broker
        self.proc: subprocess.Popen | None = None
        self.log = data_dir.parent / "subscriber.log"

    def start(self) -> TempestSubscriber:
        """Returns once it has subscribed: a day published before Tempest's first
        subscription has no session at the broker to wait in."""
        before = self._subscribed()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tempest", "mqtt-subscribe", "--data-dir",
                 str(self.data_dir), "--host", self.broker.host, "--port",
                 str(self.broker.port)], env=ENV, stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: self._subscribed() > before or self.proc.poll() is not None,
                 timeout=60, what="tempest mqtt-subscribe to subscribe")
        assert self.proc.poll() is None, self.log.read_text()
        return self

    def _subscribed(self) -> int:
        try:
            return self.log.read_text().count("tempest.mqtt subscribed to")
        except FileNotFoundError:
            return 0

    def stop(self) -> None:
        stop_process(self.proc)

    @property
    def drop(self) -> Path:
        return self.data_dir / "drop"


@pytest.fixture
def tempest_sub(tmp_path, broker):
    s = TempestSubscriber(tmp_path / "tempest", broker)
    yield s
    s.stop()


class Listener:
    """The test's own client: every message on `pattern`, in arrival order."""

    def __init__(self, broker: Mosquitto, pattern: str, client_id: str):
        paho = ci_guard.require_module("paho.mqtt.client", "the meter's mqtt extra")
        self.messages: list = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id,
                        clean_session=False)
        c.reconnect_delay_set(1, 2)

        def on_connect(client, *_):
            client.subscribe(pattern, qos=1)

        def on_subscribe(*_):
            self.subscribed.set()

        def on_message(_client, _userdata, msg):
            with self.lock:
                self.messages.append((msg.topic, bytes(msg.payload), msg.retain))

        c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
        c.connect_async(broker.host, broker.port, keepalive=5)
        c.loop_start()
        self.client = c
        assert self.subscribed.wait(15), "the test's MQTT client never subscribed"

    def on(self, topic: str) -> list:
        with self.lock:
            return [m for m in self.messages if m[0] == topic]

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish as anyone with access to the broker could (QoS 1, acknowledged)."""
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(15)
        assert info.is_published(), topic

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def listen(broker):
    made: list[Listener] = []

    def make(pattern: str, client_id: str = "test-listener") -> Listener:
        made.append(Listener(broker, pattern, client_id))
        return made[-1]

    yield make
    for item in made:
        item.close()
