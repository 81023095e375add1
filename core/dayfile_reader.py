"""Read and check day files (docs/day-file.md): the current shape and the seed's two shapes.

`parse()` turns bytes into a `Day` whose readings sit on the day's interval grid as integer Wh,
or raises `DayFileError` naming the field and the line. Tempest's ingest and `meter validate`
both use it, so a file is judged the same way wherever it goes.
"""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np

from core import civil, dayfile_json, dayfile_seed, dayfile_writer, dayschema, tz, tzdb
from core.dayfile_common import (  # noqa: F401  (Day's quality codes: read from here by callers)
    ACTUAL,
    ESTIMATED,
    MAX_NESTING,
    MISSING,
    Day,
    DayFileError,
    grid,
    line_of,
    path_text,
    plain,
    slot_of,
    to_wh,
)

_QUALITY_CODES = {"estimated": ESTIMATED, "missing": MISSING}


def schema() -> dict:
    """The day file's JSON Schema (core/schema/day-file.schema.json)."""
    return dayschema.schema()


def _shape_of(doc: dict) -> str:
    meta = doc.get("metadata")
    dmv = meta.get("data_model_version") if isinstance(meta, dict) else None
    if isinstance(dmv, str) and dmv.startswith("2."):
        return "current"
    if "datastreams" in doc:
        return "seed"
    return "flat"


def _schema_check(doc: dict, shape: str, text: str) -> bool:
    """Raise DayFileError naming the first schema fault (core/dayschema.py). True when the
    readings were checked by hand (each a non-negative number in range under a well-formed
    timestamp)."""
    by_hand = dayschema.readings_ok(doc, shape)
    error = dayschema.first_error(doc, shape, by_hand)
    if error is not None:
        message, path = error
        raise DayFileError(message[:300], path_text(path), line_of(text, path))
    return by_hand


def parse(data: bytes | str, legacy_timezone: str = "UTC") -> Day:
    """Parse and check a day file. `legacy_timezone` places seed files that carry no offset."""
    try:
        # Decoded inside the try: bytes that are not UTF-8 are a bad file, not a crash (ingest
        # would otherwise fail the whole batch, and every later one, on a single such file).
        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    except UnicodeDecodeError as exc:
        raise DayFileError("not UTF-8 text") from exc
    raw = data if isinstance(data, bytes) else text.encode()
    fine = dayschema.fine_numbers(raw)
    if not fine:
        day = _parse_fast(text)
        if day is not None:
            return day
    return _parse_checked(text, fine, legacy_timezone)


def _parse_fast(text: str) -> Day | None:
    """A well-formed current-shape day with no number finer than a Wh, its readings decoded
    as floats (core/dayfile_json.py): the same Day the checked path gives, at a fraction of
    the cost. None for anything else, or any fault at all: then the checked path judges the
    file and names the fault, word for word as it always has."""
    doc = dayfile_json.decode(text)
    if doc is None or _shape_of(doc) != "current":
        return None
    if not dayschema.readings_ok(doc, "current", floats=True):
        return None
    # Readings that passed are three levels deep: only the other members can nest too deep.
    if _nesting_exceeds({**doc, "datastreams": {}, "quality": {}}, MAX_NESTING):
        return None
    if dayschema.first_error(doc, "current", True) is not None:
        return None
    try:
        return _parse_current(doc, text, whole_wh=True)
    except Exception:  # noqa: BLE001  (judged again, and named, by the checked path)
        return None


def _parse_checked(text: str, fine: bool, legacy_timezone: str) -> Day:
    """Every number a Decimal, every fault named (the reference the fast path agrees with)."""
    try:
        doc = json.loads(text, parse_float=Decimal)
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
        return _parse_current(doc, text, by_hand and not fine)
    return dayfile_seed.parse_seed(doc, text, shape, legacy_timezone)


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


_GRIDS: dict[tuple[str, int, int], tuple] = {}
_GRIDS_KEPT = 128  # a backlog of a few months of days, one meter after another, still hits


