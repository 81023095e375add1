"""Events meters logged (`meter_events`: the DLMS standard event log read by the collector,
tempest/dlms/schedule.py), as the day page shows them beside the intervals they explain."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core import civil, tzdb

POWER_DOWN, POWER_UP = 1, 2


def _bounds(zone_name: str, day: str) -> tuple[float, float] | None:
    if not tzdb.valid_zone(zone_name):
        return None  # a seed file's fixed offset: no DLMS meter has one
    zone = tzdb.zone(zone_name)
    d = civil.parse_day(day)
    return zone.day_start(d) * 60.0, zone.day_start(d + 1) * 60.0


def for_day(conn, serial: str, zone_name: str, day: str) -> dict:
    """The events stamped within the local day (midnight to midnight, both ends), and whether
    the power was off at its start (a power down before it not yet followed by a power up)."""
    bounds = _bounds(zone_name, day)
    if bounds is None:
        return {"events": [], "off_at_start": False}
    start, end = bounds
    rows = conn.execute("SELECT at, code, event, source FROM meter_events WHERE serial = ? AND "
                        "at >= ? AND at <= ? ORDER BY at, code", (serial, start, end)).fetchall()
    # A power up stamped at the very start (an outage that ended at this midnight) counts.
    last = conn.execute("SELECT code FROM meter_events WHERE serial = ? AND at <= ? AND code "
                        "IN (?, ?) ORDER BY at DESC, code DESC LIMIT 1",
                        (serial, start, POWER_DOWN, POWER_UP)).fetchone()
    local = ZoneInfo(zone_name)
    return {"events": [{"at": datetime.fromtimestamp(r["at"], local).isoformat(),
                        "code": r["code"], "event": r["event"],
                        "source": r["source"]} for r in rows],
            "off_at_start": last is not None and last["code"] == POWER_DOWN}
