"""Heartbeats and Last Wills over MQTT into the registry (docs/protocol.md, "MQTT").

    <p>/<serial>/heartbeat   the heartbeat document of POST /api/v1/heartbeats: recorded by
                             tempest.registry.record(), the very checks and write an HTTP
                             heartbeat gets, with the heartbeat's route `mqtt`
    <p>/<serial>/state       {"state": "offline", "reason": "last gasp"}: the meter's Last Will.
                             The registry's `last_gasp_at` and a `last_gasp` event in
                             meter_events (the meter's events, shown beside its day)

The topic is the meter's identity here, as a key is on HTTP: with a broker ACL that lets each
meter write only under its own topics, the body's `serial` must be the topic's (as an HTTP
heartbeat's must be its key's), and the meter must be registered (no key, no heartbeat).

Retained copies are skipped: the broker hands the latest heartbeat and state again on every
subscription, and Tempest's persistent session already delivered each once (a heartbeat
taken again would mark a dead meter online). A last gasp counts once: another copy of one
(QoS 1 is at least once) before the meter's next heartbeat adds nothing.
"""

from __future__ import annotations

import json
import logging

from tempest import names, registry
from tempest.db import transaction

log = logging.getLogger("tempest.mqtt")

KINDS = ("heartbeat", "state")
# meter_events keeps DLMS standard event codes (1-255); a last gasp is not one of them: it
# says the connection died (power, crash or network), not that the power went down.
LAST_GASP_CODE = 256


def parse_topic(prefix: str, topic: str) -> tuple[str, str] | None:
    """(serial, kind) of `<prefix>/<serial>/heartbeat|state`, or None if it is not one."""
    head = prefix + "/"
    if not topic.startswith(head):
        return None
    parts = topic[len(head):].split("/")
    if len(parts) != 2 or parts[1] not in KINDS or not names.valid_serial(parts[0]):
        return None
    return parts[0], parts[1]


def _document(serial: str, payload: bytes) -> dict | None:
    try:
        doc = json.loads(payload)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) and doc.get("serial") == serial else None


def _registered(conn, serial: str) -> bool:
    return conn.execute("SELECT 1 FROM meters WHERE serial = ?", (serial,)).fetchone() is not None


def take(conn, serial: str, kind: str, payload: bytes, retained: bool, now: float) -> str:
    """Record one heartbeat or state message; returns what was done (for the log). A store
    error propagates: the caller does not acknowledge, and the broker sends it again."""
    if retained:
        return "skipped: a retained copy"
    doc = _document(serial, payload)
    if doc is None:
        return "ignored: not a JSON object naming the topic's serial"
    if not _registered(conn, serial):
        return f"ignored: meter {serial} is not registered with Tempest"
    if kind == "heartbeat":
        try:
            registry.record(conn, serial, doc, now, via="mqtt")
        except registry.BadHeartbeat as exc:
            return f"refused: {exc.field}: {exc.reason}"
        return "recorded"
    if doc.get("state") == "offline" and doc.get("reason") == "last gasp":
        return _last_gasp(conn, serial, now)
    return "noted"  # online, or a goodbye: the heartbeats say whether it is up


def _last_gasp(conn, serial: str, now: float) -> str:
    with transaction(conn):
        row = conn.execute("SELECT last_seen, last_gasp_at FROM meters WHERE serial = ?",
                           (serial,)).fetchone()
        gasp, seen = row["last_gasp_at"], row["last_seen"]
        if gasp is not None and (seen is None or gasp >= seen):
            return "skipped: a last gasp already recorded since its last heartbeat"
        conn.execute("UPDATE meters SET last_gasp_at = ? WHERE serial = ?", (now, serial))
        conn.execute(
            "INSERT INTO meter_events (serial, at, code, event, source, read_at) "
            "VALUES (?, ?, ?, 'last_gasp', 'mqtt', ?) ON CONFLICT DO NOTHING",
            (serial, now, LAST_GASP_CODE, now))
    return "recorded a last gasp"
