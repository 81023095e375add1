"""Real meters' quirks, each a small pure function over a day's truth.

A data quirk takes the sends a meter makes for one day (`Send`: the rows of one file and when
it arrives) and returns the sends a meter with that quirk makes instead (it reads only the
sends: a running meter, meter/conformance/meter_quirks.py, passes no truth); a clock quirk turns an
interval's end into the timestamp the meter writes. Neither changes the truth: each is
labelled with what a correct MDMS should conclude (`CONCLUSIONS`), and the scenario says which
checks an MDMS that falls for it loses (meter/conformance/scenarios.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core import tz
from meter.conformance.truth import METER_ESTIMATED, MISSING, DayTruth

ACTUAL_Q, ESTIMATED_Q, MISSING_Q = "actual", "estimated", "missing"
REGISTER_WRAP_WH = 100_000_000  # a register that shows 99,999.999 kWh rolls over to 0
HOUR = 60


@dataclass(frozen=True)
class Row:
    end: int  # UTC minute the interval ends
    wh: int | None  # what the meter sends (None: it marks the interval missing)
    quality: str  # ACTUAL_Q, ESTIMATED_Q or MISSING_Q


@dataclass(frozen=True)
class Send:
    """One file a meter sends: one day's rows (or part of them), and when it arrives."""

    serial: str
    day: int
    rows: tuple[Row, ...]
    opening_wh: int
    closing_wh: int
    arrives: int  # UTC minute
    status: str = "sealed"


def as_recorded(day: DayTruth) -> list[Send]:
    """What a meter without quirks sends: its recorded day an hour after the day ends (nothing
    on an outage day). Its register counts what the household used, as a real one does."""
    if day.outage:
        return []
    rows = tuple(
        Row(end, rec, MISSING_Q if kind == MISSING else
            ESTIMATED_Q if kind == METER_ESTIMATED else ACTUAL_Q)
        for end, rec, kind in zip(day.ends, day.recorded, day.kinds, strict=True))
    return [Send(day.serial, day.day, rows, day.opening_wh, day.opening_wh + sum(day.true),
                 day.end + HOUR)]


# -- data quirks: (sends, day, **params) -> sends ------------------------------------------

def zeros_for_missing(sends: list[Send], day: DayTruth | None) -> list[Send]:
    """Intervals the meter did not record are sent as 0.000, flagged actual."""
    return [replace(s, rows=tuple(Row(r.end, 0, ACTUAL_Q) if r.quality == MISSING_Q else r
                                  for r in s.rows)) for s in sends]


def multiplier(sends: list[Send], day: DayTruth | None, factor: int = 2) -> list[Send]:
    """A CT ratio set wrong in the meter: every reading (and the register) times `factor`."""
    def scale(v):
        return None if v is None else v * factor
    return [replace(s, rows=tuple(Row(r.end, scale(r.wh), r.quality) for r in s.rows),
                    opening_wh=s.opening_wh * factor, closing_wh=s.closing_wh * factor)
            for s in sends]


def register_rollover(sends: list[Send], day: DayTruth | None, base_wh: int = 0,
                      wrap_wh: int = REGISTER_WRAP_WH) -> list[Send]:
    """The register shows `base_wh` more than it counted, modulo `wrap_wh` (100,000 kWh: a
    register that shows 99,999.999 at most): the scenario picks the base so it rolls over on a
    chosen day (closing below opening); a meter's config picks the wrap."""
    return [replace(s, opening_wh=(s.opening_wh + base_wh) % wrap_wh,
                    closing_wh=(s.closing_wh + base_wh) % wrap_wh) for s in sends]


def meter_exchange(sends: list[Send], day: DayTruth | None, new_serial: str, at: int) -> list[Send]:
    """The meter is replaced after interval `at` (an index): the old serial's file marks the
    rest of the day missing, the new serial's file marks the start missing and its register
    starts at 0."""
    out = []
    for s in sends:
        before = sum(r.wh or 0 for r in s.rows[:at])
        after = sum(r.wh or 0 for r in s.rows[at:])
        old = tuple(r if i < at else Row(r.end, None, MISSING_Q) for i, r in enumerate(s.rows))
        new = tuple(r if i >= at else Row(r.end, None, MISSING_Q) for i, r in enumerate(s.rows))
        out.append(replace(s, rows=old, closing_wh=s.opening_wh + before))
        out.append(replace(s, serial=new_serial, rows=new, opening_wh=0, closing_wh=after,
                           arrives=s.arrives + 1))
    return out


def renamed(sends: list[Send], day: DayTruth | None, serial: str, opening_wh: int = 0) -> list[Send]:
    """After an exchange: the new meter's serial, and its register from its own zero."""
    return [replace(s, serial=serial, opening_wh=s.opening_wh - opening_wh,
                    closing_wh=s.closing_wh - opening_wh) for s in sends]


def revised(sends: list[Send], day: DayTruth | None, first: int, last: int, after_days: int = 3
            ) -> list[Send]:
    """Intervals first..last (indexes) are sent estimated (the day's mean) an hour after the
    day; the actual readings come again, the whole day, `after_days` days later."""
    out = []
    for s in sends:
        known = [r.wh for r in s.rows if r.wh is not None]
        mean = sum(known) // max(1, len(known))
        estimate = tuple(Row(r.end, mean, ESTIMATED_Q) if first <= i <= last else r
                         for i, r in enumerate(s.rows))
        out.append(replace(s, rows=estimate))
        out.append(replace(s, arrives=s.arrives + after_days * 1440))
    return out


