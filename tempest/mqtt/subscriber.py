"""The MQTT route into the drop folder: subscribe to `<prefix>/+/day/+`, write each day file;
and to `<prefix>/+/heartbeat` and `<prefix>/+/state`, recorded in the registry (presence.py).

Nothing is lost and nothing is stored twice:

- A persistent session (clean_session false, a fixed client id) with a QoS 1 subscription: the
  broker keeps the days published while Tempest is away and hands them over when it is back.
- Manual acknowledgement: a day is acknowledged (PUBACK) only once its file is whole in the
  drop folder (temporary name, fsync, rename). If Tempest dies before, or the write fails, the
  broker sends the message again on the next connection.
- The file's name carries the first 16 hex digits of the bytes' sha256, so the same day
  delivered twice before ingest took it is one file, and after that ingest recognises the same
  bytes and stores them once (principle 2 of docs/architecture.md).

The topic is not trusted: a serial or day that is not a valid name, or a payload bigger than
MAX_CONTENT_LENGTH, is logged and acknowledged (sending it again would not make it better).
A day goes into the topic's meter folder, `<drop>/<serial>/` (tempest/ingest/scope.py), so
ingest takes from it only that meter's days (another meter's is quarantined with the reason)
and holds what waits there to the meter's quota: with a broker ACL that lets each meter write
only under its own topics, no meter can deliver another's days. Whether the bytes are a good
day file is ingest's verdict, as for every route.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tempest import db, names
from tempest.ingest import dropbox
from tempest.mqtt import presence

log = logging.getLogger("tempest.mqtt")

# The longest a failed write holds up the next try: the broker resends on reconnection.
_MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class BrokerSettings:
    host: str
    port: int = 1883
    prefix: str = "meters"
    client_id: str = "tempest"
    username: str | None = None
    password: str | None = None
    keepalive_s: int = 60


def drop_name(serial: str, day: str, data: bytes) -> str:
    return f"{serial}_{day}.mqtt-{hashlib.sha256(data).hexdigest()[:16]}.json"


def parse_topic(prefix: str, topic: str) -> tuple[str, str] | None:
    """(serial, day) of `<prefix>/<serial>/day/<day>`, or None if it is not one."""
    head = prefix + "/"
    if not topic.startswith(head):
        return None
    parts = topic[len(head):].split("/")
    if len(parts) != 3 or parts[1] != "day":
        return None
    serial, day = parts[0], parts[2]
    if not names.valid_serial(serial) or not names.valid_day(day):
        return None
    return serial, day


class Subscriber:
    def __init__(self, s: BrokerSettings, drop: Path, max_bytes: int,
                 database: Path | str | None = None):
        self.s, self.drop, self.max_bytes = s, Path(drop), max_bytes
        # The store heartbeats and last gasps go to (None: days only). Its connection is
        # opened in, and used only by, the client's network thread (one at a time).
        self.database = database
        self._conn = None
        self.stored = 0  # files written (tests and the log)
        self.failed = threading.Event()  # a write failed: reconnect so the broker resends
        self.connected = threading.Event()

    def _client(self):
        import paho.mqtt.client as paho

        c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=self.s.client_id,
                        protocol=paho.MQTTv311, clean_session=False, manual_ack=True)
        if self.s.username:
            c.username_pw_set(self.s.username, self.s.password)
        c.reconnect_delay_set(min_delay=1, max_delay=30)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        return c

    def _on_connect(self, client, _userdata, _flags, reason, _props) -> None:
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            return
        topics = ["day/+", *(presence.KINDS if self.database is not None else ())]
        client.subscribe([(f"{self.s.prefix}/+/{t}", 1) for t in topics])
        self.connected.set()
        log.info("subscribed to %s on %s:%s", ", ".join(f"{self.s.prefix}/+/{t}" for t in topics),
                 self.s.host, self.s.port)

    def _on_disconnect(self, _client, _userdata, _flags, reason, _props) -> None:
        if self.connected.is_set():
            log.warning("broker connection lost: %s", reason)
        self.connected.clear()

    def _on_message(self, client, _userdata, msg) -> None:
        if self.failed.is_set():
            return  # not acknowledged: the broker sends it again after the reconnection
        if self.database is not None and len(msg.payload) <= self.max_bytes:
            meter = presence.parse_topic(self.s.prefix, msg.topic)
            if meter is not None:
                self._presence(client, msg, *meter)
                return
        got = parse_topic(self.s.prefix, msg.topic)
        if got is None or len(msg.payload) > self.max_bytes:
            log.warning("ignored %s (%d bytes): not <prefix>/<serial>/day/<YYYY-MM-DD> with a "
                        "payload of at most %d bytes", msg.topic, len(msg.payload),
                        self.max_bytes)
            client.ack(msg.mid, msg.qos)
            return
        serial, day = got
        name = drop_name(serial, day, msg.payload)
        try:
            dropbox.write_atomic(self.drop / serial, name, msg.payload)
        except OSError as exc:
            log.error("%s not written to the drop folder (the broker will resend it): %s",
                      name, exc)
            self.failed.set()
            return
        self.stored += 1
        log.info("dropped %s (%d bytes)", name, len(msg.payload))
        client.ack(msg.mid, msg.qos)

    def _presence(self, client, msg, serial: str, kind: str) -> None:
        """A heartbeat or state message into the registry, acknowledged once recorded."""
        try:
            if self._conn is None:
                self._conn = db.connect(self.database)
            done = presence.take(self._conn, serial, kind, bytes(msg.payload), bool(msg.retain),
                                 time.time())
        except Exception as exc:  # noqa: BLE001 - the store's (SQLite or PostgreSQL): resent
            log.error("%s not recorded (the broker will resend it): %s", msg.topic, exc)
            self._close_db()
            self.failed.set()
            return
        log.info("%s %s", msg.topic, done)
        client.ack(msg.mid, msg.qos)

    def _close_db(self) -> None:
        if self._conn is not None:
            # A broken connection may fail to close: a new one is opened next time anyway.
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set. Reconnects by itself (paho's thread, capped backoff)."""
        backoff = 1.0
        while not stop.is_set():
            client = self._client()
            client.connect_async(self.s.host, self.s.port, keepalive=self.s.keepalive_s)
            client.loop_start()
            while not stop.is_set() and not self.failed.is_set():
                stop.wait(0.2)
            client.disconnect()
            client.loop_stop()
            self.connected.clear()
            if self.failed.is_set():
                stop.wait(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)
                self.failed.clear()
            else:
                backoff = 1.0
        self._close_db()
