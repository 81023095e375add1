"""Meters as the API shows them: registry fields, status, and what is stored for each."""

from __future__ import annotations

import json
import sqlite3

from tempest import keys, registry
from tempest.isotime import iso

COLUMNS = ("serial, key_hash, key_revoked_at, timezone, first_seen, last_seen, address, "
           "agent_url, version, config_hash, backlog, last_tick, free_disk_bytes, kind, "
           "clock_skew_s, diagnostics, heartbeats, days_stored, files_archived, last_day, "
           "last_file_at, created_at")


def as_dict(row, now: float, online: float, stale: float) -> dict:
    return {
        "serial": row["serial"],
        "status": registry.status_of(row["last_seen"], now, online, stale),
        "last_seen": iso(row["last_seen"]),
        "seconds_since_seen": None if row["last_seen"] is None
        else round(now - row["last_seen"], 1),
        "first_seen": iso(row["first_seen"]),
        "address": row["address"],
        "agent_url": row["agent_url"],
        "version": row["version"],
        "config_hash": row["config_hash"],
        "outbox_backlog": row["backlog"],
        "last_tick": row["last_tick"],
        "free_disk_bytes": row["free_disk_bytes"],
        "kind": row["kind"],
        "clock_skew_s": row["clock_skew_s"],
        "diagnostics": json.loads(row["diagnostics"]) if row["diagnostics"] else None,
        "heartbeats": row["heartbeats"],
        "timezone": row["timezone"],
        "key": keys.key_state(row),
        "days_stored": row["days_stored"],
        "files_archived": row["files_archived"],
        "last_day": row["last_day"],
        "last_file_at": iso(row["last_file_at"]),
        "registered_at": iso(row["created_at"]),
    }


def page(conn: sqlite3.Connection, *, now: float, online: float, stale: float,
         status: str | None, prefix: str | None, page: int, per_page: int) -> dict:
    where, params = [], []
    if status:
        clause, args = registry.status_clause(status, now, online, stale)
        where.append(clause)
        params.extend(args)
    if prefix:
        # A range on the primary key rather than LIKE, so the index does the work.
        where.append("serial >= ? AND serial < ?")
        params.extend((prefix, prefix + "\U0010ffff"))
    sql_where = (" WHERE " + " AND ".join(where)) if where else ""
    total = conn.execute(f"SELECT count(*) FROM meters{sql_where}", params).fetchone()[0]
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM meters{sql_where} ORDER BY serial LIMIT ? OFFSET ?",
        (*params, per_page, (page - 1) * per_page)).fetchall()
    return {"items": [as_dict(r, now, online, stale) for r in rows], "page": page,
            "per_page": per_page, "total": total}


def one(conn: sqlite3.Connection, serial: str):
    return conn.execute(f"SELECT {COLUMNS} FROM meters WHERE serial = ?", (serial,)).fetchone()


def files(conn: sqlite3.Connection, serial: str, day: str | None = None, limit: int = 20,
          offset: int = 0) -> list[sqlite3.Row]:
    """The files delivered for a meter (every version, newest first); `day` for one day."""
    sql = ("SELECT id, hash, reading_day, day_status, accounted, expected, shape, source, name, "
           "size, delivered_at, ingested_at, outcome, reason, notes FROM files WHERE serial = ?")
    params: list = [serial]
    if day:
        sql += " AND reading_day = ?"
        params.append(day)
    sql += " ORDER BY ingested_at DESC LIMIT ? OFFSET ?"
    return conn.execute(sql, (*params, limit, offset)).fetchall()
