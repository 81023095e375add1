"""Heartbeats as received: the API's history, the Heartbeats page and a meter's last few."""

from __future__ import annotations

import sqlite3


def recent(conn: sqlite3.Connection, serial: str | None, limit: int) -> list[sqlite3.Row]:
    """`id, serial, received_at, meter_time, skew_s, address, body`, newest first; every
    meter's, or one's. `body` is the stored JSON (registry.stored_heartbeat reads it)."""
    sql = "SELECT id, serial, received_at, meter_time, skew_s, address, body FROM heartbeats"
    params: tuple = ()
    if serial is not None:
        sql += " WHERE serial = ?"
        params = (serial,)
    return conn.execute(sql + " ORDER BY received_at DESC LIMIT ?", (*params, limit)).fetchall()
