"""Read what an MDMS made of a scenario: its validated readings, as CSV or NEM12, with quality.

CSV: a header naming the columns, in any order: the meter (`site`, `nmi` or `serial`), the
interval's end (`interval_end` or `timestamp`, ISO 8601 with an offset or `Z`), `kwh` (empty
for a missing interval) and `quality` (`actual`/`A`, `estimated`/`substituted`/`E..`/`S..`/
`F..`, `missing`/`N`). With a `role` column only `import` rows are read, with a `channel`
column only `Total` or `E1` rows (Tempest's CSV export reads as it is).

NEM12: 200 records with NMI suffix `E1` are read (the import); each 300 record's slots are
placed in market time, a fixed offset (`+10:00` by default, NEM time), and a `V` day takes its
flags from the 400 records.

JSON lines: what Tempest's MDMS push delivered (meter/conformance/pushed.py).

Anything else is refused with the file, the line and the field (`OutputError`).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from core import civil

ACTUAL, ESTIMATED, MISSING = "actual", "estimated", "missing"
_KWH = re.compile(r"-?\d{1,9}(\.\d{1,6})?")


class OutputError(ValueError):
    def __init__(self, path, line: int, field: str, reason: str):
        self.path, self.line, self.field, self.reason = str(path), line, field, reason
        super().__init__(f"{path}:{line}: {field}: {reason}")


@dataclass(frozen=True)
class Reading:
    meter: str  # the site, serial or NMI the MDMS wrote
    end: int  # UTC minute
    wh: int | None
    quality: str


def read(path: Path, nem12_offset: int = 600) -> list[Reading]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputError(path, 0, "(file)", f"cannot read: {exc}") from exc
    if text.startswith("100,"):
        return read_nem12(path, text, nem12_offset)
    from meter.conformance import pushed  # it stands on this module's readers

    if pushed.looks_pushed(text):
        return pushed.read(path, text)
    return read_csv(path, text)


def quality_of(text: str, path, line: int, field: str) -> str:
    t = text.strip()
    low = t.lower()
    if low in ("actual", "a"):
        return ACTUAL
    if low in ("estimated", "substituted") or (t[:1] in ("E", "S", "F") and t[1:].isdigit()):
        return ESTIMATED
    if low in ("missing", "n", ""):
        return MISSING
    raise OutputError(path, line, field, f"unknown quality {text!r} (actual, estimated, "
                      "substituted, missing, or NEM12's A, E.., S.., F.., N)")


def wh_of(text: str, path, line: int, field: str) -> int | None:
    t = text.strip()
    if t == "":
        return None
    if not _KWH.fullmatch(t):
        raise OutputError(path, line, field, f"not a kWh value: {text!r}")
    try:
        return int((Decimal(t) * 1000).to_integral_value())
    except InvalidOperation as exc:
        raise OutputError(path, line, field, f"not a kWh value: {text!r}") from exc


def instant_of(text: str, path, line: int, field: str) -> int:
    try:
        stamp = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise OutputError(path, line, field, f"not an ISO 8601 time: {text!r}") from exc
    if stamp.utcoffset() is None:
        raise OutputError(path, line, field, f"{text!r} has no UTC offset: an instant needs one")
    off = int(stamp.utcoffset().total_seconds() // 60)
    if stamp.second or stamp.microsecond:
        raise OutputError(path, line, field, f"{text!r} is not on a whole minute")
    day = civil.days_from_civil(stamp.year, stamp.month, stamp.day)
    return day * 1440 + stamp.hour * 60 + stamp.minute - off


def _column(header: list[str], names: tuple[str, ...], path) -> int:
    for name in names:
        if name in header:
            return header.index(name)
    raise OutputError(path, 1, "(header)", f"no column {' or '.join(names)} "
                      f"(found: {', '.join(header) or 'nothing'})")


def read_csv(path: Path, text: str) -> list[Reading]:
    rows = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(rows, [])]
    who = _column(header, ("site", "nmi", "serial"), path)
    when = _column(header, ("interval_end", "timestamp"), path)
    val = _column(header, ("kwh",), path)
    qual = _column(header, ("quality",), path)
    role = header.index("role") if "role" in header else None
    channel = header.index("channel") if "channel" in header and role is None else None
    out = []
    for n, row in enumerate(rows, 2):
        if not row:
            continue
        if len(row) != len(header):
            raise OutputError(path, n, "(row)", f"{len(row)} fields, the header has {len(header)}")
        if role is not None and row[role] != "import":
            continue
        if channel is not None and row[channel] not in ("Total", "E1"):
            continue
        wh = wh_of(row[val], path, n, "kwh")
        q = quality_of(row[qual], path, n, "quality")
        if wh is None and q != MISSING:
            raise OutputError(path, n, "kwh", f"empty, but the quality is {row[qual]!r}")
        out.append(Reading(row[who].strip(), instant_of(row[when], path, n, header[when]),
                           wh, q))
    return out


def read_nem12(path: Path, text: str, offset: int) -> list[Reading]:
    out: list[Reading] = []
    meter, interval, keep = "", 0, False
    day_rows: list[Reading] = []
    for n, line in enumerate(text.splitlines(), 1):
        f = line.split(",")
        kind = f[0]
        if kind in ("100", "900", ""):
            continue
        if kind == "200":
            if len(f) < 10:
                raise OutputError(path, n, "200", "a 200 record has 10 fields")
            meter, keep = f[1], f[4] == "E1"
            try:
                interval = int(f[8])
            except ValueError as exc:
                raise OutputError(path, n, "200.IntervalLength", f"not a number: {f[8]!r}") from exc
            if interval not in (5, 15, 30):
                raise OutputError(path, n, "200.IntervalLength", f"{interval}: not 5, 15 or 30")
        elif kind == "300":
            if not interval:
                raise OutputError(path, n, "300", "a 300 record before any 200 record")
            day_rows = _nem12_day(path, n, f, interval, offset, meter) if keep else []
            out.extend(day_rows)
        elif kind == "400":
            if keep:
                _nem12_flags(path, n, f, day_rows, out)
        elif kind != "500":
            raise OutputError(path, n, "RecordIndicator", f"unknown record {kind!r}")
    return out


def _nem12_day(path, n, f, interval, offset, meter) -> list[Reading]:
    slots = 1440 // interval
    if len(f) < 2 + slots + 1:
        raise OutputError(path, n, "300", f"{len(f)} fields; {slots} intervals need {slots + 3}+")
    try:
        day = civil.parse_day(f"{f[1][:4]}-{f[1][4:6]}-{f[1][6:8]}")
    except ValueError as exc:
        raise OutputError(path, n, "300.IntervalDate", f"not a date: {f[1]!r}") from exc
    q = f[2 + slots]
    flag = "V" if q == "V" else quality_of(q, path, n, "300.QualityMethod")
    start = day * 1440 - offset
    rows = []
    for i in range(slots):
        wh = wh_of(f[2 + i], path, n, f"300.IntervalValue{i + 1}")
        if wh is None:
            raise OutputError(path, n, f"300.IntervalValue{i + 1}", "empty")
        rows.append(Reading(meter, start + (i + 1) * interval, None if flag == MISSING else wh,
                            ESTIMATED if flag == "V" else flag))
    return rows


def _nem12_flags(path, n, f, day_rows, out) -> None:
    try:
        first, last = int(f[1]), int(f[2])
    except (ValueError, IndexError) as exc:
        raise OutputError(path, n, "400.StartInterval", "not a number") from exc
    if not day_rows or not 1 <= first <= last <= len(day_rows):
        raise OutputError(path, n, "400", f"intervals {first}-{last} outside the day before it")
    q = quality_of(f[3], path, n, "400.QualityMethod")
    base = len(out) - len(day_rows)
    for i in range(first - 1, last):
        r = day_rows[i]
        out[base + i] = Reading(r.meter, r.end, None if q == MISSING else r.wh, q)
