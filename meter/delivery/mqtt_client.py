"""One meter's MQTT connection (paho-mqtt): its settings, the Last Will, bounded waits, and
one connection per meter per process. What is published is meter/delivery/mqtt.py's business.

paho's network thread connects, reconnects (1 s, doubling to 30 s) and announces the meter
online after each connect; a caller never waits for it except in `ready` (a fresh connection's
first attempt) and `wait_acked`, both bounded by `mqtt.timeout_s`.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import time
from dataclasses import dataclass

from meter.config import Config
from meter.delivery.events import now_iso

log = logging.getLogger("meter.mqtt")


@dataclass(frozen=True)
class MqttSettings:
    host: str
    port: int
    prefix: str
    client_id: str
    username: str | None
    password: str | None
    qos: int  # intervals, heartbeats and events; sealed days always go with QoS 1
    keepalive_s: int
    timeout_s: float


def settings_of(cfg: Config) -> MqttSettings | None:
    """None when the meter publishes nothing over MQTT (no `mqtt` key, or a demo meter)."""
    m = cfg.raw.get("mqtt")
    if not m or m.get("enabled", True) is False or cfg.raw.get("demo") is True:
        return None
    return MqttSettings(host=m["host"], port=int(m.get("port", 1883)),
                        prefix=m.get("topic_prefix", "meters").strip("/"),
                        client_id=m.get("client_id") or f"meter-{cfg.serial}",
                        username=m.get("username"), password=m.get("password"),
                        qos=int(m.get("qos", 1)), keepalive_s=int(m.get("keepalive_s", 60)),
                        timeout_s=float(m.get("timeout_s", 5)))


def topic(s: MqttSettings, serial: str, *parts: str) -> str:
    return "/".join((s.prefix, serial, *parts))


def compact_json(doc: dict) -> bytes:
    """A payload: sorted keys, no spaces."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


class Publisher:
    """One meter's connection. paho's network thread connects, reconnects (capped backoff)
    and announces the meter online after each connect; callers never wait for it except in
    `ready` (a fresh connection's first attempt) and `wait_acked`, both bounded."""

    def __init__(self, serial: str, s: MqttSettings):
        import paho.mqtt.client as paho

        self.serial, self.s = serial, s
        self._connected = threading.Event()
        self._waited = False
        c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=s.client_id,
                        protocol=paho.MQTTv311, clean_session=True)
        if s.username:
            c.username_pw_set(s.username, s.password)
        c.will_set(topic(s, serial, "state"),
                   compact_json({"serial": serial, "state": "offline", "reason": "last gasp"}),
                   qos=1, retain=True)
        c.reconnect_delay_set(min_delay=1, max_delay=30)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        self.client = c
        c.connect_async(s.host, s.port, keepalive=s.keepalive_s)
        c.loop_start()

    def _on_connect(self, client, _userdata, _flags, reason, _props) -> None:
        if reason.is_failure:
            log.warning("%s: broker refused the connection: %s", self.serial, reason)
            return
        client.publish(topic(self.s, self.serial, "state"),
                       compact_json({"serial": self.serial, "state": "online", "time": now_iso()}),
                       qos=1, retain=True)
        self._connected.set()
        log.info("%s: connected to the broker %s:%s", self.serial, self.s.host, self.s.port)

    def _on_disconnect(self, _client, _userdata, _flags, reason, _props) -> None:
        if self._connected.is_set():
            log.warning("%s: broker connection lost: %s", self.serial, reason)
        self._connected.clear()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def ready(self) -> bool:
        """Connected? Waits (up to `timeout_s`) only for this connection's first attempt: a
        cron process has just made it. A long-lived process (`meter run`) whose broker is
        down gets False at once and publishes from disk once paho has reconnected."""
        if self.connected:
            return True
        if self._waited:
            return False
        self._waited = True
        return self._connected.wait(self.s.timeout_s)

    def publish(self, name: str | tuple, payload: bytes, qos: int, retain: bool = False):
        """The message's MQTTMessageInfo, or None when the broker is not connected (nothing
        is queued in memory then: the caller publishes again from disk later)."""
        if not self.connected:
            return None
        parts = (name,) if isinstance(name, str) else name
        info = self.client.publish(topic(self.s, self.serial, *parts), payload, qos=qos,
                                   retain=retain)
        return info if info.rc == 0 else None

    def wait_acked(self, infos: list, timeout: float) -> int:
        """How many of `infos`, from the first, the broker acknowledged within `timeout`."""
        deadline = time.monotonic() + timeout
        done = 0
        for info in infos:
            if info is None:
                break
            try:
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            except (RuntimeError, ValueError):
                break
            if not info.is_published():
                break
            done += 1
        return done

    def close(self, announce: bool = False) -> None:
        """Disconnect cleanly (no last gasp). `announce`: say "offline" first (`meter run`
        stopping); a cron process leaves the state "online" between its short visits."""
        if announce and self.connected:
            info = self.publish("state", compact_json({"serial": self.serial, "state": "offline",
                                                "reason": "stopped", "time": now_iso()}), 1,
                                retain=True)
            if info is not None:
                self.wait_acked([info], self.s.timeout_s)
        self.client.disconnect()
        self.client.loop_stop()


# One connection per meter per process: `meter run` keeps it across cycles (and so its Last
# Will stands for the process's life); a cron process closes it cleanly at exit.
_publishers: dict[str, tuple[MqttSettings, Publisher]] = {}
_lock = threading.Lock()


def publisher(cfg: Config) -> Publisher | None:
    s = settings_of(cfg)
    if s is None:
        return None
    with _lock:
        held = _publishers.get(cfg.serial)
        if held is not None and held[0] == s:
            return held[1]
        if held is not None:  # the config changed: a new connection with the new settings
            held[1].close()
        pub = Publisher(cfg.serial, s)
        if not _publishers:
            atexit.register(close_all)
        _publishers[cfg.serial] = (s, pub)
        return pub


def close_all(announce: bool = False) -> None:
    with _lock:
        items = list(_publishers.values())
        _publishers.clear()
    for _, pub in items:
        try:
            pub.close(announce)
        except Exception:  # noqa: BLE001 - closing is best effort
            log.exception("closing the MQTT connection")
