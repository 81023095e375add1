"""A range of days for one meter, at the stored interval or summed to 30 min, hour or day.

Buckets follow the meter's local clock and the interval-END convention: the hour bucket
labelled 11:00 holds the intervals ending 10:05 ... 11:00. On a day clocks go back, the
repeated hour gives two buckets with different offsets, as the intervals themselves do. A
bucket's value is the sum of the readings in it; `recorded` and `expected` count its intervals,
so a chart can tell a quiet hour from a missing one.
"""

from __future__ import annotations

import json
import sqlite3

import numpy as np

from tempest import codec

RESOLUTIONS = {"interval": 0, "30min": 30, "hour": 60, "day": 1440}
# The widest range each resolution serves in one answer, in days.
MAX_DAYS = {"interval": 31, "30min": 92, "hour": 366, "day": 3660}


def _day_buckets(row, res: int) -> tuple[np.ndarray, list[str]]:
    """Each interval's bucket index within the day, and the buckets' labels."""
    n, step = row["expected"], row["interval"]
    if res == 1440:
        return np.zeros(n, dtype=np.int64), [row["reading_day"]]
    ends = row["first_end"] + np.arange(n, dtype=np.int64) * step
    if res == 0 or res <= step:
        return np.arange(n, dtype=np.int64), list(codec.labels(
            row["timezone"], row["first_end"], n, step))
    off = codec.offsets(row["timezone"], ends)
    local = ends + off
    bucket = -(-local // res) * res - off  # the bucket's end, in UTC minutes
    uniq, inverse = np.unique(bucket, return_inverse=True)
    return inverse, codec.label_many(row["timezone"], uniq.tolist())


def series(conn: sqlite3.Connection, serial: str, first: str, last: str, resolution: str,
           wanted: list[str] | None = None) -> dict:
    res = RESOLUTIONS[resolution]
    days = conn.execute(
        "SELECT reading_day, timezone, first_end, expected, interval, quality, channels "
        "FROM days WHERE serial = ? AND reading_day >= ? AND reading_day <= ? "
        "ORDER BY reading_day", (serial, first, last)).fetchall()
    blobs: dict[tuple[str, str], bytes] = {}
    for r in conn.execute(
            "SELECT reading_day, channel, wh FROM readings WHERE serial = ? AND "
            "reading_day >= ? AND reading_day <= ?", (serial, first, last)):
        blobs[(r["reading_day"], r["channel"])] = r["wh"]
    names: list[str] = []
    for row in days:
        for name in json.loads(row["channels"]):
            if name not in names and (wanted is None or name in wanted):
                names.append(name)
    timestamps: list[str] = []
    recorded: list[int] = []
    expected: list[int] = []
    values: dict[str, list] = {name: [] for name in names}
    for row in days:
        inverse, labels = _day_buckets(row, res)
        size = len(labels)
        quality = np.frombuffer(row["quality"], dtype=np.uint8)
        has = (quality == ord("A")) | (quality == ord("E"))
        timestamps.extend(labels)
        expected.extend(np.bincount(inverse, minlength=size).tolist())
        got = np.bincount(inverse, weights=has, minlength=size)
        recorded.extend(got.astype(np.int64).tolist())
        for name in names:
            blob = blobs.get((row["reading_day"], name))
            if blob is None:
                values[name].extend([None] * size)
                continue
            wh = codec.unpack(blob).astype(np.int64)
            sums = np.bincount(inverse, weights=np.where(wh >= 0, wh, 0), minlength=size)
            values[name].extend(None if g == 0 else int(s) / 1000
                                for s, g in zip(sums.tolist(), got.tolist(), strict=True))
    return {"serial": serial, "from": first, "to": last, "resolution": resolution,
            "channels": names, "timestamps": timestamps, "values": values,
            "recorded": recorded, "expected": expected}
