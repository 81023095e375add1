"""Stored days as InfluxDB line protocol, in the seed's schema.

`consumption,datastream=<channel>,serial=<serial> reading=<kWh> <unix seconds>`: measurement
`consumption`, tags `serial` and `datastream`, float field `reading` (kWh, as the seed wrote it,
so existing dashboards and the field's type stay as they were). The timestamp is the interval's
END in UTC seconds, taken from the stored grid (UTC minutes), so the meter's zone cannot shift
it: the seed once wrote local times as UTC and its points landed hours in the future.

Bytes built with numpy, not `Point` objects nor a string per reading (a Point per reading is
about 15x slower, a string per reading 4x): see `body`. Intervals with no reading (missing,
not reached) are left out; estimated readings are written as readings. A day sent again writes
the same series and timestamps, which InfluxDB overwrites.

A sensor meter's measurements are never `consumption`: each is a point of measurement
`sensor`, tags `datastream` (temperature, humidity, onboard), `serial` and `unit` (`°C`,
`%RH`), float field `reading` in that unit, written with the day file's decimals.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from core.dayfile_writer import fixed
from tempest.read.stored import StoredDay

MEASUREMENT = "consumption"
SENSOR_MEASUREMENT = "sensor"
WRITE_PRECISION = "s"
_TABLE_SIZE = 10_000  # "0.000" ... "9.999": every reading the fast path writes is 5 bytes
_KWH = np.frombuffer(b"".join(b"%d.%03d" % (wh // 1000, wh % 1000) for wh in range(_TABLE_SIZE)),
                     dtype="V5")
# Unix seconds of 10 digits (2001-09-09 to 2286): every timestamp the fast path writes.
_FIRST_10_DIGITS, _PAST_10_DIGITS = 10**9, 10**10
_POWERS = 10 ** np.arange(9, -1, -1, dtype=np.int64)


@lru_cache(maxsize=4096)
def _tag(value: str) -> str:
    """Escape a tag value (serials and channel names never need it, but a stray one must not
    corrupt a batch)."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


@lru_cache(maxsize=8192)
def _series(serial: str, channel: str) -> bytes:
    """A channel's series key and field name, up to the value."""
    return f"{MEASUREMENT},datastream={_tag(channel)},serial={_tag(serial)} reading=".encode()


@lru_cache(maxsize=4096)
def _stamps(first_end: int, interval: int, expected: int) -> np.ndarray | None:
    """` <unix seconds>\\n` of each interval end of a grid, as 12-byte items; None when a
    timestamp is not 10 digits long. The meters of a zone share a day's grid, so a batch
    formats each timestamp once, not once per meter and channel."""
    step = interval * 60
    seconds = np.arange(first_end * 60, (first_end + interval * expected) * 60, step,
                        dtype=np.int64)
    if len(seconds) and (seconds[0] < _FIRST_10_DIGITS or seconds[-1] >= _PAST_10_DIGITS):
        return None
    text = np.empty((len(seconds), 12), dtype=np.uint8)
    text[:, 0] = ord(" ")
    text[:, 1:11] = seconds[:, None] // _POWERS % 10 + ord("0")
    text[:, 11] = ord("\n")
    stamps = text.view("V12").ravel()
    stamps.flags.writeable = False
    return stamps


