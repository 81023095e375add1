"""Stored days as InfluxDB line protocol, in the seed's schema.

`consumption,datastream=<channel>,serial=<serial> reading=<kWh> <unix seconds>`: measurement
`consumption`, tags `serial` and `datastream`, float field `reading` (kWh, as the seed wrote it,
so existing dashboards and the field's type stay as they were). The timestamp is the interval's
END in UTC seconds, taken from the stored grid (UTC minutes), so the meter's zone cannot shift
it: the seed once wrote local times as UTC and its points landed hours in the future.

Strings, not `Point` objects: building a Point per reading is about 15x slower. Intervals with
no reading (missing, not reached) are left out; estimated readings are written as readings.
A day sent again writes the same series and timestamps, which InfluxDB overwrites.
"""

from __future__ import annotations

from functools import lru_cache

from tempest.read.stored import StoredDay

MEASUREMENT = "consumption"
WRITE_PRECISION = "s"
_MILLI = [f".{i:03d} " for i in range(1000)]


@lru_cache(maxsize=4096)
def _tag(value: str) -> str:
    """Escape a tag value (serials and channel names never need it, but a stray one must not
    corrupt a batch)."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def day_lines(day: StoredDay) -> list[str]:
    """Every reading of one day, one line each, channel by channel in time order."""
    out: list[str] = []
    step = day.interval * 60
    start = day.first_end * 60
    serial = _tag(day.serial)
    milli = _MILLI
    for name in day.channels:
        prefix = f"{MEASUREMENT},datastream={_tag(name)},serial={serial} reading="
        ts = start
        for wh in day.channel(name).tolist():
            if wh >= 0:
                # kWh to exactly three decimals from integer Wh: no float formatting noise.
                out.append(f"{prefix}{wh // 1000}{milli[wh % 1000]}{ts}")
            ts += step
    return out


def point_count(day: StoredDay) -> int:
    return sum(int((day.channel(name) >= 0).sum()) for name in day.channels)
