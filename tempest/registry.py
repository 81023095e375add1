"""The meter registry as heartbeats keep it: who is online, stale, offline or never seen.

A heartbeat is checked field by field (docs/protocol.md), then updates the meter's row and adds
one history row, in one transaction. The history keeps only the checked fields (KEPT), whole:
it once kept the body as received cut at 4,000 characters, and one large heartbeat left a row
that no longer parsed and took the heartbeat pages down.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime

from tempest.db import transaction

STATUSES = ("online", "stale", "offline", "never_seen")
_CONFIG_HASH = re.compile(r"sha256:[0-9a-f]{64}")  # fullmatch: `$` would let "\n" through
_KINDS = ("pi", "pico", "seed")
_MAX_TEXT = 200
_MAX_COUNT = 2**53  # exact in every JSON reader, and fits SQLite's INTEGER
# Fields that name or locate something (an address, a URL, a version...): one line each, so
# no control character, above all no line break (they reach logs, pages and the agent client).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The heartbeat fields Tempest keeps in its history, each checked in check() below.
KEPT = ("serial", "kind", "version", "address", "ip", "agent_url", "timestamp", "last_tick",
        "config_hash", "outbox_backlog", "free_disk_bytes", "uptime_s", "free_mem",
        "reset_cause", "last_error")


class BadHeartbeat(ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _text(body: dict, field: str, limit: int = _MAX_TEXT, line: bool = True) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise BadHeartbeat(field, f"must be a string of at most {limit} characters")
    if line and _CONTROL.search(value):
        raise BadHeartbeat(field, "must be one line without control characters")
    return value


def _count(body: dict, field: str) -> int | None:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_COUNT:
        raise BadHeartbeat(field, f"must be an integer from 0 to {_MAX_COUNT}")
    return value


def _instant(body: dict, field: str) -> datetime | None:
    text = _text(body, field, 40)
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadHeartbeat(field, "must be an ISO 8601 time") from exc
    return when


def check(body: dict) -> dict:
    """The registry fields of a heartbeat, validated (BadHeartbeat names the first bad one)."""
    address, ip = _text(body, "address", 100), _text(body, "ip", 100)
    fields = {
        "address": address or ip,
        "agent_url": _text(body, "agent_url"),
        "version": _text(body, "version", 64),
        "config_hash": _text(body, "config_hash", 80),
        "backlog": _count(body, "outbox_backlog"),
        "free_disk_bytes": _count(body, "free_disk_bytes"),
        "kind": _text(body, "kind", 16),
    }
    if fields["agent_url"] and not fields["agent_url"].startswith(("http://", "https://")):
        raise BadHeartbeat("agent_url", "must be an http:// or https:// URL")
    if fields["config_hash"] and not _CONFIG_HASH.fullmatch(fields["config_hash"]):
        raise BadHeartbeat("config_hash", "must be sha256: and 64 hex digits")
    if fields["kind"] and fields["kind"] not in _KINDS:
        raise BadHeartbeat("kind", f"must be one of {', '.join(_KINDS)}")
    last_tick = _instant(body, "last_tick")
    fields["last_tick"] = body["last_tick"] if last_tick else None
    fields["meter_time"] = _instant(body, "timestamp")
    diagnostics = {}
    for name in ("uptime_s", "free_mem"):
        if (v := _count(body, name)) is not None:
            diagnostics[name] = v
    for name in ("reset_cause", "last_error"):  # free text (shown escaped), may span lines
        if (v := _text(body, name, 500, line=False)) is not None:
            diagnostics[name] = v
    fields["diagnostics"] = json.dumps(diagnostics) if diagnostics else None
    return fields


def kept(body: dict) -> str:
    """The history row's body: the KEPT fields of a heartbeat check() accepted, as JSON. Every
    one is bounded, so the row is a few kB at most and is never cut."""
    return json.dumps({k: body[k] for k in KEPT if body.get(k) is not None})


def stored_heartbeat(text: str | None) -> dict | None:
    """A history row's body as a dict; None for one that does not parse (an older Tempest cut
    bodies at 4,000 characters): such a row is shown without its details, never a 500."""
    try:
        doc = json.loads(text or "")
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def record(conn: sqlite3.Connection, serial: str, body: dict, now: float,
           via: str = "http") -> dict:
    """Record a heartbeat for `serial` (already authenticated), in a transaction of its own.
    `via` is the route it came by (tempest/routes.py: http, mqtt, concentrator). Every route
    records through here or record_in(). Returns the checked fields."""
    fields = check(body)
    with transaction(conn):
        _write(conn, serial, body, fields, now, via)
    return fields


def record_in(conn: sqlite3.Connection, serial: str, body: dict, now: float,
              via: str = "http") -> dict:
    """record() inside the caller's transaction: a concentrator's batch commits all its
    heartbeats at once (a commit per heartbeat was most of a batch's cost). BadHeartbeat is
    raised before anything of this one is written."""
    fields = check(body)
    _write(conn, serial, body, fields, now, via)
    return fields


_UPDATE = (
    "UPDATE meters SET first_seen = COALESCE(first_seen, ?), last_seen = ?, "
    "heartbeats = heartbeats + 1, clock_skew_s = ?, "
    "address = COALESCE(?, address), agent_url = COALESCE(?, agent_url), "
    "version = COALESCE(?, version), config_hash = COALESCE(?, config_hash), "
    "backlog = COALESCE(?, backlog), free_disk_bytes = COALESCE(?, free_disk_bytes), "
    "kind = COALESCE(?, kind), last_tick = COALESCE(?, last_tick), "
    "diagnostics = COALESCE(?, diagnostics), heartbeat_route = ? WHERE serial = ?")
_INSERT = ("INSERT INTO heartbeats (serial, received_at, meter_time, skew_s, address, body) "
           "VALUES (?, ?, ?, ?, ?, ?)")


def _rows(serial: str, body: dict, fields: dict, now: float, via: str) -> tuple[tuple, tuple]:
    """The parameters of the meter's UPDATE and the history's INSERT for one heartbeat."""
    meter_time = fields.pop("meter_time", None)
    skew = None
    if meter_time is not None and meter_time.tzinfo is not None:
        skew = round(now - meter_time.timestamp(), 3)
    return ((now, now, skew, fields["address"], fields["agent_url"], fields["version"],
             fields["config_hash"], fields["backlog"], fields["free_disk_bytes"],
             fields["kind"], fields["last_tick"], fields["diagnostics"], via, serial),
            (serial, now, body.get("timestamp") if meter_time else None, skew,
             fields["address"], kept(body)))


def _write(conn: sqlite3.Connection, serial: str, body: dict, fields: dict, now: float,
           via: str) -> None:
    meter, history = _rows(serial, body, fields, now, via)
    conn.execute(_UPDATE, meter)
    conn.execute(_INSERT, history)


def write_many(conn: sqlite3.Connection, beats: list[tuple]) -> None:
    """Heartbeats check() accepted, each (serial, body, fields, now, via), written in order
    inside the caller's transaction (tempest/web/beatbuffer.py's flush)."""
    rows = [_rows(*beat) for beat in beats]
    conn.executemany(_UPDATE, [meter for meter, _ in rows])
    conn.executemany(_INSERT, [history for _, history in rows])


def thresholds(config) -> tuple[float, float]:
    return float(config["ONLINE_SECONDS"]), float(config["STALE_SECONDS"])


def status_of(last_seen: float | None, now: float, online: float, stale: float) -> str:
    if last_seen is None:
        return "never_seen"
    age = now - last_seen
    if age <= online:
        return "online"
    if age <= stale:
        return "stale"
    return "offline"


def status_clause(status: str, now: float, online: float, stale: float) -> tuple[str, tuple]:
    """A WHERE clause (on the indexed last_seen) selecting meters in one status."""
    if status == "never_seen":
        return "last_seen IS NULL", ()
    if status == "online":
        return "last_seen >= ?", (now - online,)
    if status == "stale":
        return "last_seen < ? AND last_seen >= ?", (now - online, now - stale)
    if status == "offline":
        return "last_seen < ?", (now - stale,)
    raise ValueError(status)


def counts(conn: sqlite3.Connection, now: float, online: float, stale: float) -> dict:
    row = conn.execute(
        "SELECT count(*) AS meters, "
        "coalesce(sum(last_seen IS NULL), 0) AS never_seen, "
        "coalesce(sum(last_seen >= ?), 0) AS online, "
        "coalesce(sum(last_seen < ? AND last_seen >= ?), 0) AS stale, "
        "coalesce(sum(last_seen < ?), 0) AS offline, "
        "coalesce(sum(days_stored), 0) AS days_stored, "
        "coalesce(sum(files_archived), 0) AS files_archived FROM meters",
        (now - online, now - online, now - stale, now - stale)).fetchone()
    return dict(row)
