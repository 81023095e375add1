"""Store a validated day file: keep the most complete version of each meter-day.

Called inside the ingest worker's transaction, so the file row, the day, its readings, the log
line and the sinks' hook commit together or not at all. The rule (docs/protocol.md): `sealed`
beats `open`; then more intervals accounted for; then the later delivery. The last tie-break is
the content hash, so the outcome never depends on the order files are processed in (after a
crash, a restart may meet them in another order).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from core.dayfile_reader import ESTIMATED, Day
from tempest import codec, hooks


@dataclass(frozen=True)
class Delivery:
    """One file as it arrived."""

    id: str
    hash: str
    name: str
    size: int
    source: str
    delivered_at: float
    route: str | None = None  # the meter's delivery route, once known (tempest/routes.py)


@dataclass(frozen=True)
class Result:
    outcome: str  # stored | replaced | unchanged | kept
    message: str


def _rank(status: str, accounted: int, delivered_at: float, digest: str) -> tuple:
    return (status == "sealed", accounted, delivered_at, digest)


def _describe(status: str, accounted: int, expected: int) -> str:
    return f"{status}, {accounted}/{expected} intervals"


def record_day(conn: sqlite3.Connection, day: Day, delivery: Delivery, path: str,
               now: float) -> Result:
    serial, reading_day = day.serial, day.reading_day
    accounted = day.accounted()
    # No meter is registered here: ingest takes days only of meters Tempest knows
    # (tempest/ingest/scope.py), and a file of any other is quarantined.
    current = conn.execute(
        "SELECT file_id, hash, status, accounted, expected, delivered_at, versions FROM days "
        "WHERE serial = ? AND reading_day = ?", (serial, reading_day)).fetchone()
    this = _describe(day.status, accounted, day.expected)
    if current is None:
        _write_day(conn, day, delivery, now, versions=1)
        result = Result("stored", f"stored {serial} {reading_day} ({this})")
    elif current["hash"] == delivery.hash:
        result = Result("unchanged", f"{serial} {reading_day}: same content as stored file "
                        f"{current['file_id']}")
    else:
        old = _describe(current["status"], current["accounted"], current["expected"])
        new_rank = _rank(day.status, accounted, delivery.delivered_at, delivery.hash)
        old_rank = _rank(current["status"], current["accounted"], current["delivered_at"],
                         current["hash"])
        if new_rank > old_rank:
            _write_day(conn, day, delivery, now, versions=current["versions"] + 1)
            result = Result("replaced", f"replaced {serial} {reading_day}: file "
                            f"{current['file_id']} ({old}) by {delivery.id} ({this})")
        else:
            result = Result("kept", f"kept {serial} {reading_day} from file "
                            f"{current['file_id']} ({old}); {delivery.id} ({this}) archived "
                            "unused")
    notes = day.notes
    message = result.message + ("; " + "; ".join(notes) if notes else "")
    _file_row(conn, delivery, serial, reading_day, (day.status, accounted, day.expected,
                                                    day.shape), result.outcome, path,
              notes, message, now)
    if result.outcome in ("stored", "replaced"):
        hooks.on_day_stored(conn, serial, reading_day)
    return result


def stored_as(conn: sqlite3.Connection, digest: str):
    """The stored day whose current version has exactly these bytes, if any."""
    return conn.execute("SELECT serial, reading_day, file_id, status, accounted, expected, shape "
                        "FROM days WHERE hash = ?", (digest,)).fetchone()


def record_unchanged(conn: sqlite3.Connection, known, delivery: Delivery, path: str,
                     now: float) -> Result:
    """A delivery of bytes that are already the stored version: nothing to parse or store."""
    result = Result("unchanged", f"{known['serial']} {known['reading_day']}: same content as "
                    f"stored file {known['file_id']}")
    _file_row(conn, delivery, known["serial"], known["reading_day"],
              (known["status"], known["accounted"], known["expected"], known["shape"]),
              result.outcome, path, [], result.message, now)
    return result


def _file_row(conn: sqlite3.Connection, delivery: Delivery, serial: str, reading_day: str,
              facts: tuple, outcome: str, path: str, notes: list, message: str,
              now: float) -> None:
    """The delivery's files row, its log line and the meter's counters."""
    status, accounted, expected, shape = facts
    conn.execute(
        "INSERT INTO files (id, hash, serial, reading_day, day_status, accounted, expected, "
        "shape, source, name, size, delivered_at, ingested_at, outcome, path, notes) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (delivery.id, delivery.hash, serial, reading_day, status, accounted, expected, shape,
         delivery.source, delivery.name, delivery.size, delivery.delivered_at, now, outcome,
         path, json.dumps(notes) if notes else None))
    log(conn, now, delivery.id, serial, reading_day, outcome, message)
    conn.execute(
        "UPDATE meters SET days_stored = days_stored + ?, files_archived = files_archived + 1, "
        "last_day = CASE WHEN last_day IS NULL OR last_day < ? THEN ? ELSE last_day END, "
        "last_file_at = ?, route = COALESCE(?, route) WHERE serial = ?",
        (1 if outcome == "stored" else 0, reading_day, reading_day, now, delivery.route, serial))


def _write_day(conn: sqlite3.Connection, day: Day, delivery: Delivery, now: float,
               versions: int) -> None:
    serial, reading_day = day.serial, day.reading_day
    meta = day.metadata or {}
    totals = {name: day.total(name) for name in day.channels}
    conn.execute(
        "INSERT OR REPLACE INTO days (serial, reading_day, file_id, hash, status, interval, "
        "timezone, first_end, expected, accounted, recorded, estimated, quality, channels, "
        "totals, opening, closing, shape, meter_version, data_model_version, delivered_at, "
        "stored_at, versions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?)",
        (serial, reading_day, delivery.id, delivery.hash, day.status, day.interval, day.timezone,
         day.ends[0], day.expected, day.accounted(), day.recorded(),
         sum(1 for q in day.quality if q == ESTIMATED), codec.pack_quality(day.quality),
         json.dumps(day.channels), json.dumps(totals),
         json.dumps(day.opening) if day.opening is not None else None,
         json.dumps(day.closing) if day.closing is not None else None,
         day.shape, _text(meta.get("version")), _text(meta.get("data_model_version")),
         delivery.delivered_at, now, versions))
    # A new version may have other channels than the old one: replace the whole set.
    conn.execute("DELETE FROM readings WHERE serial = ? AND reading_day = ?",
                 (serial, reading_day))
    conn.executemany(
        "INSERT INTO readings (serial, reading_day, channel, wh) VALUES (?, ?, ?, ?)",
        [(serial, reading_day, name, codec.pack(values)) for name, values in day.values.items()])
    conn.execute("DELETE FROM measurements WHERE serial = ? AND reading_day = ?",
                 (serial, reading_day))
    conn.executemany(
        "INSERT INTO measurements (serial, reading_day, channel, position, unit, decimals, "
        "sensor, vals) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(serial, reading_day, name, i, m["unit"], m["decimals"], m["sensor"],
          json.dumps(m["values"], separators=(",", ":")))
         for i, (name, m) in enumerate(day.measurements.items())])


def _text(value) -> str | None:
    return str(value)[:64] if value is not None else None


def log(conn: sqlite3.Connection, now: float, file_id: str | None, serial: str | None,
        reading_day: str | None, event: str, message: str) -> None:
    conn.execute(
        "INSERT INTO ingest_log (at, file_id, serial, reading_day, event, message) "
        "VALUES (?, ?, ?, ?, ?, ?)", (now, file_id, serial, reading_day, event, message[:2000]))
