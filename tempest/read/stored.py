"""Stored days as whole objects for the sinks and exports: the day row, its channels' Wh
arrays and its quality, read in bulk (two ordered scans for a range, not a query per day)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from tempest import codec

_COLUMNS = ("serial, reading_day, hash, status, interval, timezone, first_end, expected, "
            "quality, channels, opening, closing, stored_at, versions, file_id")


@dataclass
class StoredDay:
    serial: str
    reading_day: str
    hash: str  # the stored file's sha256: the day's version
    status: str
    interval: int  # minutes
    timezone: str
    first_end: int  # UTC minute at which the first interval ends
    expected: int
    quality: bytes  # one byte per interval: A, E, M, or - (not reached)
    channels: dict[str, dict]  # name -> {"role", "unit", ...} in file order
    values: dict[str, np.ndarray]  # int32 Wh per interval, -1 where there is no reading
    opening: dict[str, int] | None
    closing: dict[str, int] | None
    stored_at: float
    versions: int
    file_id: str
    # A sensor meter's measurements: name -> {"unit", "decimals", "values"} (integers in units
    # of 10**-decimals, None where there is none). Never energy: not in `channels`.
    measurements: dict[str, dict] = field(default_factory=dict)

    def ends(self) -> np.ndarray:
        """Each interval's end as a UTC minute."""
        return self.first_end + np.arange(self.expected, dtype=np.int64) * self.interval

    def labels(self) -> tuple[str, ...]:
        """Each interval's end as ISO 8601 with the meter's offset (as in the day file)."""
        return codec.labels(self.timezone, self.first_end, self.expected, self.interval)

    def channel(self, name: str) -> np.ndarray:
        """A channel's Wh; a declared channel without a stored row has no readings."""
        got = self.values.get(name)
        if got is None:
            return np.full(self.expected, codec.NO_READING, dtype=np.int32)
        return got


_scan = json.JSONDecoder().scan_once


def _json(text: str):
    """json.loads for the store's own compact JSON (json.dumps output: no leading space), by
    the decoder's C scanner directly: a sink reads three of these per day, and json.loads'
    Python layers cost more than the parse."""
    try:
        return _scan(text, 0)[0]
    except StopIteration:
        return json.loads(text)


def _day(row, blobs: dict[str, bytes], measured: dict[str, dict] | None = None) -> StoredDay:
    return StoredDay(
        serial=row["serial"], reading_day=row["reading_day"], hash=row["hash"],
        status=row["status"], interval=row["interval"], timezone=row["timezone"],
        first_end=row["first_end"], expected=row["expected"], quality=bytes(row["quality"]),
        channels=_json(row["channels"]),
        values={name: codec.unpack(blob) for name, blob in blobs.items()},
        opening=_json(row["opening"]) if row["opening"] else None,
        closing=_json(row["closing"]) if row["closing"] else None,
        stored_at=row["stored_at"], versions=row["versions"], file_id=row["file_id"],
        measurements=measured or {})


def _measured(conn: sqlite3.Connection, where: str, params: list,
              prefix: str = "") -> dict[tuple[str, str], dict[str, dict]]:
    """{(serial, day): {name: {"unit", "decimals", "values"}}} in the day file's order."""
    out: dict[tuple[str, str], dict[str, dict]] = {}
    for serial, day, name, unit, decimals, vals in conn.execute(
            f"{prefix}SELECT serial, reading_day, channel, unit, decimals, vals FROM measurements "
            f"{where} ORDER BY serial, reading_day, position", params).fetchall():
        out.setdefault((serial, day), {})[name] = {"unit": unit, "decimals": decimals,
                                                   "values": json.loads(vals)}
    return out


def one(conn: sqlite3.Connection, serial: str, reading_day: str) -> StoredDay | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM days WHERE serial = ? AND reading_day = ?",
                       (serial, reading_day)).fetchone()
    if row is None:
        return None
    blobs = {r[0]: r[1] for r in conn.execute(
        "SELECT channel, wh FROM readings WHERE serial = ? AND reading_day = ?",
        (serial, reading_day))}
    measured = _measured(conn, "WHERE serial = ? AND reading_day = ?", [serial, reading_day])
    return _day(row, blobs, measured.get((serial, reading_day)))


def many(conn: sqlite3.Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str],
                                                                       StoredDay]:
    """Several meter-days in two queries (the sink worker reads a batch of queue items)."""
    out: dict[tuple[str, str], StoredDay] = {}
    for i in range(0, len(keys), 400):  # well under SQLite's bound-parameter limit
        chunk = keys[i:i + 400]
        values = ", ".join("(?, ?)" for _ in chunk)
        params = [x for key in chunk for x in key]
        rows = conn.execute(
            f"WITH k (serial, reading_day) AS (VALUES {values}) SELECT {_COLUMNS} FROM days "
            "JOIN k USING (serial, reading_day)", params).fetchall()
        blobs: dict[tuple[str, str], dict[str, bytes]] = {}
        plain = conn.cursor()
        plain.row_factory = None  # plain tuples: this loop runs for every channel of every day
        for serial, day, channel, wh in plain.execute(
                f"WITH k (serial, reading_day) AS (VALUES {values}) SELECT serial, reading_day, "
                "channel, wh FROM readings JOIN k USING (serial, reading_day)", params):
            blobs.setdefault((serial, day), {})[channel] = wh
        measured = _measured(conn, "JOIN k USING (serial, reading_day)", params,
                             f"WITH k (serial, reading_day) AS (VALUES {values}) ")
        for row in rows:
            key = (row["serial"], row["reading_day"])
            out[key] = _day(row, blobs.get(key, {}), measured.get(key))
    return out


def serials(conn: sqlite3.Connection, first: str, last: str,
            wanted: Iterable[str] | None = None) -> list[str]:
    """Meters with at least one stored day in [first, last], in order."""
    if wanted:
        out = []
        for serial in sorted(set(wanted)):
            if conn.execute("SELECT 1 FROM days WHERE serial = ? AND reading_day >= ? AND "
                            "reading_day <= ? LIMIT 1", (serial, first, last)).fetchone():
                out.append(serial)
        return out
    return [r[0] for r in conn.execute(
        "SELECT DISTINCT serial FROM days WHERE reading_day >= ? AND reading_day <= ? "
        "ORDER BY serial", (first, last))]


def meter_range(conn: sqlite3.Connection, serial: str, first: str,
                last: str) -> Iterator[StoredDay]:
    """One meter's stored days in [first, last], oldest first: two primary-key range scans
    merged, so a month of a meter costs two queries."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM days WHERE serial = ? AND reading_day >= ? AND "
        "reading_day <= ? ORDER BY reading_day", (serial, first, last)).fetchall()
    blobs: dict[str, dict[str, bytes]] = {}
    for day, channel, wh in conn.execute(
            "SELECT reading_day, channel, wh FROM readings WHERE serial = ? AND "
            "reading_day >= ? AND reading_day <= ?", (serial, first, last)):
        blobs.setdefault(day, {})[channel] = wh
    for row in rows:
        yield _day(row, blobs.get(row["reading_day"], {}))
