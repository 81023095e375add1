"""Stored days: their completeness, and one day's readings (one indexed lookup)."""

from __future__ import annotations

import json
import sqlite3

from core import civil
from core.dayfile_seed import moved_note
from tempest import codec
from tempest.isotime import iso

DAY_COLUMNS = ("serial, reading_day, file_id, hash, status, interval, timezone, first_end, "
               "expected, accounted, recorded, estimated, quality, channels, totals, opening, "
               "closing, shape, meter_version, data_model_version, delivered_at, stored_at, "
               "versions")


def _kwh_map(text: str | None) -> dict | None:
    if text is None:
        return None
    return {k: codec.kwh(v) for k, v in json.loads(text).items()}


def summary(row) -> dict:
    """A day's completeness: accounted (recorded or marked missing) and recorded, against the
    intervals the local day really has (23, 24 or 25 hours)."""
    expected = row["expected"]
    return {
        "day": row["reading_day"],
        "status": row["status"],
        "interval": row["interval"],
        "timezone": row["timezone"],
        "expected": expected,
        "accounted": row["accounted"],
        "recorded": row["recorded"],
        "estimated": row["estimated"],
        "missing": row["accounted"] - row["recorded"],
        "completeness": round(row["accounted"] / expected, 4),
        "coverage": round(row["recorded"] / expected, 4),
        "totals": _kwh_map(row["totals"]),
        "channels": list(json.loads(row["channels"])),
        "file_id": row["file_id"],
        "versions": row["versions"],
        "received_at": iso(row["delivered_at"]),
        "stored_at": iso(row["stored_at"]),
    }


def get(conn: sqlite3.Connection, serial: str, day: str):
    return conn.execute(f"SELECT {DAY_COLUMNS} FROM days WHERE serial = ? AND reading_day = ?",
                        (serial, day)).fetchone()


def named_by_seed(conn: sqlite3.Connection, serial: str, day: str):
    """The stored day whose file named itself `day` though its readings are the day before's
    (the seed's first meters named a day after the midnight that ends it; ingest stores such a
    file under the day its readings belong to, with a note): what the seed's own
    `/payload?day=` meant. None when there is no such day."""
    placed = civil.format_day(civil.parse_day(day) - 1)
    row = get(conn, serial, placed)
    if row is None:
        return None
    found = conn.execute("SELECT notes FROM files WHERE id = ?", (row["file_id"],)).fetchone()
    notes = json.loads(found["notes"]) if found is not None and found["notes"] else []
    return row if moved_note(day, placed) in notes else None


def listing(conn: sqlite3.Connection, serial: str, first: str | None, last: str | None,
            limit: int, offset: int = 0, newest_first: bool = True) -> list:
    sql = f"SELECT {DAY_COLUMNS} FROM days WHERE serial = ?"
    params: list = [serial]
    if first:
        sql += " AND reading_day >= ?"
        params.append(first)
    if last:
        sql += " AND reading_day <= ?"
        params.append(last)
    sql += f" ORDER BY reading_day {'DESC' if newest_first else 'ASC'} LIMIT ? OFFSET ?"
    return conn.execute(sql, (*params, limit, offset)).fetchall()


def count(conn: sqlite3.Connection, serial: str, first: str | None, last: str | None) -> int:
    sql = "SELECT count(*) FROM days WHERE serial = ?"
    params: list = [serial]
    if first:
        sql += " AND reading_day >= ?"
        params.append(first)
    if last:
        sql += " AND reading_day <= ?"
        params.append(last)
    return conn.execute(sql, params).fetchone()[0]


def reading_days(conn: sqlite3.Connection, serial: str) -> list[str]:
    """Every day stored for the meter, newest first."""
    return [r["reading_day"] for r in conn.execute(
        "SELECT reading_day FROM days WHERE serial = ? ORDER BY reading_day DESC", (serial,))]


def payloads(conn: sqlite3.Connection, serial: str) -> list[sqlite3.Row]:
    """What the seed's payload list shows of each stored day, oldest first."""
    return conn.execute(
        "SELECT reading_day, meter_version, data_model_version, interval, channels, opening "
        "FROM days WHERE serial = ? ORDER BY reading_day", (serial,)).fetchall()


def totals_between(conn: sqlite3.Connection, serial: str, first: str, last: str) -> dict:
    """{day: row} of the meter's stored days in [first, last]: completeness and totals, for
    the calendar and the daily chart."""
    return {r["reading_day"]: r for r in conn.execute(
        "SELECT reading_day, status, expected, recorded, estimated, accounted, channels, totals "
        "FROM days WHERE serial = ? AND reading_day >= ? AND reading_day <= ?",
        (serial, first, last))}


def span(conn: sqlite3.Connection) -> tuple[str | None, str | None]:
    """The first and last day stored for any meter (None, None for an empty store)."""
    row = conn.execute("SELECT min(reading_day), max(reading_day) FROM days").fetchone()
    return row[0], row[1]