def _day_grid(zone_name: str, zone, day: int, interval: int):
    """(ends, index, labels, slot of a label) of a day's interval grid. Kept for the last
    _GRIDS_KEPT grids: a batch of files is mostly one day in a few zones, and the labels are a tenth of a
    parse. The lists handed out are fresh copies; the two lookups are only ever read."""
    key = (zone_name, day, interval)
    found = _GRIDS.get(key)
    if found is None:
        ends = grid(zone, day, interval)
        label_of = dayfile_writer.labeller(zone, ends[0] - interval, interval) if ends else None
        labels = [label_of(i) for i in range(len(ends))]
        found = (tuple(ends), {e: i for i, e in enumerate(ends)}, tuple(labels),
                 {label: i for i, label in enumerate(labels)})
        if len(_GRIDS) >= _GRIDS_KEPT:  # the oldest goes (a few MB at most)
            _GRIDS.pop(next(iter(_GRIDS)), None)
        _GRIDS[key] = found
    ends, index, labels, slots = found
    return list(ends), index, list(labels), slots


def _parse_current(doc: dict, text: str, whole_wh: bool = False) -> Day:
    """whole_wh: every reading is known to be a non-negative number with at most three
    decimals under a well-formed timestamp, so a reading whose timestamp is exactly the label
    this file's grid gives (the only valid spelling) needs no further checks."""
    notes: list[str] = []
    try:
        day = civil.parse_day(doc["reading_day"])
    except ValueError as exc:
        raise DayFileError(str(exc), "reading_day", line_of(text, ["reading_day"])) from exc
    try:
        zone = tzdb.zone(doc["timezone"])
    except tzdb.UnknownZone as exc:
        raise DayFileError(str(exc), "timezone", line_of(text, ["timezone"])) from exc
    interval = doc["interval"]
    if type(interval) is not int:  # 5.0 equals the schema's 5 (enum), but counts no minutes
        raise DayFileError(f"interval {interval} is not a whole number of minutes", "interval",
                           line_of(text, ["interval"]))
    for off in set(zone.offsets):
        if off % interval:
            raise DayFileError(f"interval {interval} does not divide the zone's offset",
                               "interval", line_of(text, ["interval"]))
    ends, index, labels, slot_of_label = _day_grid(doc["timezone"], zone, day, interval)
    channels = doc["channels"]
    for part in ("snapshots", "closing_snapshots", "datastreams", "quality"):
        for name in doc[part]:
            if name not in channels:
                raise DayFileError(f"channel {name!r} is not declared in channels",
                                   f"{part}.{name}", line_of(text, [part, name]))
    values: dict[str, list[int | None]] = {c: [None] * len(ends) for c in channels}
    quality: list[str | None] = [None] * len(ends)
    slots: dict[str, int] = {}  # every channel repeats the same labels: place each once
    in_order = list(range(len(ends)))
    for name, stream in doc["datastreams"].items():
        if whole_wh:
            fast_slots = list(map(slot_of_label.get, stream))
            if None not in fast_slots:
                column = values[name]
                n = len(fast_slots)
                if fast_slots == in_order[:n]:  # the day so far, in order: as writers write
                    column[:n] = _wh(stream.values(), n)
                    quality[:n] = [ACTUAL] * n
                    continue
                for slot, v in zip(fast_slots, _wh(stream.values(), n), strict=True):
                    column[slot] = v
                    quality[slot] = ACTUAL
                continue
        for label, v in stream.items():
            path = ["datastreams", name, label]
            slot = slots.get(label)
            if slot is None:
                slot = slots[label] = slot_of(label, zone, index, path_text(path), text, path,
                                               True)
            values[name][slot] = to_wh(v, None, text, path, True, notes)
            quality[slot] = ACTUAL
    for name, marks in doc["quality"].items():
        for label, q in marks.items():
            path = ["quality", name, label]
            where = path_text(path)
            slot = slot_of(label, zone, index, where, text, path, True)
            code = _QUALITY_CODES[q]
            has_value = values[name][slot] is not None
            if code == MISSING and has_value:
                raise DayFileError("marked missing but has a reading", where, line_of(text, path))
            if code == ESTIMATED and not has_value:
                raise DayFileError("marked estimated but has no reading", where,
                                   line_of(text, path))
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
                raise DayFileError(f"interval {tz.label(zone, ends[slot])} has readings on other "
                                   "channels but not this one", f"datastreams.{name}",
                                   line_of(text, ["datastreams", name]))
    # Readings are written in time order, so an open day is a prefix of the day.
    if None not in quality:
        last = len(quality) - 1
    else:
        last = max((i for i, q in enumerate(quality) if q is not None), default=-1)
    if None in quality[: last + 1]:
        gap = next(i for i, q in enumerate(quality) if q is None)
        raise DayFileError(f"interval ending {tz.label(zone, ends[gap])} is neither recorded nor "
                           "marked missing, but later ones are", "datastreams")
    status = doc["status"]
    if status == "sealed" and last != len(ends) - 1:
        raise DayFileError(f"a sealed day accounts for all {len(ends)} intervals, this one for "
                           f"{last + 1}", "status", line_of(text, ["status"]))
    opening = _registers(doc, "snapshots", channels, text, notes)
    closing = _registers(doc, "closing_snapshots", channels, text, notes)
    for name in channels:
        total = sum(filter(None, values[name]))
        if closing[name] != opening[name] + total:
            raise DayFileError(
                f"closing snapshot {closing[name] / 1000:.3f} is not the opening snapshot "
                f"{opening[name] / 1000:.3f} plus the day's intervals {total / 1000:.3f}",
                f"closing_snapshots.{name}", line_of(text, ["closing_snapshots", name]))
    measurements = _measurements(doc, text, zone, index, channels, quality)
    return Day(
        serial=doc["serial"], reading_day=doc["reading_day"], interval=interval,
        timezone=doc["timezone"], status=status, shape="current",
        channels={n: {"role": c["role"], "unit": c["unit"]} for n, c in channels.items()},
        ends=ends, labels=labels, values=values, quality=quality,
        opening=opening, closing=closing, generator=plain(doc["generator"]),
        metadata=plain(doc["metadata"]), notes=notes, measurements=measurements)