def _kwh(wh: int) -> bytes:
    """kWh to exactly three decimals from integer Wh: no float formatting noise."""
    return b"%d.%03d" % (wh // 1000, wh % 1000)


def _slow_lines(day: StoredDay, channels, out: list) -> None:
    """The lines of some of a day's channels, a reading at a time: for what the fast path does
    not take (10 kWh or more in an interval, a timestamp that is not 10 digits long)."""
    stamps = _slow_stamps(day)
    for name in channels:
        prefix = _series(day.serial, name)
        out.extend(prefix + _kwh(wh) + ts
                   for wh, ts in zip(day.channel(name).tolist(), stamps, strict=True) if wh >= 0)


def _measurement_lines(day: StoredDay, out: list) -> None:
    """A sensor meter's measurements (a few per interval at most: no fast path)."""
    stamps = _slow_stamps(day)
    serial = _tag(day.serial)
    for name, m in day.measurements.items():
        prefix = (f"{SENSOR_MEASUREMENT},datastream={_tag(name)},serial={serial},"
                  f"unit={_tag(m['unit'])} reading=")
        out.extend((prefix + fixed(v, m["decimals"])).encode() + ts
                   for v, ts in zip(m["values"], stamps, strict=True) if v is not None)


def _slow_stamps(day: StoredDay) -> list[bytes]:
    step = day.interval * 60
    start = day.first_end * 60
    return [b" %d\n" % t for t in range(start, start + step * day.expected, step)]


class _Group:
    """Channel-days whose series keys have the same length: their lines are rows of one
    fixed-layout record (key, 5-byte value, 12-byte timestamp), filled a column at a time."""

    def __init__(self):
        self.keys: list[bytes] = []
        self.values: list[np.ndarray] = []
        self.stamps: list[np.ndarray] = []
        self.owners: list[tuple[StoredDay, str]] = []

    def add(self, key: bytes, values: np.ndarray, stamps: np.ndarray, day: StoredDay,
            name: str) -> None:
        self.keys.append(key)
        self.values.append(values)
        self.stamps.append(stamps)
        self.owners.append((day, name))

    def lines(self, out: list) -> None:
        width = len(self.keys[0])
        sizes = np.array([len(v) for v in self.values])
        values = np.concatenate(self.values)
        stamps = np.concatenate(self.stamps)
        big = values >= _TABLE_SIZE
        if big.any():  # those channel-days go the slow way; the others stay here
            starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
            slow = np.logical_or.reduceat(big, starts)
            for k in np.flatnonzero(slow).tolist():
                day, name = self.owners[k]
                _slow_lines(day, [name], out)
            keep = ~np.repeat(slow, sizes) & (values >= 0)
        else:
            keep = values >= 0
        if not keep.all():
            starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
            sizes = np.add.reduceat(keep, starts, dtype=np.int64)
            values, stamps = values[keep], stamps[keep]
        rows = np.empty(len(values), dtype=[("key", f"V{width}"), ("kwh", "V5"),
                                            ("stamp", "V12")])
        rows["key"] = np.repeat(np.frombuffer(b"".join(self.keys), dtype=f"V{width}"), sizes)
        rows["kwh"] = _KWH.take(values)
        rows["stamp"] = stamps
        out.append(rows.data)


def body(days: list[StoredDay]) -> bytes:
    """The request body for these days: every reading as a line of line protocol, UTF-8.

    This runs for every point the sink writes, so no Python object is made per point: the
    channel-days are grouped by the length of their series key, and each group's lines are
    one numpy array of fixed-size records whose columns are filled whole (the key repeated,
    the kWh text taken from a table, the timestamp text from the day's grid). Lines come
    grouped that way, not day by day: each names its series and time, so their order within
    a request means nothing to InfluxDB.
    """
    out: list = []
    groups: dict[int, _Group] = {}
    for day in days:
        stamps = _stamps(day.first_end, day.interval, day.expected)
        if day.measurements:
            _measurement_lines(day, out)
        if stamps is None:
            _slow_lines(day, day.channels, out)
            continue
        for name in day.channels:
            values = day.channel(name)
            if not len(values):
                continue
            key = _series(day.serial, name)
            group = groups.get(len(key))
            if group is None:
                group = groups[len(key)] = _Group()
            group.add(key, values, stamps, day, name)
    for group in groups.values():
        group.lines(out)
    return b"".join(out)


def day_body(day: StoredDay) -> str:
    """One day's lines as text (newline-terminated)."""
    return body([day]).decode()


def day_lines(day: StoredDay) -> list[str]:
    return day_body(day).splitlines()


def point_count(day: StoredDay) -> int:
    return (sum(int((day.channel(name) >= 0).sum()) for name in day.channels)
            + sum(len(m["values"]) - m["values"].count(None) for m in day.measurements.values()))
