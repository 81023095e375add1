"""The `ui_sessions` rows: one per admin sign-in to the web UI, by the sha256 of the session id
its cookie carries (tempest/ui/session.py says why a signed cookie alone is not enough).

The store side of the UI's sessions, kept with the other writers so that the web and UI
packages hold no SQL (tests/tempest/test_read_layer.py).
"""

from __future__ import annotations

import sqlite3

from tempest.db import transaction


def add(conn: sqlite3.Connection, sid_hash: str, now: float, max_age_s: float) -> None:
    """Record a sign-in, and forget sessions older than any cookie may live (dead anyway)."""
    with transaction(conn):
        conn.execute("DELETE FROM ui_sessions WHERE created_at < ?", (now - max_age_s,))
        conn.execute("INSERT INTO ui_sessions (sid_hash, created_at) VALUES (?, ?)",
                     (sid_hash, now))


def remove(conn: sqlite3.Connection, sid_hash: str) -> None:
    conn.execute("DELETE FROM ui_sessions WHERE sid_hash = ?", (sid_hash,))


def created_at(conn: sqlite3.Connection, sid_hash: str) -> float | None:
    """When the session signed in, or None once it signed out (or never existed)."""
    row = conn.execute("SELECT created_at FROM ui_sessions WHERE sid_hash = ?",
                       (sid_hash,)).fetchone()
    return None if row is None else row["created_at"]
