"""The compact row format of readings, and the time grid a stored day sits on.

A channel's day is one BLOB of little-endian int32 Wh, one per interval, -1 where there is no
reading (an int32 holds 2,147 MWh per interval; the day-file schema caps one at 100 MWh). The
day's quality is one byte per interval. A 5-minute day of one channel is 1,152 bytes, and a
day's chart is one primary-key lookup.
"""

from __future__ import annotations

import re
import sys
from array import array
from functools import lru_cache

import numpy as np

from core import tz, tzdb
from core.dayfile_reader import ACTUAL, ESTIMATED, MISSING

NO_READING = -1
NOT_REACHED = "-"
_QUALITY_BYTES = {ACTUAL: "A", ESTIMATED: "E", MISSING: "M", None: NOT_REACHED}
_FIXED = re.compile(r"UTC([+-])(\d{2}):(\d{2})")  # fullmatch: `$` lets "\n" in
_WIRE = np.dtype("<i4")


def pack(values: list[int | None]) -> bytes:
    # A whole day (the common case) needs no per-reading substitution.
    packed = array("i", values if None not in values else
                   [NO_READING if v is None else v for v in values])
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack(blob: bytes) -> np.ndarray:
    """int32 Wh per interval, NO_READING where there is none (read-only view)."""
    return np.frombuffer(blob, dtype=_WIRE)


def unpack_list(blob: bytes) -> list[int | None]:
    return [None if v < 0 else v for v in unpack(blob).tolist()]


def pack_quality(quality: list[str | None]) -> bytes:
    return "".join(map(_QUALITY_BYTES.__getitem__, quality)).encode("ascii")


def quality_names(blob: bytes) -> list[str | None]:
    """Per interval: 'actual', 'estimated', 'missing' or None (not reached yet)."""
    names = {"A": "actual", "E": "estimated", "M": "missing", NOT_REACHED: None}
    return [names[c] for c in blob.decode("ascii")]


@lru_cache(maxsize=256)
def zone_for(name: str) -> tz.Zone:
    """The zone a stored day was placed in: an IANA zone, or a seed file's fixed UTC+hh:mm."""
    m = _FIXED.fullmatch(name)
    if m:
        off = (int(m.group(2)) * 60 + int(m.group(3))) * (-1 if m.group(1) == "-" else 1)
        return tz.Zone(name, [[-(1 << 40), off]])
    return tzdb.zone(name)


@lru_cache(maxsize=512)
def labels(zone_name: str, first_end: int, count: int, interval: int) -> tuple[str, ...]:
    """Each interval's end as ISO 8601 with its offset. Cached: every meter in a zone shares a
    day's grid (an entry is about 40 kB at 5 minutes, so the cache stays near 20 MB)."""
    zone = zone_for(zone_name)
    return tuple(tz.label(zone, first_end + i * interval) for i in range(count))


def label_many(zone_name: str, ends: list[int]) -> list[str]:
    zone = zone_for(zone_name)
    return [tz.label(zone, e) for e in ends]


def offsets(zone_name: str, ends: np.ndarray) -> np.ndarray:
    """UTC offset in minutes in force at each UTC minute (the new one at a transition)."""
    zone = zone_for(zone_name)
    starts = np.asarray(zone.starts, dtype=np.int64)
    idx = np.searchsorted(starts, ends, side="right") - 1
    return np.asarray(zone.offsets, dtype=np.int64)[np.clip(idx, 0, None)]


def kwh(wh: int | None) -> float | None:
    """Wh as kWh; a float's shortest repr of n/1000 is exactly the 3-decimal figure."""
    return None if wh is None else wh / 1000
