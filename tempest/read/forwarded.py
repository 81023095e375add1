"""Days already forwarded to a sink, for the seed's `/archives` routes (the MDMS's).

In the seed a day "archived" once its pipeline had forwarded it to the MDMS. Here that is a
`sink_delivered` row: the sink acknowledged a version of the day. The day shown is the stored
one (a newer version may be waiting to go out again).
"""

from __future__ import annotations

import sqlite3


def meters(conn: sqlite3.Connection, sink: str) -> list[sqlite3.Row]:
    """Every meter with a day forwarded to `sink`: `serial, last_seen, forwarded, waiting,
    last_forwarded` (its latest forwarded day), by serial."""
    return conn.execute(
        "SELECT m.serial, m.last_seen, f.forwarded, f.last_forwarded, "
        "(SELECT count(*) FROM sink_queue q WHERE q.sink = ? AND q.serial = m.serial "
        "AND q.state = 'queued') AS waiting "
        "FROM meters m JOIN (SELECT serial, count(*) AS forwarded, max(reading_day) AS "
        "last_forwarded FROM sink_delivered d WHERE sink = ? AND EXISTS (SELECT 1 FROM days "
        "WHERE days.serial = d.serial AND days.reading_day = d.reading_day) GROUP BY serial) f "
        "ON f.serial = m.serial ORDER BY m.serial", (sink, sink)).fetchall()


def count(conn: sqlite3.Connection, sink: str, serial: str) -> int:
    return conn.execute(
        "SELECT count(*) FROM sink_delivered d JOIN days ON days.serial = d.serial AND "
        "days.reading_day = d.reading_day WHERE d.sink = ? AND d.serial = ?",
        (sink, serial)).fetchone()[0]


def payloads(conn: sqlite3.Connection, sink: str, serial: str) -> list[sqlite3.Row]:
    """What the seed's payload list shows of each forwarded day, oldest first (the columns
    of tempest.read.days.payloads)."""
    return conn.execute(
        "SELECT days.reading_day, meter_version, data_model_version, interval, channels, "
        "opening FROM days JOIN sink_delivered d ON d.serial = days.serial AND "
        "d.reading_day = days.reading_day AND d.sink = ? WHERE days.serial = ? "
        "ORDER BY days.reading_day", (sink, serial)).fetchall()


def was_forwarded(conn: sqlite3.Connection, sink: str, serial: str, day: str) -> bool:
    return conn.execute("SELECT 1 FROM sink_delivered WHERE sink = ? AND serial = ? AND "
                        "reading_day = ?", (sink, serial, day)).fetchone() is not None
