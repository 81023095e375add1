"""The sink queue in the store: enqueue, read the head, acknowledge, defer, park as dead, retry.

Every function takes the caller's connection. `enqueue_day` runs inside the ingest transaction
(through tempest/hooks.py), so a day is queued exactly when it is stored, even across `kill -9`.
The others open their own short transaction: the worker never holds the write lock while it
talks to a sink.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from tempest.db import transaction

QUEUED, DEAD = "queued", "dead"
ERROR_CHARS = 2000


@dataclass(frozen=True)
class Item:
    id: int
    sink: str
    serial: str
    reading_day: str
    cause: str
    attempts: int
    next_at: float


def enqueue_day(conn: sqlite3.Connection, serial: str, reading_day: str, now: float) -> int:
    """Queue one stored (or replaced) day for every enabled sink, in the caller's transaction.

    A waiting item for the same day is replaced rather than duplicated: the sink gets the newest
    version once, at the back of the queue (the day's place in the order is when it was last
    stored). A dead one is replaced too: the new version deserves a fresh start.
    """
    sinks = [r[0] for r in conn.execute("SELECT name FROM sinks WHERE enabled = 1")]
    if not sinks:
        return 0
    row = conn.execute("SELECT versions FROM days WHERE serial = ? AND reading_day = ?",
                       (serial, reading_day)).fetchone()
    cause = "replaced" if row is not None and row[0] > 1 else "stored"
    for sink in sinks:
        _put(conn, sink, serial, reading_day, cause, now)
    return len(sinks)


def _put(conn: sqlite3.Connection, sink: str, serial: str, reading_day: str, cause: str,
         now: float) -> None:
    conn.execute("DELETE FROM sink_queue WHERE sink = ? AND serial = ? AND reading_day = ?",
                 (sink, serial, reading_day))
    conn.execute("INSERT INTO sink_queue (sink, serial, reading_day, cause, enqueued_at) "
                 "VALUES (?, ?, ?, ?, ?)", (sink, serial, reading_day, cause, now))


def replay(conn: sqlite3.Connection, sink: str, first: str, last: str,
           serials: Iterable[str] | None, now: float) -> int:
    """Queue every stored day in [first, last] (of `serials`, or all) for `sink` again, in
    (day, serial) order. Replayed items are sent even if the sink already has that version."""
    sql = "SELECT serial, reading_day FROM days WHERE reading_day >= ? AND reading_day <= ?"
    params: list = [first, last]
    wanted = sorted(set(serials)) if serials else []
    if wanted:
        sql += f" AND serial IN ({', '.join('?' * len(wanted))})"
        params.extend(wanted)
    sql += " ORDER BY reading_day, serial"
    with transaction(conn):
        keys = conn.execute(sql, params).fetchall()
        for serial, day in keys:
            _put(conn, sink, serial, day, "replay", now)
    return len(keys)


def hurry(conn: sqlite3.Connection, sink: str) -> list[Item]:
    """Make every item waiting for `sink` due now, backoff or not (the seed's `POST /upload`:
    forward what waits, now). Returns them, in delivery order; the worker sends them."""
    with transaction(conn):
        conn.execute("UPDATE sink_queue SET next_at = 0 WHERE sink = ? AND state = 'queued'",
                     (sink,))
        rows = conn.execute(
            "SELECT id, sink, serial, reading_day, cause, attempts, next_at FROM sink_queue "
            "WHERE sink = ? AND state = 'queued' ORDER BY id", (sink,)).fetchall()
    return [Item(*tuple(r)) for r in rows]


def head(conn: sqlite3.Connection, sink: str, limit: int, after: int = 0) -> list[Item]:
    """The oldest waiting items of one sink (those after id `after`), in delivery order."""
    rows = conn.execute(
        "SELECT id, sink, serial, reading_day, cause, attempts, next_at FROM sink_queue "
        "WHERE sink = ? AND state = 'queued' AND id > ? ORDER BY id LIMIT ?",
        (sink, after, limit)).fetchall()
    return [Item(*tuple(r)) for r in rows]


def delivered_hashes(conn: sqlite3.Connection, sink: str,
                     items: list[Item]) -> dict[tuple[str, str], str]:
    """The version of each item's day the sink has acknowledged (absent: none yet)."""
    if not items:
        return {}
    values = ", ".join("(?, ?)" for _ in items)
    params = [x for it in items for x in (it.serial, it.reading_day)]
    rows = conn.execute(
        f"WITH k (serial, reading_day) AS (VALUES {values}) SELECT serial, reading_day, "
        "day_hash FROM sink_delivered JOIN k USING (serial, reading_day) WHERE sink = ?",
        (*params, sink)).fetchall()
    return {(r[0], r[1]): r[2] for r in rows}


