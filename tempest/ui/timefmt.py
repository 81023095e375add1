"""Times as the UI shows them: in the meter's local time, with the UTC offset written out.

A meter's zone is the one Tempest's registry has for it, else the zone of its latest stored
day (an IANA zone, or a seed file's fixed `UTC+hh:mm`), else UTC.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from meter.model import tz
from tempest import codec


def offset_minutes(zone_name: str, ts: float) -> int:
    return codec.zone_for(zone_name).offset_at(int(ts // 60))


def local(ts: float | None, zone_name: str | None, seconds: bool = False) -> str | None:
    """`2024-03-07 10:05 +13:00` (the instant in the zone, with its offset)."""
    if ts is None:
        return None
    zone_name = zone_name or "UTC"
    try:
        off = offset_minutes(zone_name, ts)
    except Exception:  # an unknown zone: show UTC rather than fail the page
        off, zone_name = 0, "UTC"
    when = datetime.fromtimestamp(ts + off * 60, UTC)
    text = when.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {tz.format_offset(off)}"


def iso_local(text: str | None) -> str | None:
    """An ISO time a meter sent (`2024-03-07T10:05:00+13:00`) as `2024-03-07 10:05:00 +13:00`."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if when.tzinfo is None:
        return when.strftime("%Y-%m-%d %H:%M:%S")
    off = int(when.utcoffset().total_seconds() // 60)
    return f"{when.strftime('%Y-%m-%d %H:%M:%S')} {tz.format_offset(off)}"


def ago(ts: float | None, now: float) -> str:
    if ts is None:
        return "never"
    s = max(0, int(now - ts))
    if s < 60:
        return f"{s} s ago"
    if s < 3600:
        return f"{s // 60} min ago"
    if s < 86400 * 2:
        return f"{s // 3600} h ago"
    return f"{s // 86400} days ago"


def zones(conn: sqlite3.Connection, rows) -> dict[str, str]:
    """Each meter's display zone, for rows with `serial`, `timezone` and `last_day`."""
    out = {}
    for r in rows:
        zone = r["timezone"]
        if not zone and r["last_day"]:
            day = conn.execute("SELECT timezone FROM days WHERE serial = ? AND reading_day = ?",
                               (r["serial"], r["last_day"])).fetchone()
            zone = day["timezone"] if day else None
        out[r["serial"]] = zone or "UTC"
    return out


def zone_of(conn: sqlite3.Connection, serial: str) -> str:
    row = conn.execute("SELECT serial, timezone, last_day FROM meters WHERE serial = ?",
                       (serial,)).fetchone()
    return zones(conn, [row])[serial] if row else "UTC"
