"""The CSV export: one row per interval and channel, for spreadsheets and data tools.

    serial,channel,role,interval_start,interval_end,kwh,quality
    kili,Total,import,2023-05-26T00:00:00+12:00,2023-05-26T00:05:00+12:00,0.041,actual

Days are the meters' own local reading days; times carry the meter's UTC offset (on a day
clocks change, the offsets change with them). A missing interval has an empty `kwh` and quality
`missing` (never a silent zero); intervals an open day has not reached yet are left out.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator

from tempest import codec
from tempest.exports.nem12 import kwh_text
from tempest.read import stored

HEADER = "serial,channel,role,interval_start,interval_end,kwh,quality\n"
_QUALITY = {"A": "actual", "E": "estimated", "M": "missing"}


def day_rows(day: stored.StoredDay) -> str:
    ends = day.labels()
    starts = codec.labels(day.timezone, day.first_end - day.interval, day.expected,
                          day.interval)
    quality = day.quality.decode("ascii")
    out = []
    for name, info in day.channels.items():
        values = day.channel(name).tolist()
        texts = kwh_text([max(v, 0) for v in values]).split(",")
        head = f"{day.serial},{name},{info.get('role') or ''},"
        for i, q in enumerate(quality):
            if q == codec.NOT_REACHED:
                continue
            kwh = texts[i] if values[i] >= 0 and q != "M" else ""
            out.append(f"{head}{starts[i]},{ends[i]},{kwh},{_QUALITY[q]}\n")
    return "".join(out)


def export(conn: sqlite3.Connection, first: str, last: str,
           serials: Iterable[str] | None = None) -> Iterator[str]:
    """The whole file in chunks (one per meter-day)."""
    yield HEADER
    for serial in stored.serials(conn, first, last, serials):
        for day in stored.meter_range(conn, serial, first, last):
            yield day_rows(day)
