"""Meters as the API shows them: registry fields, status, and what is stored for each."""

from __future__ import annotations

import json
import sqlite3

from tempest import keys, registry, routes
from tempest.isotime import iso

COLUMNS = ("serial, key_hash, key_revoked_at, timezone, first_seen, last_seen, address, "
           "agent_url, version, config_hash, backlog, last_tick, free_disk_bytes, kind, "
           "clock_skew_s, diagnostics, heartbeats, days_stored, files_archived, last_day, "
           "last_file_at, created_at, heartbeat_route, last_gasp_at, "
           # How its days reach Tempest: the last day's route, else dlms for a meter Tempest
           # is registered to dial (tempest/routes.py).
           f"{routes.sql('meters')} AS route")


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
        "route": row["route"],
        "heartbeat_route": row["heartbeat_route"],
        "last_gasp_at": iso(row["last_gasp_at"]),
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
         status: str | None, prefix: str | None, page: int, per_page: int,
         route: str | None = None) -> dict:
    where, params = [], []
    if route:
        where.append(f"{routes.sql('meters')} = ?")
        params.append(route)
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


def exists(conn: sqlite3.Connection, serial: str) -> bool:
    return conn.execute("SELECT 1 FROM meters WHERE serial = ?", (serial,)).fetchone() is not None


def every(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Every registered meter, by serial (`tempest meters list`, the seed's `/meters`)."""
    return conn.execute(f"SELECT {COLUMNS} FROM meters ORDER BY serial").fetchall()


def heard_from(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """`serial, last_seen` of the meters that ever sent a heartbeat, latest first."""
    return conn.execute("SELECT serial, last_seen FROM meters WHERE last_seen IS NOT NULL "
                        "ORDER BY last_seen DESC").fetchall()


def timezone(conn: sqlite3.Connection, serial: str) -> str | None:
    """The zone the registry has for the meter (None: unknown meter, or no zone set)."""
    row = conn.execute("SELECT timezone FROM meters WHERE serial = ?", (serial,)).fetchone()
    return row["timezone"] if row else None


def zones(conn: sqlite3.Connection, rows) -> dict[str, str]:
    """Each meter's display zone, for rows with `serial`, `timezone` and `last_day`: the
    registry's zone, else the zone of its latest stored day (an IANA zone, or a seed file's
    fixed `UTC+hh:mm`), else UTC. One query for the rows without a registry zone."""
    out = {r["serial"]: r["timezone"] for r in rows if r["timezone"]}
    missing = [r["serial"] for r in rows if not r["timezone"] and r["last_day"]]
    for start in range(0, len(missing), 500):
        chunk = missing[start:start + 500]
        for found in conn.execute(
                "SELECT m.serial, d.timezone FROM meters m JOIN days d ON d.serial = m.serial "
                f"AND d.reading_day = m.last_day WHERE m.serial IN ({','.join('?' * len(chunk))})",
                chunk):
            out[found["serial"]] = found["timezone"]
    return {r["serial"]: out.get(r["serial"]) or "UTC" for r in rows}


def zones_of(conn: sqlite3.Connection, serials) -> dict[str, str]:
    """`zones` for meters known by serial only (a page of heartbeats, say)."""
    wanted = sorted(set(serials))
    rows = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        rows += conn.execute("SELECT serial, timezone, last_day FROM meters WHERE serial IN "
                             f"({','.join('?' * len(chunk))})", chunk).fetchall()
    return zones(conn, rows)


def zone_of(conn: sqlite3.Connection, serial: str) -> str:
    """One meter's display zone (UTC for a meter not registered)."""
    return zones_of(conn, [serial]).get(serial, "UTC")


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