def duplicate_different(sends: list[Send], day: DayTruth | None, missing_tail: int = 4) -> list[Send]:
    """The day is sent twice: first sealed early, its last `missing_tail` intervals marked
    missing; six hours later complete. The later copy is the right one."""
    out = []
    for s in sends:
        cut = len(s.rows) - missing_tail
        early = tuple(r if i < cut else Row(r.end, None, MISSING_Q) for i, r in enumerate(s.rows))
        out.append(replace(s, rows=early, closing_wh=s.opening_wh + sum(
            r.wh or 0 for r in early)))
        out.append(replace(s, arrives=s.arrives + 6 * HOUR))
    return out


def out_of_order(sends: list[Send], day: DayTruth | None) -> list[Send]:
    """The day arrives after the next day's file (held a day and a half)."""
    return [replace(s, arrives=s.arrives + 1440 + 30) for s in sends]


DATA = {
    "zeros_for_missing": zeros_for_missing,
    "multiplier": multiplier,
    "register_rollover": register_rollover,
    "meter_exchange": meter_exchange,
    "renamed": renamed,
    "revised": revised,
    "duplicate_different": duplicate_different,
    "out_of_order": out_of_order,
}


# -- clock quirks: (end, zone, interval) -> the timestamp the meter writes --------------------

def local_dst(end: int, zone: tz.Zone, interval: int) -> str:
    """The contract: local time with the offset in force, DST included."""
    return tz.label(zone, end)


def utc_all_year(end: int, zone: tz.Zone, interval: int) -> str:
    return tz.format_local(end, 0)[:-6] + "Z"


def standard_offset(zone: tz.Zone, end: int) -> int:
    """The zone's offset without daylight saving: the smallest in force within a year."""
    return min(zone.offset_at(end + k * 30 * 1440) for k in range(-6, 7))


def local_standard_all_year(end: int, zone: tz.Zone, interval: int) -> str:
    """Standard time all year, with that fixed offset (the seed's Pico with `+12:00`)."""
    return tz.format_local(end, standard_offset(zone, end))


def no_offset(end: int, zone: tz.Zone, interval: int) -> str:
    """Local wall time, no offset: the repeated hour of the day clocks go back repeats."""
    return tz.label(zone, end)[:19]


def interval_start(end: int, zone: tz.Zone, interval: int) -> str:
    """Labels the interval's start instead of its end (local time with offset)."""
    return tz.label(zone, end - interval)


def dlms_deviation_wrong_sign(end: int, zone: tz.Zone, interval: int) -> str:
    """Local wall time with the offset's sign inverted: a DLMS clock's deviation (minutes from
    local time to UTC, -60 for CET) written as if it were the UTC offset. (A deviation of
    0x8000, "not specified", gives timestamps without an offset: `no_offset`.)"""
    off = zone.offset_at(end)
    return tz.format_local(end, off)[:19] + tz.format_offset(-off)


def dlms_deviation_unspecified(end: int, zone: tz.Zone, interval: int) -> str:
    """A DLMS deviation of 0x8000 ("not specified"): a head-end can only write local wall time
    without an offset, as `no_offset` does."""
    return no_offset(end, zone, interval)


CLOCKS = {
    "local_dst": local_dst,
    "utc_all_year": utc_all_year,
    "local_standard_all_year": local_standard_all_year,
    "no_offset": no_offset,
    "interval_start": interval_start,
    "dlms_deviation_wrong_sign": dlms_deviation_wrong_sign,
    "dlms_deviation_unspecified": dlms_deviation_unspecified,
}

# What a correct MDMS concludes, per quirk (written into the truth's labels).
CONCLUSIONS = {
    "local_dst": "Timestamps are local time with their offset: take each instant as written.",
    "utc_all_year": "Timestamps are UTC all year: take the instant as written and assign it to "
                    "the meter's local day in its zone.",
    "local_standard_all_year": "Timestamps are local standard time all year (a fixed offset, no "
                               "DST): the offset is right, the wall clock is an hour behind in "
                               "summer; never read the wall clock as daylight time.",
    "no_offset": "Timestamps have no offset: they are local wall time; on the day clocks go "
                 "back the repeated hour comes twice, the first time with the summer offset.",
    "interval_start": "Timestamps label the interval's start: each reading ends one interval "
                      "later than written.",
    "dlms_deviation_wrong_sign": "The offset has the wrong sign (a DLMS deviation taken for "
                                 "the UTC offset): the wall clock is local time; the offset is "
                                 "minus the zone's.",
    "dlms_deviation_unspecified": "The DLMS clock's deviation is 0x8000 (not specified): the "
                                  "time is the meter's local wall time; take the offset from "
                                  "its zone and the clock status's DST bit.",
    "zeros_for_missing": "Zeros flagged actual where the meter recorded nothing: the register "
                         "(closing - opening) exceeds the intervals' sum; flag them missing "
                         "and estimate them.",
    "multiplier": "Readings are scaled by a wrong CT ratio: apply the site's multiplier "
                  "(sites.csv) to every reading.",
    "register_rollover": "The register rolled over at 99,999.999 kWh: consumption is "
                         "closing + 100,000 - opening, never negative.",
    "meter_exchange": "The meter was exchanged mid-day: both serials are the same site; the "
                      "day is the old meter's readings then the new one's, counted once; the "
                      "new register starts at 0.",
    "renamed": "After an exchange the new serial carries on the same site.",
    "revised": "The day came first with estimates and again days later with actual readings: "
               "the later actual version replaces the estimate.",
    "duplicate_different": "The day came twice with different content: the later, complete "
                           "copy replaces the first; count it once.",
    "out_of_order": "The day arrived after the next day: place readings by their time, not by "
                    "arrival.",
}
