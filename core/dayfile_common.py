"""What the day-file reader's two halves share: the Day it returns, the error it raises, and
the low-level readers of timestamps and energies (core/dayfile_reader.py reads the current
shape, core/dayfile_seed.py the seed's two shapes)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from core import civil, tz

# \Z, not $: `$` also matches before a final "\n".
TIMESTAMP = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{2}:\d{2})?\Z")
_MILLI = Decimal("0.001")
# A day file nests four levels at most (metadata.config a few more). JSON nested a little under
# Python's recursion limit still parses, then overflows the stack in the checks after it, at a
# depth that depends on the caller's own stack: anything deeper than this is refused at once.
MAX_NESTING = 32
# Quality codes on the grid: actual, estimated, missing; None means "not reached yet".
ACTUAL, ESTIMATED, MISSING = "A", "E", "M"


class DayFileError(ValueError):
    """A day file that cannot be accepted: which field, which line, why."""

    def __init__(self, reason: str, field: str = "", line: int | None = None):
        self.reason = reason
        self.field = field
        self.line = line
        where = field or "(file)"
        if line:
            where += f" (line {line})"
        super().__init__(f"{where}: {reason}")

    def as_dict(self) -> dict:
        return {"reason": self.reason, "field": self.field, "line": self.line}


@dataclass
class Day:
    """One meter-day on its interval grid. Energies are integer Wh."""

    serial: str
    reading_day: str
    interval: int
    timezone: str
    status: str  # "open" or "sealed"
    shape: str  # "current", "seed" or "flat"
    channels: dict[str, dict]  # name -> {"role", "unit"} in file order
    ends: list[int]  # UTC minute at which each interval of the day ends
    labels: list[str]  # each interval's end as ISO 8601 with offset
    values: dict[str, list[int | None]]  # per channel, aligned to `ends`
    quality: list[str | None]  # per interval: A, E, M or None (not yet recorded)
    opening: dict[str, int] | None
    closing: dict[str, int] | None
    generator: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what was normalised on the way in
    # A sensor meter's measurement channels: name -> {"unit", "decimals", "sensor", "values"},
    # values aligned to `ends` in units of 10**-decimals of the unit (None: no reading).
    # Never energy: not in `channels`, `values`, the registers or any total.
    measurements: dict[str, dict] = field(default_factory=dict)

    @property
    def expected(self) -> int:
        return len(self.ends)

    def recorded(self) -> int:
        """Intervals with a reading (actual or estimated)."""
        return self.quality.count(ACTUAL) + self.quality.count(ESTIMATED)

    def accounted(self) -> int:
        """Intervals the file says something about (a reading or 'missing')."""
        return len(self.quality) - self.quality.count(None)

    def total(self, channel: str) -> int:
        return sum(filter(None, self.values[channel]))  # None (no reading) and 0 add nothing


def line_of(text: str, path: list) -> int | None:
    pos = 0
    found = None
    for key in path:
        if isinstance(key, int):
            continue
        i = text.find(json.dumps(str(key)), pos)
        if i < 0:
            break
        pos = found = i
    if found is None:
        return None
    return text.count("\n", 0, found) + 1


def path_text(path) -> str:
    return ".".join(str(p) for p in path)


def parse_ts(label: str) -> tuple[int, int | None]:
    """(local wall-clock minute since the epoch, offset minutes or None when naive)."""
    m = TIMESTAMP.match(label)
    if not m:
        raise ValueError("not an ISO 8601 timestamp")
    y, mo, d, hh, mm, ss, off = m.groups()
    day = civil.days_from_civil(int(y), int(mo), int(d))
    if civil.civil_from_days(day) != (int(y), int(mo), int(d)) or int(hh) > 23 or int(mm) > 59:
        raise ValueError("no such date or time")
    if ss != "00":
        raise ValueError("intervals end on a whole minute")
    local = day * 1440 + int(hh) * 60 + int(mm)
    if off is None:
        return local, None
    if off == "Z":
        return local, 0
    sign = -1 if off[0] == "-" else 1
    return local, sign * (int(off[1:3]) * 60 + int(off[4:6]))


def to_wh(value, where, text: str, path: list, strict: bool, notes: list) -> int:
    if isinstance(value, Decimal) and value >= 0 and value.as_tuple().exponent >= -3:
        return int(value * 1000)  # the common case, checked cheaply first
    if where is None:
        where = path_text(path)
    try:
        dec = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise DayFileError("not a number", where, line_of(text, path)) from exc
    if not dec.is_finite() or dec < 0:
        raise DayFileError("energy must be a finite, non-negative number", where,
                           line_of(text, path))
    exponent = dec.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -3:
        if strict:
            raise DayFileError(f"{value} has more than 3 decimals (kWh to the Wh)", where,
                               line_of(text, path))
        rounded = dec.quantize(_MILLI, rounding=ROUND_HALF_EVEN)
        if "rounded values to 3 decimals" not in notes:
            notes.append("rounded values to 3 decimals")
        dec = rounded
    return int(dec * 1000)


def grid(zone: tz.Zone, day: int, interval: int) -> list[int]:
    start = zone.day_start(day)
    end = zone.day_start(day + 1)
    return list(range(start + interval, end + 1, interval))


def slot_of(label: str, zone: tz.Zone, index: dict[int, int], where: str, text: str,
             path: list, strict: bool) -> int:
    try:
        local, off = parse_ts(label)
    except ValueError as exc:
        raise DayFileError(str(exc), where, line_of(text, path)) from exc
    if off is None:
        off = zone.offset_at(local - zone.offset_at(local))
    utc = local - off
    if strict and off != zone.offset_at(utc):
        raise DayFileError(f"offset {tz.format_offset(off)} is not the zone's offset at that time",
                           where, line_of(text, path))
    slot = index.get(utc)
    if slot is None:
        raise DayFileError("not the end of an interval of this reading day", where,
                           line_of(text, path))
    return slot


def plain(obj):
    """Decimals (from parsing) back to JSON numbers for storage."""
    return json.loads(json.dumps(obj, default=_decimal_default))


def _decimal_default(o):
    if isinstance(o, Decimal):
        return int(o) if o == o.to_integral_value() else float(o)
    raise TypeError(type(o).__name__)


