"""The load profile's rows (1.0.99.1.0.255): one per recorded interval, from the same run of
the model the sealed day files come from.

A row is (interval end, AMR status, one value per channel in Wh), labelled by its end in the
meter's clock, as the day file labels it. What a day file leaves out, the profile leaves out:
a missing interval has no row and an outage day has none. The status byte (IDIS "AMR profile
status", 0.0.96.10.1.255) says what the day file's quality says:

- bit 2 (4) "data not valid": the interval is an estimate (`quality: "estimated"`);
- bit 3 (8) "daylight saving": the interval ended in summer time;
- bit 7 (128) "power down": the first interval after an outage.
"""

from __future__ import annotations

from dataclasses import dataclass

from meter.dlms.source import MeterSource
from meter.vector.engine import Q_ESTIMATED, Q_MISSING

STATUS_NOT_VALID = 0x04
STATUS_DST = 0x08
STATUS_POWER_DOWN = 0x80


@dataclass
class Row:
    end: int  # UTC minute the interval ends
    status: int
    values: list[int]  # Wh per channel, in the config's channel order


def rows(src: MeterSource, first_end: int, last_end: int) -> list[Row]:
    """The profile's rows whose interval ends in [first_end, last_end] (UTC minutes), within
    the buffer's depth and up to the meter's clock."""
    meter_now = int(src.meter_seconds() // 60)
    oldest = meter_now - _depth_minutes(src)
    first_end = max(first_end, oldest + 1)
    last_end = min(last_end, meter_now)
    if last_end < first_end:
        return []
    zone = src.zone
    d0 = zone.reading_day_of_end(first_end)
    d1 = zone.reading_day_of_end(last_end)
    # One day before: was it an outage (the first row after one carries the power-down bit)?
    run = src.run(d0 - 1, d1)
    out: list[Row] = []
    after_outage = bool(run.outage[0])
    for k in range(1, len(run.days)):
        if run.outage[k]:
            after_outage = True
            continue
        sl = run.day_slice(k)
        ends = run.ends[sl].tolist()
        quality = run.quality[sl].tolist()
        values = run.recorded[sl].tolist()
        for end, q, vals in zip(ends, quality, values, strict=True):
            if q == Q_MISSING:
                continue
            status = STATUS_NOT_VALID if q == Q_ESTIMATED else 0
            if after_outage:
                status |= STATUS_POWER_DOWN
                after_outage = False
            if first_end <= end <= last_end:
                if src.dst_active(end * 60):
                    status |= STATUS_DST
                out.append(Row(end, status, [int(v) for v in vals]))
    return out


def _depth_minutes(src: MeterSource) -> int:
    return src.profile_days * 1440


def depth_rows(src: MeterSource) -> int:
    """How many rows the buffer holds when full (profile_entries)."""
    return src.profile_days * 1440 // src.m["interval"]
