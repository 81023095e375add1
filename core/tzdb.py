"""Build the model's transition tables (core.tz.Zone) from the IANA database."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.tz import Zone

# Years the table covers. Outside it the nearest offset holds; the Pico's copy uses the same range.
FIRST_YEAR = 2000
LAST_YEAR = 2100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# How far apart the scan looks at a zone's offset. A step must not hold two of a zone's
# transitions (it would record one at most): in the IANA database, two transitions between
# FIRST_YEAR and LAST_YEAR are at least 6.96 days apart (Asia/Gaza, America/Noronha), so a day
# finds every one, with the same table as a quarter of a day gave, in a quarter of the time.
# That time is every meter command's (every config read builds its zone's table): about a
# tenth of a second of CPU per start of the agent, a config check or a cron tick.
# tests/meter/test_tzdb_step.py checks the tables against the quarter-day scan.
STEP = timedelta(days=1)


class UnknownZone(ValueError):
    pass


def _offset_min(zone: ZoneInfo, instant: datetime) -> int:
    # zone.utcoffset(dt) would read dt as a wall-clock time; convert the instant instead.
    return int(instant.astimezone(zone).utcoffset().total_seconds()) // 60


@functools.lru_cache(maxsize=64)
def transitions(name: str) -> tuple[tuple[int, int], ...]:
    """[(utc_minute, offset_minutes), ...] for an IANA zone; the first entry covers all before."""
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownZone(f"unknown IANA time zone: {name!r}") from exc
    start = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
    end = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)
    step = STEP
    table = [(-(1 << 40), _offset_min(zone, start))]
    t = start
    prev = table[0][1]
    while t < end:
        nxt = t + step
        off = _offset_min(zone, nxt)
        if off != prev:
            # Binary search for the first minute with the new offset.
            lo, hi = t, nxt
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(second=0, microsecond=0)
                if mid <= lo:
                    mid = lo + timedelta(minutes=1)
                if _offset_min(zone, mid) == prev:
                    lo = mid
                else:
                    hi = mid
            table.append((int((hi - _EPOCH).total_seconds()) // 60, off))
            prev = off
        t = nxt
    return tuple(table)


@functools.lru_cache(maxsize=64)
def zone(name: str) -> Zone:
    return Zone(name, [list(t) for t in transitions(name)])


def valid_zone(name: str) -> bool:
    try:
        transitions(name)
    except UnknownZone:
        return False
    return True
