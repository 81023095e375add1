"""The day file from whole columns (numpy), for bulk work on CPython: backfill, redial, a bulk
host's catch-up. Same bytes as `core.dayfile_writer.write` (docs/day-file.md), which stays the
one definition of the format and streams row by row for the Pico; tests hold the two together.

Why a second writer: the streaming one formats every reading with `%` and writes it with a
call of its own, a few microseconds a reading, which made a backfill slower than `json.dump`.
Here a day's labels become their `"label": ` keys once (kept per day grid by a bulk writer), a
reading is one lookup in a table of pre-formatted kWh, and each channel is one `str.join` of
keys and values interleaved.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from core import civil, tz
from core.dayfile_writer import kwh

_TABLE_SIZE = 100_000  # 0.000 ... 99.999 kWh in an interval: every household reading
_CLOCK = [f"{minute // 60:02d}:{minute % 60:02d}:00" for minute in range(1440)]


@cache
def _kwh_table() -> list[str]:
    """kWh text for every Wh below the table size, built on first use (a few tens of ms)."""
    return [f"{wh // 1000}.{wh % 1000:03d}" for wh in range(_TABLE_SIZE)]


_offset_text = cache(tz.format_offset)


def labels(starts: np.ndarray, offsets: np.ndarray, ends: np.ndarray) -> list[str]:
    """Each interval END (UTC minutes) as ISO 8601 with the offset in force from that instant
    on, as `core.tz.label` writes it. `starts`, `offsets`: the zone's transition table as
    arrays (`core.tz.Zone.starts`, `.offsets`)."""
    at = np.maximum(np.searchsorted(starts, ends, side="right") - 1, 0)
    off = offsets[at]
    local = ends + off
    days = (local // 1440).tolist()
    minutes = (local % 1440).tolist()
    prefixes: dict[int, str] = {}
    for day in set(days):
        prefixes[day] = civil.format_day(day) + "T"
    clock = _CLOCK
    offs = off.tolist()
    if offs and offs[0] == offs[-1] and len(set(offs)) == 1:  # no DST change in the day
        tail = _offset_text(offs[0])
        return [prefixes[d] + clock[m] + tail for d, m in zip(days, minutes, strict=True)]
    return [prefixes[d] + clock[m] + _offset_text(o)
            for d, m, o in zip(days, minutes, offs, strict=True)]


def _registers(names: list[str], values: list[int]) -> str:
    return "{" + ", ".join(f'"{n}": {kwh(v)}' for n, v in zip(names, values, strict=True)) + "}"


def keys(labels: list[str]) -> list[str]:
    """`, "<label>": ` for each label: what comes before a reading in a datastream (the first
    reading's leading `, ` is dropped). A bulk writer keeps them per day grid (`write(keys=)`):
    the meters of a zone share them."""
    return [f', "{label}": ' for label in labels]


def write(head, channels, opening, closing, labels: list[str], wh: np.ndarray,
          missing: np.ndarray, marks: list[tuple[int, str]], generator_json: str,
          metadata_json: str, keys_of_labels: list[str] | None = None) -> str:
    """One day file as text, byte for byte what `dayfile_writer.write` gives for the same day
    (without measurements: a sensor meter's days go through that writer).

    head, channels, opening, closing, generator_json, metadata_json: as dayfile_writer.write.
    labels: every interval's end label, in time order; wh: [intervals, channels] integer Wh;
    missing: bool per interval, True where it has no reading (left out of the datastreams);
    marks: (interval index, quality text) of every interval that is not actual, in time order;
    keys_of_labels: `keys(labels)`, if the caller keeps them.
    """
    serial, reading_day, interval, timezone, status = head
    names = [c[0] for c in channels]
    out = [f'{{"serial": "{serial}", "reading_day": "{reading_day}", "interval": {interval:d}, '
           f'"timezone": "{timezone}", "status": "{status}", "unit": "kWh",\n"channels": {{']
    parts = []
    for name, role, share in channels:
        if share is None:
            parts.append(f'"{name}": {{"role": "{role}", "unit": "kWh"}}')
        else:
            parts.append(f'"{name}": {{"role": "{role}", "unit": "kWh", "share": {share}}}')
    out.append(", ".join(parts))
    out.append('},\n"snapshots": ')
    out.append(_registers(names, opening))
    out.append(',\n"closing_snapshots": ')
    out.append(_registers(names, closing))
    out.append(',\n"datastreams": {')
    pairs = keys(labels) if keys_of_labels is None else keys_of_labels
    if missing.any():
        kept = np.flatnonzero(~missing).tolist()
        pairs = [pairs[i] for i in kept]
        table_rows = wh[kept]
    else:
        table_rows = wh
    if len(table_rows) and (int(table_rows.min()) < 0 or int(table_rows.max()) >= _TABLE_SIZE):
        text = kwh  # an export channel's negative or a huge reading: rare, format each
    else:
        text = _kwh_table().__getitem__
    # A channel is its keys and values interleaved and joined once: no string per reading.
    line = [""] * (2 * len(pairs))
    line[0::2] = pairs
    if pairs:
        line[0] = pairs[0][2:]
    streams = []
    for c, name in enumerate(names):
        line[1::2] = map(text, table_rows[:, c].tolist())
        streams.append(f'\n"{name}": {{' + "".join(line) + "}")
    out.append(",".join(streams))
    out.append('},\n"quality": {')
    marked = ", ".join(f'"{labels[i]}": "{q}"' for i, q in marks)
    out.append(", ".join(f'"{name}": {{' + marked + "}" for name in names))
    out.append(f'}},\n"generator": {generator_json},\n"metadata": {metadata_json}}}\n')
    return "".join(out)
