"""Times as the UI shows them: in the meter's local time, with the UTC offset written out.

A meter's display zone comes from the read layer (tempest/read/meters.py `zones`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import Markup, escape

from core import tz
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


def when(ts: float | None, zone: str, now: float) -> Markup:
    """A <time> element: the local time with its offset, how long ago, and the UTC instant."""
    if ts is None:
        return Markup('<span class="muted">never</span>')
    utc = datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
    return Markup(f'<time datetime="{utc}" title="{escape(local(ts, zone, True))}">'
                  f'{escape(local(ts, zone))}</time> <span class="muted">({ago(ts, now)})</span>')