def _wh(kwh, count: int) -> list[int]:
    """kWh readings known to have at most three decimals and to lie in 0 to 100,000 (Decimals,
    or the fast path's floats) as integer Wh: scaled and rounded in numpy. Exact: a float
    carries about 16 significant digits and these have at most 9."""
    return np.rint(np.fromiter(kwh, np.float64, count) * 1000).astype(np.int64).tolist()


def _measurements(doc, text, zone, index, channels, quality) -> dict[str, dict]:
    """A sensor meter's measurement channels, each value on an interval that has energy
    readings and spelt with exactly the channel's decimals (the writer's fixed format)."""
    out = {}
    for name, m in doc.get("measurements", {}).items():
        if name in channels:
            raise DayFileError(f"measurement {name!r} is also an energy channel",
                               f"measurements.{name}", line_of(text, ["measurements", name]))
        decimals = m["decimals"]
        column: list[int | None] = [None] * len(quality)
        for label, v in m["values"].items():
            path = ["measurements", name, "values", label]
            where = path_text(path)
            slot = slot_of(label, zone, index, where, text, path, True)
            if quality[slot] not in (ACTUAL, ESTIMATED):
                raise DayFileError("a measurement on an interval with no energy reading", where,
                                   line_of(text, path))
            exponent = Decimal(v).as_tuple().exponent
            if exponent != -decimals and not (decimals == 0 and isinstance(v, int)):
                raise DayFileError(f"{v} is not written with exactly {decimals} decimals", where,
                                   line_of(text, path))
            column[slot] = int(Decimal(v).scaleb(decimals))
        out[name] = {"unit": m["unit"], "decimals": decimals, "sensor": m.get("sensor"),
                     "values": column}
    return out


def _registers(doc, part, channels, text, notes) -> dict[str, int]:
    regs = doc[part]
    out = {}
    for name in channels:
        if name not in regs:
            raise DayFileError(f"no register read for channel {name!r}", part,
                               line_of(text, [part]))
        path = [part, name]
        out[name] = to_wh(regs[name], path_text(path), text, path, True, notes)
    return out


