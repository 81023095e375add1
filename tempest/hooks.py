"""What happens after a day is stored or replaced, inside the same transaction.

The sinks (InfluxDB, MDMS push, NEM12) will enqueue the day here: because the call runs in the
ingest transaction, a day is queued for the sinks exactly when it is stored, even across a
crash. Until sinks exist it does nothing.
"""

from __future__ import annotations

import sqlite3


def on_day_stored(conn: sqlite3.Connection, serial: str, reading_day: str) -> None:
    """Called once per stored or replaced meter-day, in the storing transaction."""
    return None
