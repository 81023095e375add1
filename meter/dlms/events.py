"""The standard event log (0.0.99.98.0.255) and the power-failure log (0.0.99.97.0.255),
from the outage faults `meter truth` labels.

An outage day (`day_faults.outage`) is a day the meter recorded nothing: its power failed at
the local midnight that starts it and came back at the midnight that ends it (a run of outage
days is one failure). The meter logs, as an IDIS meter does:

- in the standard event log, event 1 "power down" (its last gasp) at the failure and event 2
  "power up" at the restore, with the event code in 0.0.96.11.0.255;
- in the power-failure log, one row per failure: the time it began and its duration in
  seconds (0.0.96.7.19.255), written when the power comes back.
"""

from __future__ import annotations

from dataclasses import dataclass

from meter.dlms.source import MeterSource

EVENT_POWER_DOWN = 1
EVENT_POWER_UP = 2
# How far back the logs look, and how many entries each keeps (the oldest are overwritten).
LOOKBACK_DAYS = 400
MAX_ENTRIES = 100


@dataclass
class Outage:
    down: int  # UTC minute the power failed
    up: int | None  # UTC minute it came back; None while it is still out


def outages(src: MeterSource, meter_now: int) -> list[Outage]:
    """The failures up to the meter's clock, oldest first."""
    zone, model = src.zone, src.model
    today = zone.day_of(meter_now)
    first = max(src.m["commissioned_day"], today - LOOKBACK_DAYS)
    out: list[Outage] = []
    d = first
    while d <= today:
        if not model.outage(d):
            d += 1
            continue
        start = d
        while d <= today and model.outage(d):
            d += 1
        down = zone.day_start(start)
        up = zone.day_start(d)
        if down <= meter_now:
            out.append(Outage(down, up if up <= meter_now else None))
    return out


def event_rows(src: MeterSource) -> list[tuple[int, int]]:
    """(UTC minute, event code) of the standard event log."""
    meter_now = int(src.meter_seconds() // 60)
    rows = []
    for o in outages(src, meter_now):
        rows.append((o.down, EVENT_POWER_DOWN))
        if o.up is not None:
            rows.append((o.up, EVENT_POWER_UP))
    return rows[-MAX_ENTRIES:]


def power_failure_rows(src: MeterSource) -> list[tuple[int, int]]:
    """(UTC minute the failure began, its duration in seconds), for failures that ended."""
    meter_now = int(src.meter_seconds() // 60)
    rows = [(o.down, (o.up - o.down) * 60) for o in outages(src, meter_now) if o.up is not None]
    return rows[-MAX_ENTRIES:]
