"""Read and check day files (docs/day-file.md): the current shape and the seed's two shapes.

`parse()` turns bytes into a `Day` whose readings sit on the day's interval grid as integer Wh,
or raises `DayFileError` naming the field and the line. Tempest's ingest and `meter validate`
both use it, so a file is judged the same way wherever it goes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from meter import dayschema, tzdb
from meter.model import civil, tz

# \Z, not $: `$` also matches before a final "\n".
_TS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{2}:\d{2})?\Z")
_MILLI = Decimal("0.001")
# A day file nests four levels at most (metadata.config a few more). JSON nested a little under
# Python's recursion limit still parses, then overflows the stack in the checks after it, at a
# depth that depends on the caller's own stack: anything deeper than this is refused at once.
MAX_NESTING = 32
# Quality codes on the grid: actual, estimated, missing; None means "not reached yet".
ACTUAL, ESTIMATED, MISSING = "A", "E", "M"
_QUALITY_CODES = {"estimated": ESTIMATED, "missing": MISSING}


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


def schema() -> dict:
    """The day file's JSON Schema (meter/schema/day-file.schema.json)."""
    return dayschema.schema()


def _line_of(text: str, path: list) -> int | None:
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


def _path_text(path) -> str:
    return ".".join(str(p) for p in path)


def _shape_of(doc: dict) -> str:
    meta = doc.get("metadata")
    dmv = meta.get("data_model_version") if isinstance(meta, dict) else None
    if isinstance(dmv, str) and dmv.startswith("2."):
        return "current"
    if "datastreams" in doc:
        return "seed"
    return "flat"


def _schema_check(doc: dict, shape: str, text: str) -> bool:
    """Raise DayFileError naming the first schema fault (meter/dayschema.py). True when the
    readings were checked by hand (each a non-negative number in range under a well-formed
    timestamp)."""
    by_hand = dayschema.readings_ok(doc, shape)
    error = dayschema.first_error(doc, shape, by_hand)
    if error is not None:
        message, path = error
        raise DayFileError(message[:300], _path_text(path), _line_of(text, path))
    return by_hand


def _parse_ts(label: str) -> tuple[int, int | None]:
    """(local wall-clock minute since the epoch, offset minutes or None when naive)."""
    m = _TS.match(label)
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


def _to_wh(value, where, text: str, path: list, strict: bool, notes: list) -> int:
    if isinstance(value, Decimal) and value >= 0 and value.as_tuple().exponent >= -3:
        return int(value * 1000)  # the common case, checked cheaply first
    if where is None:
        where = _path_text(path)
    try:
        dec = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise DayFileError("not a number", where, _line_of(text, path)) from exc
    if not dec.is_finite() or dec < 0:
        raise DayFileError("energy must be a finite, non-negative number", where,
                           _line_of(text, path))
    exponent = dec.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -3:
        if strict:
            raise DayFileError(f"{value} has more than 3 decimals (kWh to the Wh)", where,
                               _line_of(text, path))
        rounded = dec.quantize(_MILLI, rounding=ROUND_HALF_EVEN)
        if "rounded values to 3 decimals" not in notes:
            notes.append("rounded values to 3 decimals")
        dec = rounded
    return int(dec * 1000)


def _legacy_zone(labels: list[str], default_zone: str) -> tuple[tz.Zone, str]:
    """A seed file has no zone: use its fixed offset if every timestamp has the same one."""
    offsets = set()
    for label in labels:
        m = _TS.match(label)
        offsets.add(m.group(7) if m else None)
    if len(offsets) == 1:
        (only,) = offsets
        if only is not None and only != "Z":
            _, off = _parse_ts(labels[0])
            name = "UTC" + tz.format_offset(off)
            return tz.Zone(name, [[-(1 << 40), off]]), name
    return tzdb.zone(default_zone), default_zone


