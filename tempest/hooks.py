"""What happens after a day is stored or replaced, inside the same transaction.

The day is queued for every enabled sink (docs/sinks.md): because the call runs in the ingest
transaction, a day is queued exactly when it is stored, even across a crash.
"""

from __future__ import annotations

import sqlite3
import time

from tempest.sinks import queue


def on_day_stored(conn: sqlite3.Connection, serial: str, reading_day: str) -> None:
    """Called once per stored or replaced meter-day, in the storing transaction."""
    queue.enqueue_day(conn, serial, reading_day, time.time())
