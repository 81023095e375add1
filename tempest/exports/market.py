"""Re-bucketing a meter's stored days onto NEM12 market days.

NEM12 days are days of a fixed UTC offset (NEM time, +10:00, never daylight saving), whatever
the meter's own zone. Each interval END (a UTC minute in the store) is moved to market time and
placed in the market day and slot it ends in; the interval ending at market midnight belongs
to the day before, as in the day file. A meter's 23- or 25-hour DST day therefore lands in
ordinary 24-hour market days, and one local day usually spans two market days.

NEM12 allows 5, 15 and 30-minute intervals: 1- and 10-minute meters are summed up to 5 and 30
minutes (a slot with some of its intervals missing or estimated is flagged as estimated); other
lengths are written as they are.
"""

from __future__ import annotations

import numpy as np

from tempest.read.stored import StoredDay

NEM12_INTERVALS = (5, 15, 30)
_A, _E = ord("A"), ord("E")


class ExportError(ValueError):
    """A day that cannot be placed in the export (the message names the meter and day)."""


def nem12_interval(interval: int) -> int:
    """The NEM12 interval length for a meter interval."""
    if interval in NEM12_INTERVALS:
        return interval
    for target in NEM12_INTERVALS:
        if target > interval and target % interval == 0:
            return target
    return interval


class MeterGrid:
    """One meter's slots on market days [first, last] (days as civil day numbers)."""

    def __init__(self, interval: int, offset: int, first: int, last: int):
        self.interval = interval  # the meter's
        self.length = nem12_interval(interval)  # NEM12's
        self.factor = self.length // interval
        self.offset = offset
        self.first = first
        self.slots = 1440 // self.length
        days = last - first + 1
        self.shape = (days, self.slots)
        self.wh: dict[str, np.ndarray] = {}  # channel -> Wh per slot (int64)
        self.read = np.zeros(self.shape, dtype=np.int32)  # intervals with a reading
        self.estimated = np.zeros(self.shape, dtype=np.int32)
        self.covered = np.zeros(days, dtype=bool)  # a stored day reaches into this day
        self.updated = np.zeros(days)  # newest stored_at of the days that reach into it
        self.channels: dict[str, dict] = {}  # channel -> info, first seen first

    def add(self, days: list[StoredDay]) -> None:
        """Place these stored days (all at this grid's interval) in one vectorised pass."""
        if not days:
            return
        for day in days:
            if day.interval != self.interval:
                raise ExportError(f"{day.serial} {day.reading_day}: interval {day.interval} "
                                  f"min differs from {self.interval} min")
        ends = np.concatenate([day.ends() for day in days])
        market = ends + self.offset
        if (market % self.interval).any():
            raise ExportError(f"{days[0].serial}: {self.interval}-minute intervals do not line "
                              "up with the market time offset")
        slot_end = -(-market // self.length) * self.length
        mday = (slot_end - 1) // 1440
        row = mday - self.first
        keep = (row >= 0) & (row < self.shape[0])
        if not keep.any():
            return
        row = row[keep]
        index = row * self.slots + (slot_end[keep] - mday[keep] * 1440) // self.length - 1
        quality = np.frombuffer(b"".join(day.quality for day in days), dtype=np.uint8)[keep]
        has = (quality == _A) | (quality == _E)
        self._put(self.read, index, has)
        self._put(self.estimated, index, quality == _E)
        self.covered[row] = True
        stored_at = np.repeat([day.stored_at for day in days], [day.expected for day in days])
        np.maximum.at(self.updated, row, stored_at[keep])
        for day in days:
            for name, info in day.channels.items():
                self.channels.setdefault(name, info)
        for name in self.channels:
            wh = np.concatenate([day.channel(name) for day in days])[keep].astype(np.int64)
            wh[(wh < 0) | ~has] = 0  # only recorded intervals add energy
            grid = self.wh.get(name)
            if grid is None:
                grid = self.wh[name] = np.zeros(self.shape, dtype=np.int64)
            self._put(grid, index, wh)

    def _put(self, grid: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
        """Add values into slots. With one meter interval per slot every slot is hit at most
        once (instants never repeat), so an indexed add does; otherwise sum them."""
        view = grid.reshape(-1)
        if self.factor == 1:
            view[index] += values
        else:
            view += np.bincount(index, weights=values, minlength=view.size).astype(grid.dtype)

    def quality(self, row: int) -> np.ndarray:
        """Per slot of one market day: 0 no reading (N), 1 actual (A), 2 estimated or partly
        missing (the configured estimated flag)."""
        read, est = self.read[row], self.estimated[row]
        out = np.full(self.slots, 2, dtype=np.int8)
        out[read == 0] = 0
        out[(read == self.factor) & (est == 0)] = 1
        return out
