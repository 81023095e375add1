"""The sinks' state as plain dicts: one read API for `tempest sinks status`, the REST API and
the web UI. Instants are ISO 8601 UTC strings (or None); nothing here writes.
"""

from __future__ import annotations

import json
import sqlite3
import time

from tempest.isotime import iso

RUNNING_WITHIN_SECONDS = 30.0  # a worker reports every 5 s; silent longer: not running


def _worker(conn: sqlite3.Connection, name: str, now: float) -> dict:
    row = conn.execute("SELECT value FROM state WHERE key = ?", (f"sink.{name}",)).fetchone()
    if row is None:
        return {"running": False, "last_report": None, "pid": None}
    state = json.loads(row[0])
    running = not state.get("stopped") and now - state.get("at", 0) < RUNNING_WITHIN_SECONDS
    return {"running": running, "last_report": iso(state.get("at")), "pid": state.get("pid")}


def _counts(conn: sqlite3.Connection, name: str) -> dict:
    row = conn.execute(
        "SELECT sum(state = 'queued'), sum(state = 'dead'), min(CASE WHEN state = 'queued' "
        "THEN enqueued_at END), min(CASE WHEN state = 'queued' THEN next_at END) "
        "FROM sink_queue WHERE sink = ?", (name,)).fetchone()
    return {"queued": row[0] or 0, "dead": row[1] or 0, "oldest_queued_at": row[2],
            "next_attempt_at": row[3]}


def item_dict(row) -> dict:
    return {"id": row["id"], "sink": row["sink"], "serial": row["serial"],
            "reading_day": row["reading_day"], "cause": row["cause"], "state": row["state"],
            "attempts": row["attempts"], "enqueued_at": iso(row["enqueued_at"]),
            "last_attempt_at": iso(row["last_attempt_at"]),
            "next_attempt_at": iso(row["next_at"]) if row["state"] == "queued" and row["next_at"]
            else None, "dead_at": iso(row["dead_at"]), "last_error": row["last_error"]}


def items(conn: sqlite3.Connection, sink: str | None = None, state: str | None = None,
          limit: int = 100) -> list[dict]:
    """Queue items in delivery order (dead ones included unless `state` narrows it)."""
    sql = "SELECT * FROM sink_queue WHERE 1 = 1"
    params: list = []
    if sink is not None:
        sql += " AND sink = ?"
        params.append(sink)
    if state is not None:
        sql += " AND state = ?"
        params.append(state)
    sql += " ORDER BY sink, id LIMIT ?"
    return [item_dict(r) for r in conn.execute(sql, (*params, limit))]


def dead_items(conn: sqlite3.Connection, sink: str | None = None, limit: int = 100) -> list[dict]:
    return items(conn, sink, "dead", limit)


def sink(conn: sqlite3.Connection, name: str, now: float | None = None,
         dead_limit: int = 20) -> dict | None:
    """One sink: where it delivers, its queue depth, last success and error, dead items."""
    now = time.time() if now is None else now
    row = conn.execute("SELECT * FROM sinks WHERE name = ?", (name,)).fetchone()
    if row is None:
        return None
    counts = _counts(conn, name)
    oldest = counts["oldest_queued_at"]
    return {
        "name": row["name"], "kind": row["kind"], "target": row["target"],
        "enabled": bool(row["enabled"]),
        "queued": counts["queued"], "dead": counts["dead"],
        "oldest_queued_at": iso(oldest),
        "lag_seconds": round(now - oldest, 1) if oldest is not None else 0.0,
        "next_attempt_at": iso(counts["next_attempt_at"]) if counts["next_attempt_at"] else None,
        "delivered": row["delivered"], "skipped": row["skipped"], "failures": row["failures"],
        "last_success_at": iso(row["last_success_at"]),
        "last_error": row["last_error"], "last_error_at": iso(row["last_error_at"]),
        "worker": _worker(conn, name, now),
        "dead_items": dead_items(conn, name, dead_limit),
    }


def all_sinks(conn: sqlite3.Connection, now: float | None = None, dead_limit: int = 20
              ) -> list[dict]:
    """Every sink ever registered (disabled ones too, while they hold items), by name."""
    names = [r[0] for r in conn.execute("SELECT name FROM sinks ORDER BY name")]
    return [s for s in (sink(conn, n, now, dead_limit) for n in names) if s is not None]
