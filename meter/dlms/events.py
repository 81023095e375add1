"""The standard event log (0.0.99.98.0.255) and the power-failure log (0.0.99.97.0.255),
from the outage faults `meter truth` labels.

An outage day (`day_faults.outage`) is a day the meter recorded nothing: its power failed at
the local midnight that starts it and came back at the midnight that ends it (a run of outage
days is one failure). The meter logs, as an IDIS meter does:

- in the standard event log, event 1 "power down" (its last gasp) at the failure and event 2
  "power up" at the restore, with the event code in 0.0.96.11.0.255;
- in the standard event log too, events 4 and 5 "clock adjusted" (old time, new time) where a
  drifting clock resyncs (the clock-drift fault's offset drops back);
- in the power-failure log, one row per failure: the time it began and its duration in
  seconds (0.0.96.7.19.255), written when the power comes back.
"""

from __future__ import annotations

from dataclasses import dataclass

from meter.dlms.source import MeterSource

EVENT_POWER_DOWN = 1
EVENT_POWER_UP = 2
EVENT_CLOCK_OLD = 4  # clock adjusted: the old time
EVENT_CLOCK_NEW = 5  # clock adjusted: the new time
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


def clock_resyncs(src: MeterSource, meter_now: int) -> list[tuple[int, int]]:
    """(UTC minute, minutes the clock was set back) of each resync of a drifting clock: at the
    local midnight where the drift fault's offset drops (it resyncs every few weeks)."""
    zone, model = src.zone, src.model
    if not src.m["faults"]["drift_s_per_day"]:
        return []
    today = zone.day_of(meter_now)
    first = max(src.m["commissioned_day"] + 1, today - LOOKBACK_DAYS)
    out = []
    for d in range(first, today + 1):
        back = model.drift(d - 1) - model.drift(d)
        if back > 0 and zone.day_start(d) <= meter_now:
            out.append((zone.day_start(d), back))
    return out


def event_rows(src: MeterSource) -> list[tuple[int, int]]:
    """(UTC minute, event code) of the standard event log, oldest first. A clock resync logs
    its old time (event 4, the meter's clock before) and its new time (event 5)."""
    meter_now = int(src.meter_seconds() // 60)
    rows = []
    for o in outages(src, meter_now):
        rows.append((o.down, EVENT_POWER_DOWN))
        if o.up is not None:
            rows.append((o.up, EVENT_POWER_UP))
    for at, back in clock_resyncs(src, meter_now):
        rows.append((at + back, EVENT_CLOCK_OLD))
        rows.append((at, EVENT_CLOCK_NEW))
    rows.sort()
    return rows[-MAX_ENTRIES:]


def power_failure_rows(src: MeterSource) -> list[tuple[int, int]]:
    """(UTC minute the failure began, its duration in seconds), for failures that ended."""
    meter_now = int(src.meter_seconds() // 60)
    rows = [(o.down, (o.up - o.down) * 60) for o in outages(src, meter_now) if o.up is not None]
    return rows[-MAX_ENTRIES:]
