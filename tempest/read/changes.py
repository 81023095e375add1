"""Change tokens for live pages: a short hash that changes when what a page shows changes
(`GET /ui/changes?scope=...`, tempest/ui/live.py). Cheap on purpose: each token is a few
indexed lookups, whatever the size of the fleet."""

from __future__ import annotations

import hashlib
import sqlite3
import time

from tempest import db, names

# Statuses age without any event (online -> stale): fleet-wide tokens also change this often.
AGE_STEP_S = 30


def _one(conn: sqlite3.Connection, sql: str, params=()) -> str:
    row = conn.execute(sql, params).fetchone()
    return "/".join("" if v is None else str(v) for v in row) if row else ""


def _table_exists(conn: sqlite3.Connection, name: str) -> bool:
    return db.table_exists(conn, name)


def token(conn: sqlite3.Connection, scope: str, now: float | None = None) -> str | None:
    """The scope's current token, or None for a scope that does not exist."""
    now = time.time() if now is None else now
    age = str(int(now // AGE_STEP_S))
    kind, _, rest = scope.partition(":")
    hb = "SELECT max(id) FROM heartbeats"
    log = "SELECT max(id) FROM ingest_log"
    if kind == "fleet" or kind == "config":
        parts = [_one(conn, hb), _one(conn, log), age,
                 _one(conn, "SELECT max(set_at), count(*) FROM desired_config"),
                 _one(conn, "SELECT max(id) FROM config_pushes")]
    elif kind == "heartbeats":
        parts = [_one(conn, hb)]
    elif kind == "ingest":
        parts = [_one(conn, log)]
    elif kind == "quarantine":
        parts = [_one(conn, "SELECT count(*), max(received_at), max(resolved_at) "
                            "FROM quarantine")]
    elif kind == "sinks":
        parts = [age]
        if _table_exists(conn, "sinks"):
            parts.append(_one(conn, "SELECT sum(delivered), sum(failures), max(updated_at), "
                                    "max(last_success_at), max(last_error_at) FROM sinks"))
        if _table_exists(conn, "sink_queue"):
            parts.append(_one(conn, "SELECT max(id), count(*), max(dead_at) FROM sink_queue"))
    elif kind in ("meter", "config-meter") and names.valid_serial(rest):
        parts = [age,
                 _one(conn, "SELECT max(received_at) FROM heartbeats WHERE serial = ?", (rest,)),
                 _one(conn, "SELECT max(id) FROM ingest_log WHERE serial = ?", (rest,)),
                 _one(conn, "SELECT set_at FROM desired_config WHERE serial = ?", (rest,)),
                 _one(conn, "SELECT max(id) FROM config_pushes WHERE serial = ?", (rest,))]
    elif kind == "day":
        serial, _, day = rest.partition(":")
        if not (names.valid_serial(serial) and names.valid_day(day)):
            return None
        parts = [_one(conn, "SELECT hash, versions FROM days WHERE serial = ? AND "
                            "reading_day = ?", (serial, day))]
    else:
        return None
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:20]
