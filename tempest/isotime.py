"""Stored instants as Tempest writes them out: ISO 8601 in UTC, to the second.

The store keeps instants as Unix seconds; every answer, reason file and status that shows one
goes through `iso`, so the API, the UI and the files agree on one spelling.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso(ts: float | None) -> str | None:
    """`2024-03-07T10:05:00+00:00`, or None for no instant."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