def neighbours(conn: sqlite3.Connection, serial: str, day: str) -> tuple[str | None, str | None]:
    """The meter's stored days just before and just after `day`."""
    before = conn.execute("SELECT max(reading_day) FROM days WHERE serial = ? AND "
                          "reading_day < ?", (serial, day)).fetchone()[0]
    after = conn.execute("SELECT min(reading_day) FROM days WHERE serial = ? AND "
                         "reading_day > ?", (serial, day)).fetchone()[0]
    return before, after


def latest_file(conn: sqlite3.Connection, serial: str):
    """`reading_day, path` (the archive path, relative to the data dir) of the meter's latest
    stored day, or None."""
    return conn.execute("SELECT d.reading_day, f.path FROM days d JOIN files f ON f.id = d.file_id "
                        "WHERE d.serial = ? ORDER BY d.reading_day DESC LIMIT 1",
                        (serial,)).fetchone()


def channel_blobs(conn: sqlite3.Connection, serial: str, day: str) -> dict[str, bytes]:
    rows = conn.execute("SELECT channel, wh FROM readings WHERE serial = ? AND reading_day = ?",
                        (serial, day)).fetchall()
    return {r["channel"]: r["wh"] for r in rows}


def grid(row) -> tuple[str, ...]:
    return codec.labels(row["timezone"], row["first_end"], row["expected"], row["interval"])


def readings(conn: sqlite3.Connection, row) -> dict:
    """Every channel of one day on its grid, as parallel arrays (compact to send and chart)."""
    blobs = channel_blobs(conn, row["serial"], row["reading_day"])
    declared = json.loads(row["channels"])
    opening = json.loads(row["opening"]) if row["opening"] else {}
    closing = json.loads(row["closing"]) if row["closing"] else {}
    totals = json.loads(row["totals"])
    channels = {}
    for name, info in declared.items():
        values = codec.unpack_list(blobs[name]) if name in blobs else [None] * row["expected"]
        channels[name] = {
            "role": info.get("role"), "unit": info.get("unit", "kWh"),
            "total": codec.kwh(totals.get(name)),
            "opening": codec.kwh(opening.get(name)), "closing": codec.kwh(closing.get(name)),
            "values": [None if v is None else v / 1000 for v in values],
        }
    body = summary(row)
    body.update(serial=row["serial"], timestamps=list(grid(row)),
                quality=codec.quality_names(row["quality"]), channels=channels)
    body["channel_names"] = list(declared)
    body["measurements"] = measurements(conn, row["serial"], row["reading_day"])
    return body


def value_of(v: int | None, decimals: int) -> int | float | None:
    """A stored measurement (an integer in units of 10**-decimals) as the number it was in the
    day file: 21 stays 21; 215 at one decimal is 21.5 (the shortest float, so exact in JSON)."""
    if v is None:
        return None
    return v if decimals == 0 else round(v / 10 ** decimals, decimals)


def measurements(conn: sqlite3.Connection, serial: str, day: str) -> dict[str, dict]:
    """A sensor meter's measurement channels of one day on its grid, each with its unit:
    {name: {"role": "measurement", "unit", "sensor", "decimals", "values"}}; {} for an energy
    meter. Never energy: no total, no registers."""
    out = {}
    for r in conn.execute("SELECT channel, unit, decimals, sensor, vals FROM measurements "
                          "WHERE serial = ? AND reading_day = ? ORDER BY position", (serial, day)):
        out[r["channel"]] = {"role": "measurement", "unit": r["unit"], "sensor": r["sensor"],
                             "decimals": r["decimals"],
                             "values": [value_of(v, r["decimals"]) for v in json.loads(r["vals"])]}
    return out


def measurement_series(conn: sqlite3.Connection, row, channel: str) -> dict | None:
    """One measurement channel as {unit, sensor, readings: [{timestamp, value, quality}]}."""
    found = measurements(conn, row["serial"], row["reading_day"]).get(channel)
    if found is None:
        return None
    quality = codec.quality_names(row["quality"])
    found["readings"] = [{"timestamp": t, "value": v, "quality": q} for t, v, q in
                         zip(grid(row), found.pop("values"), quality, strict=True)]
    return found


def channel_series(conn: sqlite3.Connection, row, channel: str) -> list[dict] | None:
    """[{timestamp, value, quality}] for one channel, every interval of the day."""
    blob = conn.execute("SELECT wh FROM readings WHERE serial = ? AND reading_day = ? AND "
                        "channel = ?", (row["serial"], row["reading_day"], channel)).fetchone()
    if blob is None:
        return None
    labels = grid(row)
    quality = codec.quality_names(row["quality"])
    values = codec.unpack_list(blob["wh"])
    return [{"timestamp": t, "value": codec.kwh(v), "quality": q}
            for t, v, q in zip(labels, values, quality, strict=True)]
