"""The ingest side as the API, the UI and `tempest status` show it: the fleet summary, the
worker's state, the ingest log, quarantine and one delivered file's row."""

from __future__ import annotations

import json
import os
import sqlite3

from tempest import registry
from tempest.ingest import scope
from tempest.isotime import iso
from tempest.settings import layout

# The worker publishes its state every few seconds; this much silence means it is not running.
WORKER_SILENT_SECONDS = 30


def _alive(pid) -> bool:
    """Whether the worker's process exists (it runs on this host: it shares the data dir)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def ingest_state(conn: sqlite3.Connection, now: float) -> dict:
    row = conn.execute("SELECT value FROM state WHERE key = 'ingest'").fetchone()
    if row is None:
        return {"running": False, "last_report": None}
    state = json.loads(row["value"])
    running = (not state.get("stopped") and now - state["at"] < WORKER_SILENT_SECONDS
               and _alive(state.get("pid")))
    return {"running": running,
            "last_report": iso(state["at"]), "pid": state.get("pid"),
            "processed": state.get("processed"), "queued": state.get("queued"),
            "observer_alive": state.get("observer_alive"),
            "observer_restarts": state.get("observer_restarts")}


def health(conn: sqlite3.Connection, now: float) -> dict:
    """Liveness: the store answers a query (an error here is the route's 5xx); the worker."""
    conn.execute("SELECT 1").fetchone()
    return {"status": "ok", "ingest": ingest_state(conn, now)}


def summary(conn: sqlite3.Connection, config, now: float) -> dict:
    """The fleet, the store and the ingest worker at a glance (`/api/v1/summary`,
    `tempest status`)."""
    online, stale = registry.thresholds(config)
    counts = registry.counts(conn, now, online, stale)
    open_q = conn.execute("SELECT count(*) FROM quarantine WHERE resolved_at IS NULL").fetchone()
    return {
        "meters": counts["meters"],
        "status": {s: counts[s] for s in registry.STATUSES},
        "days_stored": counts["days_stored"],
        "files_archived": counts["files_archived"],
        "quarantined": open_q[0],
        "drop_pending": scope.pending(layout(config).drop),
        "ingest": ingest_state(conn, now),
        "thresholds": {"online_seconds": online, "stale_seconds": stale},
    }


def log_page(conn: sqlite3.Connection, *, serial: str | None, event: str | None,
             before: int | None, limit: int) -> list[sqlite3.Row]:
    """Ingest-log rows, newest first: one meter's, one event's, older than id `before`."""
    where, params = [], []
    if serial is not None:
        where.append("serial = ?")
        params.append(serial)
    if event is not None:
        where.append("event = ?")
        params.append(event)
    if before is not None:
        where.append("id < ?")
        params.append(before)
    sql = "SELECT id, at, file_id, serial, reading_day, event, message FROM ingest_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*params, limit)).fetchall()


def quarantined(conn: sqlite3.Connection, *, show_all: bool, limit: int) -> list[sqlite3.Row]:
    """Quarantine rows, newest first: the open ones, or (show_all) resolved ones too."""
    sql = "SELECT * FROM quarantine"
    if not show_all:
        sql += " WHERE resolved_at IS NULL"
    return conn.execute(sql + " ORDER BY received_at DESC LIMIT ?", (limit,)).fetchall()


def delivered_file(conn: sqlite3.Connection, file_id: str):
    """The `files` row of one delivery (what became of an upload), or None."""
    return conn.execute("SELECT * FROM files WHERE id = ?", (file_id,)).fetchone()