def ack(conn: sqlite3.Connection, sink: str, sent: list[tuple[Item, str, str | None]],
        skipped: list[Item], gone: list[Item], now: float) -> None:
    """Record what the sink acknowledged (item, day hash, payload hash), what it already had,
    and items whose day is no longer stored, in one transaction."""
    # executemany: one prepared statement for a batch of tens of days, not two calls a day.
    with transaction(conn):
        conn.executemany("DELETE FROM sink_queue WHERE id = ?",
                         [(it.id,) for it in (*(s[0] for s in sent), *skipped, *gone)])
        conn.executemany(
            "INSERT INTO sink_delivered (sink, serial, reading_day, day_hash, payload_hash, "
            "delivered_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sink, serial, reading_day) "
            "DO UPDATE SET day_hash = excluded.day_hash, payload_hash = "
            "excluded.payload_hash, delivered_at = excluded.delivered_at, deliveries = "
            "deliveries + 1", [(sink, it.serial, it.reading_day, day_hash, payload_hash, now)
                               for it, day_hash, payload_hash in sent])
        conn.execute(
            "UPDATE sinks SET delivered = delivered + ?, skipped = skipped + ?, "
            "last_success_at = CASE WHEN ? > 0 THEN ? ELSE last_success_at END WHERE name = ?",
            (len(sent), len(skipped), len(sent), now, sink))


def defer(conn: sqlite3.Connection, sink: str, items: list[Item], error: str, now: float,
          next_at: float, charge: bool, max_attempts: int) -> list[Item]:
    """A failed attempt: wait until `next_at`. When `charge`, the attempt counts, and items
    that reach `max_attempts` are parked as dead. Returns the items that died."""
    error = error[:ERROR_CHARS]
    died = []
    with transaction(conn):
        for it in items:
            attempts = it.attempts + (1 if charge else 0)
            if charge and attempts >= max_attempts:
                died.append(it)
                conn.execute(
                    "UPDATE sink_queue SET state = 'dead', attempts = ?, last_attempt_at = ?, "
                    "last_error = ?, dead_at = ? WHERE id = ?",
                    (attempts, now, f"gave up after {attempts} attempts: {error}"[:ERROR_CHARS],
                     now, it.id))
            else:
                conn.execute(
                    "UPDATE sink_queue SET attempts = ?, next_at = ?, last_attempt_at = ?, "
                    "last_error = ? WHERE id = ?", (attempts, next_at, now, error, it.id))
        _sink_error(conn, sink, error, now)
    return died


def kill(conn: sqlite3.Connection, sink: str, item: Item, error: str, now: float) -> None:
    """Park one item as dead at once (the sink rejected it: sending it again cannot help)."""
    with transaction(conn):
        conn.execute(
            "UPDATE sink_queue SET state = 'dead', attempts = attempts + 1, last_attempt_at = ?, "
            "last_error = ?, dead_at = ? WHERE id = ?",
            (now, f"rejected: {error}"[:ERROR_CHARS], now, item.id))
        _sink_error(conn, sink, error[:ERROR_CHARS], now)


def _sink_error(conn: sqlite3.Connection, sink: str, error: str, now: float) -> None:
    conn.execute("UPDATE sinks SET failures = failures + 1, last_error = ?, last_error_at = ? "
                 "WHERE name = ?", (error, now, sink))


def retry_dead(conn: sqlite3.Connection, sink: str | None = None,
               ids: Iterable[int] | None = None) -> int:
    """Put dead items back in the queue, in their original place, with their attempts reset."""
    sql = ("UPDATE sink_queue SET state = 'queued', attempts = 0, next_at = 0, dead_at = NULL "
           "WHERE state = 'dead'")
    params: list = []
    if sink is not None:
        sql += " AND sink = ?"
        params.append(sink)
    if ids is not None:
        wanted = [int(i) for i in ids]
        if not wanted:
            return 0
        sql += f" AND id IN ({', '.join('?' * len(wanted))})"
        params.extend(wanted)
    with transaction(conn):
        return conn.execute(sql, params).rowcount
