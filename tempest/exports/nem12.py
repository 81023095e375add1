"""The NEM12 writer: stored days as AEMO's Meter Data File Format, NEM12 (docs/exports.md).

    100,NEM12,<created YYYYMMDDHHMM>,<from participant>,<to participant>
    200,<NMI>,<NMI configuration>,<register>,<suffix>,<MDM datastream>,<serial>,kWh,<length>,
    300,<market day YYYYMMDD>,<value 1>,...,<value N>,<quality>,<reason>,<reason text>,<updated>,
    400,<first>,<last>,<quality>,<reason>,<reason text>        (only after a 300 flagged V)
    900

One 200 record per meter channel, followed by a 300 record for each market day the meter's
stored days reach into. Quality is true to the store: A where every interval was read; the
configured flag (S17 by default: substituted, linear) where the meter estimated; N, with the
value 0, where there is no reading (missing, not reached yet, or not in the store). A day with
more than one of these is flagged V, with 400 records for each run.

Every field comes from Tempest (its settings, its store, names it checked whole), never from a
meter's words: NMIs and suffixes from `identity`, serials and channel names as names.py took
them, values and flags formatted here. None can hold a comma or a line break.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from core import civil
from tempest.exports import identity
from tempest.exports.market import MeterGrid
from tempest.exports.settings import offset_minutes
from tempest.read import stored

ESTIMATE_REASON = ("0", "estimated by the meter")  # reason 0: free text, then the text
_TABLE_SIZE = 100_000  # pre-formatted kWh strings for 0 ... 99.999 kWh per interval
_KWH = [f"{wh // 1000}.{wh % 1000:03d}" for wh in range(_TABLE_SIZE)]


def kwh_text(values: list[int]) -> str:
    """Wh as comma-separated kWh with three decimals (values are never negative here)."""
    if max(values, default=0) < _TABLE_SIZE:
        return ",".join(map(_KWH.__getitem__, values))  # the common case, in C
    return ",".join(_KWH[v] if v < _TABLE_SIZE else f"{v // 1000}.{v % 1000:03d}"
                    for v in values)


@dataclass(frozen=True)
class Options:
    offset: int  # market time, minutes east of UTC
    sender: str
    receiver: str
    estimated: str  # quality+method for estimated slots, e.g. S17
    meters: dict  # NEM12_METERS

    @classmethod
    def from_config(cls, config) -> Options:
        return cls(offset_minutes(config["NEM12_UTC_OFFSET"]),
                   config["NEM12_FROM_PARTICIPANT"], config["NEM12_TO_PARTICIPANT"],
                   config["NEM12_ESTIMATED_QUALITY"], config.get("NEM12_METERS") or {})


def _stamp(ts: float, offset: int, fmt: str) -> str:
    return datetime.fromtimestamp(ts + offset * 60, UTC).strftime(fmt)


def _runs(codes: np.ndarray) -> list[tuple[int, int, int]]:
    """(first, last, code) runs, 1-based inclusive, as 400 records number intervals."""
    cuts = np.flatnonzero(np.diff(codes)) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [len(codes)]))
    return [(int(s) + 1, int(e), int(codes[s])) for s, e in zip(starts, ends, strict=True)]


class Writer:
    def __init__(self, conn: sqlite3.Connection, options: Options):
        self.conn = conn
        self.o = options
        self.quality_text = {0: ("N", "", ""), 1: ("A", "", ""),
                             2: (options.estimated, *self._reason(options.estimated))}

    @staticmethod
    def _reason(flag: str) -> tuple[str, str]:
        # A reason is required with substituted (S) and final substituted (F) data only.
        return ESTIMATE_REASON if flag[0] in "SF" else ("", "")

    def header(self, now: float) -> str:
        return f"100,NEM12,{_stamp(now, self.o.offset, '%Y%m%d%H%M')},{self.o.sender}," \
               f"{self.o.receiver}\n"

    def meter(self, serial: str, first: str, last: str) -> Iterator[str]:
        """The 200/300/400 records of one meter's market days [first, last]."""
        f, la = civil.parse_day(first), civil.parse_day(last)
        # Local days reaching into the market days: at most one each side (offsets < 24 h).
        days = list(stored.meter_range(self.conn, serial, civil.format_day(f - 1),
                                       civil.format_day(la + 1)))
        if not days:
            return
        # One block of 200 records per run of days with the same interval (a meter whose
        # interval changed gets a second block).
        start = 0
        while start < len(days):
            end = start
            while end < len(days) and days[end].interval == days[start].interval:
                end += 1
            yield from self._block(days[start:end], f, la)
            start = end

    def _block(self, days: list[stored.StoredDay], first: int, last: int) -> Iterator[str]:
        grid = MeterGrid(days[0].interval, self.o.offset, first, last)
        grid.add(days)
        rows = np.flatnonzero(grid.covered)
        if not len(rows):
            return
        newest = days[-1]
        ident = identity.resolve(newest.serial, grid.channels, self.o.meters.get(newest.serial))
        qualities = {int(r): grid.quality(r) for r in rows}
        tails = {r: self._tail(q, grid.updated[r]) for r, q in qualities.items()}
        for register, (name, suffix) in enumerate(ident.suffixes.items(), start=1):
            stream = "N1" if suffix == "E1" else ""
            yield (f"200,{ident.nmi},{ident.configuration},{register},{suffix},{stream},"
                   f"{ident.serial},kWh,{grid.length},\n")
            wh = grid.wh[name]
            for r in qualities:
                date = civil.format_day(grid.first + r).replace("-", "")
                yield f"300,{date},{kwh_text(wh[r].tolist())},{tails[r]}"

    def _tail(self, codes: np.ndarray, updated: float) -> str:
        """The end of a 300 record (quality, reason, update time) and any 400 records."""
        stamp = _stamp(updated, self.o.offset, "%Y%m%d%H%M%S")
        runs = _runs(codes)
        if len(runs) == 1:
            flag, code, text = self.quality_text[runs[0][2]]
            return f"{flag},{code},{text},{stamp},\n"
        lines = [f"V,,,{stamp},\n"]
        for a, b, q in runs:
            flag, code, text = self.quality_text[q]
            lines.append(f"400,{a},{b},{flag},{code},{text}\n")
        return "".join(lines)


def export(conn: sqlite3.Connection, config, first: str, last: str,
           serials: Iterable[str] | None = None, now: float | None = None) -> Iterator[str]:
    """The whole file, in chunks of records (stream them: a fleet-month is tens of MB)."""
    writer = Writer(conn, Options.from_config(config))
    yield writer.header(time.time() if now is None else now)
    f, la = civil.parse_day(first), civil.parse_day(last)
    for serial in stored.serials(conn, civil.format_day(f - 1), civil.format_day(la + 1),
                                 serials):
        yield "".join(writer.meter(serial, first, last))
    yield "900\n"
