"""Stored days as InfluxDB line protocol, in the seed's schema.

`consumption,datastream=<channel>,serial=<serial> reading=<kWh> <unix seconds>`: measurement
`consumption`, tags `serial` and `datastream`, float field `reading` (kWh, as the seed wrote it,
so existing dashboards and the field's type stay as they were). The timestamp is the interval's
END in UTC seconds, taken from the stored grid (UTC minutes), so the meter's zone cannot shift
it: the seed once wrote local times as UTC and its points landed hours in the future.

Strings, not `Point` objects: building a Point per reading is about 15x slower. Intervals with
no reading (missing, not reached) are left out; estimated readings are written as readings.
A day sent again writes the same series and timestamps, which InfluxDB overwrites.

A sensor meter's measurements are never `consumption`: each is a point of measurement
`sensor`, tags `datastream` (temperature, humidity, onboard), `serial` and `unit` (`°C`,
`%RH`), float field `reading` in that unit, written with the day file's decimals.
"""

from __future__ import annotations

from functools import lru_cache

from core.dayfile_writer import fixed
from tempest.read.stored import StoredDay

MEASUREMENT = "consumption"
SENSOR_MEASUREMENT = "sensor"
WRITE_PRECISION = "s"
_TABLE_SIZE = 100_000  # pre-formatted kWh for 0 ... 99.999 kWh per interval
_KWH = [f"{wh // 1000}.{wh % 1000:03d}" for wh in range(_TABLE_SIZE)]


@lru_cache(maxsize=4096)
def _tag(value: str) -> str:
    """Escape a tag value (serials and channel names never need it, but a stray one must not
    corrupt a batch)."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _kwh(wh: int) -> str:
    """kWh to exactly three decimals from integer Wh: no float formatting noise."""
    return _KWH[wh] if wh < _TABLE_SIZE else f"{wh // 1000}.{wh % 1000:03d}"


def day_body(day: StoredDay) -> str:
    """Every reading of one day, a line each (newline-terminated), channel by channel in time
    order. This runs for every point the sink writes, so it does one table lookup and one
    concatenation per point (value + timestamp) and lets str.join put the series key in
    front of each."""
    step = day.interval * 60
    start = day.first_end * 60
    stamps = [f" {t}" for t in range(start, start + step * day.expected, step)]
    serial = _tag(day.serial)
    parts = []
    for name in day.channels:
        values = day.channel(name)
        prefix = f"{MEASUREMENT},datastream={_tag(name)},serial={serial} reading="
        if len(values) and int(values.max()) < _TABLE_SIZE:
            table = _KWH
            pieces = [table[wh] + ts for wh, ts in zip(values.tolist(), stamps, strict=True)
                      if wh >= 0]
        else:
            pieces = [_kwh(wh) + ts for wh, ts in zip(values.tolist(), stamps, strict=True)
                      if wh >= 0]
        if pieces:
            parts.append(prefix + ("\n" + prefix).join(pieces) + "\n")
    for name, m in day.measurements.items():
        prefix = (f"{SENSOR_MEASUREMENT},datastream={_tag(name)},serial={serial},"
                  f"unit={_tag(m['unit'])} reading=")
        parts.extend(prefix + fixed(v, m["decimals"]) + ts + "\n"
                     for v, ts in zip(m["values"], stamps, strict=True) if v is not None)
    return "".join(parts)


def day_lines(day: StoredDay) -> list[str]:
    return day_body(day).splitlines()


def point_count(day: StoredDay) -> int:
    return (sum(int((day.channel(name) >= 0).sum()) for name in day.channels)
            + sum(len(m["values"]) - m["values"].count(None) for m in day.measurements.values()))
