"""The seed's two day-file shapes (`datastreams` and flat), read onto the current grid.

Seed files carry no zone and sometimes no offsets, and the seed's first meters named a day
after the midnight that ends it; docs/day-file.md says how each is placed.
"""

from __future__ import annotations

from core import civil, tz, tzdb
from core.dayfile_common import (
    ACTUAL,
    MISSING,
    TIMESTAMP,
    Day,
    DayFileError,
    grid,
    line_of,
    parse_ts,
    path_text,
    plain,
    slot_of,
    to_wh,
)


def moved_note(named: str, placed: str) -> str:
    """The note of a seed file whose readings belong to the day before the one it names; Tempest
    finds such a file again by the day the seed named (the seed's `GET /payload?day=`)."""
    return f"seed reading_day {named} moved to {placed}, the day its readings belong to"


def _legacy_zone(labels: list[str], default_zone: str) -> tuple[tz.Zone, str]:
    """A seed file has no zone: use its fixed offset if every timestamp has the same one."""
    offsets = set()
    for label in labels:
        m = TIMESTAMP.match(label)
        offsets.add(m.group(7) if m else None)
    if len(offsets) == 1:
        (only,) = offsets
        if only is not None and only != "Z":
            _, off = parse_ts(labels[0])
            name = "UTC" + tz.format_offset(off)
            return tz.Zone(name, [[-(1 << 40), off]]), name
    return tzdb.zone(default_zone), default_zone


def parse_seed(doc: dict, text: str, shape: str, legacy_timezone: str) -> Day:
    notes = [f"seed {shape} shape"]
    try:
        day = civil.parse_day(doc["reading_day"])
    except ValueError as exc:
        raise DayFileError(str(exc), "reading_day", line_of(text, ["reading_day"])) from exc
    if shape == "flat":
        streams = {"Total": {k: v for k, v in doc.items() if k not in ("serial", "reading_day")}}
        base_path = []
    else:
        streams = doc["datastreams"]
        base_path = ["datastreams"]
    for name, stream in streams.items():
        for label in stream:  # every timestamp readable before any is used to infer a thing
            try:
                parse_ts(label)
            except ValueError as exc:
                path = [*base_path, name, label] if base_path else [label]
                raise DayFileError(str(exc), path_text(path), line_of(text, path)) from exc
    labels = [label for stream in streams.values() for label in stream]
    try:
        zone, zone_name = _legacy_zone(labels, legacy_timezone)
    except tzdb.UnknownZone as exc:
        raise DayFileError(str(exc), "timezone") from exc
    interval = doc.get("interval") or _infer_interval(labels)
    reading_day = doc["reading_day"]
    if labels and not _fits(labels, zone, grid(zone, day, interval)) and _fits(
            labels, zone, grid(zone, day - 1, interval)):
        # The seed's first meters named a day after the midnight that ends it.
        day -= 1
        reading_day = civil.format_day(day)
        notes.append(moved_note(doc["reading_day"], reading_day))
    ends = grid(zone, day, interval)
    index = {e: i for i, e in enumerate(ends)}
    values: dict[str, list[int | None]] = {c: [None] * len(ends) for c in streams}
    quality: list[str | None] = [None] * len(ends)
    for name, stream in streams.items():
        for label, v in stream.items():
            path = [*base_path, name, label] if base_path else [label]
            where = path_text(path)
            slot = slot_of(label, zone, index, where, text, path, False)
            values[name][slot] = to_wh(v, where, text, path, False, notes)
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
            opening[name] = to_wh(v, path_text(path), text, path, False, notes)
    if zone_name != legacy_timezone and not zone_name.startswith("UTC"):
        notes.append(f"times placed in {zone_name}")
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    return Day(
        serial=doc["serial"], reading_day=reading_day, interval=interval,
        timezone=zone_name, status="open" if any(q is None for q in quality) else "sealed",
        shape=shape, channels={c: {"role": "import" if i == 0 else "independent", "unit": "kWh"}
                               for i, c in enumerate(streams)},
        ends=ends, labels=[tz.label(zone, e) for e in ends], values=values, quality=quality,
        opening=opening, closing=None, generator={}, metadata=plain(meta), notes=notes)


def _fits(labels: list[str], zone: tz.Zone, ends: list[int]) -> bool:
    grid = set(ends)
    for label in labels:
        try:
            local, off = parse_ts(label)
        except ValueError:
            return False
        if off is None:
            off = zone.offset_at(local - zone.offset_at(local))
        if local - off not in grid:
            return False
    return True


def _infer_interval(labels: list[str]) -> int:
    minutes = sorted({parse_ts(label)[0] for label in labels if TIMESTAMP.match(label)})
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
