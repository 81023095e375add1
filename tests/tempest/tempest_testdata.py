"""Day files for Tempest's tests and benchmarks, written by the shared writer
(core.dayfile_writer.write), plus the seed's two older shapes by hand; and `issue_key`, a
meter's key straight into a store.

Values are a deterministic function of (serial, day, interval index), so a test can compute
what the store must hold.
"""

from __future__ import annotations

import io
import json
import zlib

from core import civil, tz, tzdb
from core import dayfile_writer as writer

GENERATOR = json.dumps({"engine": "meters", "model": "household", "model_version": "1.0.0",
                        "seed": 7, "archetype": "family"})
METADATA = json.dumps({"version": "0.1.0", "data_model_version": "2.0.0", "config": {}})


def issue_key(conn, serial: str, timezone: str | None = None) -> str:
    """Register `serial` in the store `conn` with a new key (rotating any it had); the key."""
    from tempest import keys

    return keys.add(conn, serial, timezone=timezone, rotate=True).key


def grid(zone_name: str, day: str, interval: int) -> list[int]:
    zone = tzdb.zone(zone_name)
    d = civil.parse_day(day)
    start, end = zone.day_start(d), zone.day_start(d + 1)
    return list(range(start + interval, end + 1, interval))


def sub_values(serial: str, day: str, i: int, subs: int) -> list[int]:
    base = zlib.crc32(f"{serial}/{day}".encode())
    return [((base >> (k * 3)) + i * (7 + k)) % 60 + 1 for k in range(subs)]


def make_day(serial: str, day: str, *, interval: int = 5, zone: str = "Pacific/Auckland",
             channels: int = 3, status: str = "sealed", upto: int | None = None,
             missing: tuple[int, ...] = (), estimated: tuple[int, ...] = (),
             bump: int = 0) -> bytes:
    """A valid current-shape day file. `upto` makes an open day of that many intervals;
    `missing`/`estimated` are interval indexes; `bump` shifts every value (another version)."""
    ends = grid(zone, day, interval)
    z = tzdb.zone(zone)
    count = len(ends) if upto is None else upto
    names = ["Total"] + [f"Sub{k}" for k in range(1, channels)]
    rows = []
    for i in range(count):
        label = tz.label(z, ends[i])
        if i in missing:
            rows.append((label, None, writer.QUALITY_MISSING))
            continue
        subs = [v + bump for v in sub_values(serial, day, i, max(channels - 1, 1))]
        values = [sum(subs), *subs] if channels > 1 else [subs[0]]
        rows.append((label, values, writer.QUALITY_ESTIMATED if i in estimated else None))
    opening = [1_000_000 * (k + 1) for k in range(channels)]
    closing = [opening[k] + sum(r[1][k] for r in rows if r[1] is not None)
               for k in range(channels)]
    chans = [("Total", "import", None)] + [(n, "sub", None) for n in names[1:]]
    out = io.StringIO()
    writer.write(out, (serial, day, interval, zone, status), chans, opening, closing,
                 lambda: iter(rows), GENERATOR, METADATA)
    return out.getvalue().encode()


def expected_values(serial: str, day: str, *, interval: int = 5, zone: str = "Pacific/Auckland",
                    channels: int = 3, missing: tuple[int, ...] = (), bump: int = 0,
                    upto: int | None = None) -> dict[str, list[int | None]]:
    """What make_day() stores, per channel, in Wh on the day's grid."""
    ends = grid(zone, day, interval)
    count = len(ends) if upto is None else upto
    names = ["Total"] + [f"Sub{k}" for k in range(1, channels)]
    out: dict[str, list[int | None]] = {n: [None] * len(ends) for n in names}
    for i in range(count):
        if i in missing:
            continue
        subs = [v + bump for v in sub_values(serial, day, i, max(channels - 1, 1))]
        values = [sum(subs), *subs] if channels > 1 else [subs[0]]
        for n, v in zip(names, values, strict=True):
            out[n][i] = v
    return out


def seed_payload(serial: str, day: str, *, offset: str = "+12:00",
                 channels: tuple[str, ...] = ("Total", "Main")) -> bytes:
    """The seed's 1.x shape: a 5-minute day in a fixed offset, values as floats."""
    sign = 1 if offset[0] == "+" else -1
    off = sign * (int(offset[1:3]) * 60 + int(offset[4:6]))
    d = civil.parse_day(day)
    streams = {c: {} for c in channels}
    for i in range(288):
        end = d * 1440 - off + (i + 1) * 5
        label = tz.format_local(end, off)
        for k, c in enumerate(channels):
            streams[c][label] = round(0.1 + 0.001 * ((i * (k + 3)) % 50), 3)
    doc = {"serial": serial, "reading_day": day, "interval": 5,
           "snapshots": {c: 1234.567 for c in channels}, "datastreams": streams,
           "metadata": {"version": "0.3.4", "data_model_version": "1.0.0", "config": {}}}
    return json.dumps(doc).encode()


def flat_payload(serial: str, day: str, hours: int = 24) -> bytes:
    """The oldest shape: hourly readings at the top level, naive local times."""
    d = civil.parse_day(day)
    doc: dict = {"serial": serial, "reading_day": day}
    for h in range(1, hours + 1):
        label = tz.format_local(d * 1440 + h * 60, 0)[:19]  # no offset
        doc[label] = round(0.5 + 0.01 * h, 3)
    return json.dumps(doc).encode()