def parse(data: bytes | str, legacy_timezone: str = "UTC") -> Day:
    """Parse and check a day file. `legacy_timezone` places seed files that carry no offset."""
    try:
        # Decoded inside the try: bytes that are not UTF-8 are a bad file, not a crash (ingest
        # would otherwise fail the whole batch, and every later one, on a single such file).
        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
        doc = json.loads(text, parse_float=Decimal)
    except UnicodeDecodeError as exc:
        raise DayFileError("not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise DayFileError(f"not JSON: {exc.msg}", f"column {exc.colno}", exc.lineno) from exc
    except RecursionError as exc:
        raise DayFileError("JSON nested too deeply") from exc
    except ValueError as exc:
        # Python refuses integers of more than 4300 digits (int_max_str_digits) while parsing.
        raise DayFileError(f"not JSON Tempest can read: {exc}"[:300]) from exc
    if not isinstance(doc, dict):
        raise DayFileError("a day file is a JSON object")
    if _nesting_exceeds(doc, MAX_NESTING):
        raise DayFileError(f"JSON nested too deeply (more than {MAX_NESTING} levels)")
    shape = _shape_of(doc)
    by_hand = _schema_check(doc, shape, text)
    if shape == "current":
        raw = data if isinstance(data, bytes) else text.encode()
        return _parse_current(doc, text, by_hand and not dayschema.fine_numbers(raw))
    return _parse_legacy(doc, text, shape, legacy_timezone)


def _nesting_exceeds(doc: dict, limit: int) -> bool:
    """Whether objects and arrays nest deeper than `limit` (a loop, not recursion: it must
    not overflow the stack on the very input it guards against)."""
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        children = list(value.values()) if type(value) is dict else value
        kinds = set(map(type, children))  # at C speed: most containers hold only numbers
        if dict not in kinds and list not in kinds:
            continue
        if depth >= limit:
            return True
        stack.extend((c, depth + 1) for c in children if type(c) in (dict, list))
    return False


def _grid(zone: tz.Zone, day: int, interval: int) -> list[int]:
    start = zone.day_start(day)
    end = zone.day_start(day + 1)
    return list(range(start + interval, end + 1, interval))


def _slot_of(label: str, zone: tz.Zone, index: dict[int, int], where: str, text: str,
             path: list, strict: bool) -> int:
    try:
        local, off = _parse_ts(label)
    except ValueError as exc:
        raise DayFileError(str(exc), where, _line_of(text, path)) from exc
    if off is None:
        off = zone.offset_at(local - zone.offset_at(local))
    utc = local - off
    if strict and off != zone.offset_at(utc):
        raise DayFileError(f"offset {tz.format_offset(off)} is not the zone's offset at that time",
                           where, _line_of(text, path))
    slot = index.get(utc)
    if slot is None:
        raise DayFileError("not the end of an interval of this reading day", where,
                           _line_of(text, path))
    return slot


def _parse_current(doc: dict, text: str, whole_wh: bool = False) -> Day:
    """whole_wh: every reading is known to be a non-negative number with at most three
    decimals under a well-formed timestamp, so a reading whose timestamp is exactly the label
    this file's grid gives (the only valid spelling) needs no further checks."""
    notes: list[str] = []
    try:
        day = civil.parse_day(doc["reading_day"])
    except ValueError as exc:
        raise DayFileError(str(exc), "reading_day", _line_of(text, ["reading_day"])) from exc
    try:
        zone = tzdb.zone(doc["timezone"])
    except tzdb.UnknownZone as exc:
        raise DayFileError(str(exc), "timezone", _line_of(text, ["timezone"])) from exc
    interval = doc["interval"]
    for off in set(zone.offsets):
        if off % interval:
            raise DayFileError(f"interval {interval} does not divide the zone's offset",
                               "interval", _line_of(text, ["interval"]))
    ends = _grid(zone, day, interval)
    index = {e: i for i, e in enumerate(ends)}
    label_of = tz.labeller(zone, ends[0] - interval, interval) if ends else None
    labels = [label_of(i) for i in range(len(ends))]
    slot_of_label = {label: i for i, label in enumerate(labels)}
    channels = doc["channels"]
    for part in ("snapshots", "closing_snapshots", "datastreams", "quality"):
        for name in doc[part]:
            if name not in channels:
                raise DayFileError(f"channel {name!r} is not declared in channels",
                                   f"{part}.{name}", _line_of(text, [part, name]))
    values: dict[str, list[int | None]] = {c: [None] * len(ends) for c in channels}
    quality: list[str | None] = [None] * len(ends)
    slots: dict[str, int] = {}  # every channel repeats the same labels: place each once
    for name, stream in doc["datastreams"].items():
        if whole_wh:
            fast_slots = list(map(slot_of_label.get, stream))
            if None not in fast_slots:
                column = values[name]
                for slot, v in zip(fast_slots, stream.values(), strict=True):
                    column[slot] = int(v * 1000)
                    quality[slot] = ACTUAL
                continue
        for label, v in stream.items():
            path = ["datastreams", name, label]
            slot = slots.get(label)
            if slot is None:
                slot = slots[label] = _slot_of(label, zone, index, _path_text(path), text, path,
                                               True)
            values[name][slot] = _to_wh(v, None, text, path, True, notes)
            quality[slot] = ACTUAL
    for name, marks in doc["quality"].items():
        for label, q in marks.items():
            path = ["quality", name, label]
            where = _path_text(path)
            slot = _slot_of(label, zone, index, where, text, path, True)
            code = _QUALITY_CODES[q]
            has_value = values[name][slot] is not None
            if code == MISSING and has_value:
                raise DayFileError("marked missing but has a reading", where, _line_of(text, path))
            if code == ESTIMATED and not has_value:
                raise DayFileError("marked estimated but has no reading", where,
                                   _line_of(text, path))
            quality[slot] = code
    # Every channel records the same intervals: a meter logs an interval for all or none.
    # A slot with a reading is marked actual or estimated (or refused above), so a channel
    # is complete when it has as many readings as there are such slots (counted in C).
    recorded = quality.count(ACTUAL) + quality.count(ESTIMATED)
    for name in channels:
        column = values[name]
        if len(column) - column.count(None) == recorded:
            continue
        for slot, q in enumerate(quality):
            if q in (ACTUAL, ESTIMATED) and column[slot] is None:
                raise DayFileError(f"interval {_label(zone, ends[slot])} has readings on other "
                                   "channels but not this one", f"datastreams.{name}",
                                   _line_of(text, ["datastreams", name]))
    # Readings are written in time order, so an open day is a prefix of the day.
    if None not in quality:
        last = len(quality) - 1
    else:
        last = max((i for i, q in enumerate(quality) if q is not None), default=-1)
    if None in quality[: last + 1]:
        gap = next(i for i, q in enumerate(quality) if q is None)
        raise DayFileError(f"interval ending {_label(zone, ends[gap])} is neither recorded nor "
                           "marked missing, but later ones are", "datastreams")
    status = doc["status"]
    if status == "sealed" and last != len(ends) - 1:
        raise DayFileError(f"a sealed day accounts for all {len(ends)} intervals, this one for "
                           f"{last + 1}", "status", _line_of(text, ["status"]))
    opening = _registers(doc, "snapshots", channels, text, notes)
    closing = _registers(doc, "closing_snapshots", channels, text, notes)
    for name in channels:
        total = sum(filter(None, values[name]))
        if closing[name] != opening[name] + total:
            raise DayFileError(
                f"closing snapshot {closing[name] / 1000:.3f} is not the opening snapshot "
                f"{opening[name] / 1000:.3f} plus the day's intervals {total / 1000:.3f}",
                f"closing_snapshots.{name}", _line_of(text, ["closing_snapshots", name]))
    return Day(
        serial=doc["serial"], reading_day=doc["reading_day"], interval=interval,
        timezone=doc["timezone"], status=status, shape="current",
        channels={n: {"role": c["role"], "unit": c["unit"]} for n, c in channels.items()},
        ends=ends, labels=labels, values=values, quality=quality,
        opening=opening, closing=closing, generator=_plain(doc["generator"]),
        metadata=_plain(doc["metadata"]), notes=notes)


def _registers(doc, part, channels, text, notes) -> dict[str, int]:
    regs = doc[part]
    out = {}
    for name in channels:
        if name not in regs:
            raise DayFileError(f"no register read for channel {name!r}", part,
                               _line_of(text, [part]))
        path = [part, name]
        out[name] = _to_wh(regs[name], _path_text(path), text, path, True, notes)
    return out


def _label(zone: tz.Zone, end: int) -> str:
    return tz.label(zone, end)


def _plain(obj):
    """Decimals (from parsing) back to JSON numbers for storage."""
    return json.loads(json.dumps(obj, default=_decimal_default))


def _decimal_default(o):
    if isinstance(o, Decimal):
        return int(o) if o == o.to_integral_value() else float(o)
    raise TypeError(type(o).__name__)


def _parse_legacy(doc: dict, text: str, shape: str, legacy_timezone: str) -> Day:
    notes = [f"seed {shape} shape"]
    try:
        day = civil.parse_day(doc["reading_day"])
    except ValueError as exc:
        raise DayFileError(str(exc), "reading_day", _line_of(text, ["reading_day"])) from exc
    if shape == "flat":
        streams = {"Total": {k: v for k, v in doc.items() if k not in ("serial", "reading_day")}}
        base_path = []
    else:
        streams = doc["datastreams"]
        base_path = ["datastreams"]
    for name, stream in streams.items():
        for label in stream:  # every timestamp readable before any is used to infer a thing
            try:
                _parse_ts(label)
            except ValueError as exc:
                path = [*base_path, name, label] if base_path else [label]
                raise DayFileError(str(exc), _path_text(path), _line_of(text, path)) from exc
    labels = [label for stream in streams.values() for label in stream]
    try:
        zone, zone_name = _legacy_zone(labels, legacy_timezone)
    except tzdb.UnknownZone as exc:
        raise DayFileError(str(exc), "timezone") from exc
    interval = doc.get("interval") or _infer_interval(labels)
    reading_day = doc["reading_day"]
    if labels and not _fits(labels, zone, _grid(zone, day, interval)) and _fits(
            labels, zone, _grid(zone, day - 1, interval)):
        # The seed's first meters named a day after the midnight that ends it.
        day -= 1
        reading_day = civil.format_day(day)
        notes.append(f"seed reading_day {doc['reading_day']} moved to {reading_day}, the day "
                     "its readings belong to")
    ends = _grid(zone, day, interval)
    index = {e: i for i, e in enumerate(ends)}
    values: dict[str, list[int | None]] = {c: [None] * len(ends) for c in streams}
    quality: list[str | None] = [None] * len(ends)
    for name, stream in streams.items():
        for label, v in stream.items():
            path = [*base_path, name, label] if base_path else [label]
            where = _path_text(path)
            slot = _slot_of(label, zone, index, where, text, path, False)
            values[name][slot] = _to_wh(v, where, text, path, False, notes)
            quality[slot] = ACTUAL
    # The seed wrote a reading per channel independently; an interval one channel lacks was
    # dropped by its `missing_data` setting.
    for slot in range(len(ends)):
        present = [values[c][slot] is not None for c in streams]
        if any(present) and not all(present):
            quality[slot] = MISSING
            for c in streams:
                values[c][slot] = None
            if "dropped intervals not recorded on every channel" not in notes:
                notes.append("dropped intervals not recorded on every channel")
    opening = None
    if isinstance(doc.get("snapshots"), dict) and doc["snapshots"]:
        opening = {}
        for name, v in doc["snapshots"].items():
            path = ["snapshots", name]
            opening[name] = _to_wh(v, _path_text(path), text, path, False, notes)
    if zone_name != legacy_timezone and not zone_name.startswith("UTC"):
        notes.append(f"times placed in {zone_name}")
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    return Day(
        serial=doc["serial"], reading_day=reading_day, interval=interval,
        timezone=zone_name, status="open" if any(q is None for q in quality) else "sealed",
        shape=shape, channels={c: {"role": "import" if i == 0 else "independent", "unit": "kWh"}
                               for i, c in enumerate(streams)},
        ends=ends, labels=[_label(zone, e) for e in ends], values=values, quality=quality,
        opening=opening, closing=None, generator={}, metadata=_plain(meta), notes=notes)


def _fits(labels: list[str], zone: tz.Zone, ends: list[int]) -> bool:
    grid = set(ends)
    for label in labels:
        try:
            local, off = _parse_ts(label)
        except ValueError:
            return False
        if off is None:
            off = zone.offset_at(local - zone.offset_at(local))
        if local - off not in grid:
            return False
    return True


def _infer_interval(labels: list[str]) -> int:
    minutes = sorted({_parse_ts(label)[0] for label in labels if _TS.match(label)})
    best = 0
    for m in minutes:
        # The grid starts at midnight, so every end is a whole number of intervals after one.
        best = _gcd(best, m % 1440)
    for candidate in (60, 30, 15, 10, 5, 1):
        if best and best % candidate == 0:
            return candidate
    return 5


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a
