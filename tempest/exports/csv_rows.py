"""The CSV export: one row per interval and channel, for spreadsheets and data tools.

    serial,channel,role,interval_start,interval_end,kwh,quality
    kili,Total,import,2023-05-26T00:00:00+12:00,2023-05-26T00:05:00+12:00,0.041,actual

Days are the meters' own local reading days; times carry the meter's UTC offset (on a day
clocks change, the offsets change with them). A missing interval has an empty `kwh` and quality
`missing` (never a silent zero); intervals an open day has not reached yet are left out.

Rows are written by the `csv` module (a field with a comma, quote or line break would be
quoted, never split a row), and the serial, channel and role of each are checked whole first:
a name that is not one Tempest would take stops the export instead of reaching a file.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterable, Iterator

from tempest import codec, names
from tempest.exports.market import ExportError
from tempest.exports.nem12 import kwh_text
from tempest.read import stored

FIELDS = ("serial", "channel", "role", "interval_start", "interval_end", "kwh", "quality")
_QUALITY = {"A": "actual", "E": "estimated", "M": "missing"}
_ROLES = ("import", "sub", "export", "generation", "independent", "")  # "": seed-era days


def _writer(buf: io.StringIO):
    # "\n" as before; csv then quotes a field holding "\n" (none can: see _check).
    return csv.writer(buf, lineterminator="\n")


def _text(rows) -> str:
    buf = io.StringIO()
    _writer(buf).writerows(rows)
    return buf.getvalue()


HEADER = _text([FIELDS])


def _check(day: stored.StoredDay, name: str, role: str) -> None:
    if not (names.valid_serial(day.serial) and names.valid_channel(name) and role in _ROLES):
        raise ExportError(f"{day.serial!r} {day.reading_day}: channel {name!r}, role {role!r} "
                          "is not a name Tempest takes")


def day_rows(day: stored.StoredDay) -> str:
    ends = day.labels()
    starts = codec.labels(day.timezone, day.first_end - day.interval, day.expected,
                          day.interval)
    quality = day.quality.decode("ascii")
    buf = io.StringIO()
    writer = _writer(buf)
    for name, info in day.channels.items():
        role = info.get("role") or ""
        _check(day, name, role)
        values = day.channel(name).tolist()
        texts = kwh_text([max(v, 0) for v in values]).split(",")
        writer.writerows(
            (day.serial, name, role, starts[i], ends[i],
             texts[i] if values[i] >= 0 and q != "M" else "", _QUALITY[q])
            for i, q in enumerate(quality) if q != codec.NOT_REACHED)
    return buf.getvalue()


def export(conn: sqlite3.Connection, first: str, last: str,
           serials: Iterable[str] | None = None) -> Iterator[str]:
    """The whole file in chunks (one per meter-day)."""
    yield HEADER
    for serial in stored.serials(conn, first, last, serials):
        for day in stored.meter_range(conn, serial, first, last):
            yield day_rows(day)
