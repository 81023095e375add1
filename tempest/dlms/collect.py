"""Collect a day from a DLMS meter and drop it as a day file (every route ends in the drop
folder: ingest checks and stores it like any other delivery).

Like a head-end: read the meter's clock (the skew is Tempest's time minus the meter's), its
registers, and the load profile from the day's start to now by range. The day's intervals are
the profile rows that end within it (labelled by their end, in the meter's zone); an interval
with no row is missing, one with status bit 2 (data not valid) is estimated. The registers at
the day's end are the registers now less what the meter recorded since; at its start, those
less the day's intervals: the same snapshots the meter's own day file carries.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from core import DATA_MODEL_VERSION, __version__, civil, dayfile_writer, tz, tzdb
from core.configdoc import canonical_json
from tempest import names
from tempest.dlms import client
from tempest.ingest import dropbox

STATUS_NOT_VALID = 0x04
EVENT_LOG = "0.0.99.98.0.255"
# Default channel names and roles by the profile column's OBIS code (docs/dlms.md).
_NAMES = {"1.0.1.29.0.255": ("Total", "import"), "1.0.2.29.0.255": ("Export", "export")}
# Reads are retried when an interval ends between the clock and register reads.
_ATTEMPTS = 3


@dataclass
class Endpoint:
    serial: str
    host: str
    port: int
    password: str
    timezone: str
    # [name, role] per interval column, in the profile's order; default from the OBIS codes.
    channels: list[list[str]] | None = None


@dataclass
class Collected:
    serial: str
    day: str
    skew_s: float
    intervals: int
    path: Path | None = None  # None: the meter recorded nothing that day (an outage)
    notes: list[str] = field(default_factory=list)
    # The standard event log's rows stamped within the day: (unix seconds, event code).
    events: list[tuple[float, int]] = field(default_factory=list)

    def summary(self) -> dict:
        return {"serial": self.serial, "day": self.day, "route": "dlms",
                "clock_skew_s": round(self.skew_s, 1), "intervals": self.intervals,
                "file": self.path.name if self.path else None, "events": len(self.events),
                "notes": self.notes}


def _utc_minute(when: datetime) -> int:
    return int(when.timestamp() // 60)


def _channels(ep: Endpoint, columns: list[str]) -> list[tuple[str, str, str]]:
    """(name, role, register OBIS) of each interval column."""
    out = []
    for i, obis in enumerate(columns):
        a, b, c, *_ = obis.split(".")
        name, role = (ep.channels[i] if ep.channels else
                      _NAMES.get(obis, (f"Channel{b}", "independent")))
        out.append((name, role, f"{a}.{b}.{c}.8.0.255"))
    return out


def collect_day(ep: Endpoint, day: int, drop_dir: Path, now: float, keep=None) -> Collected:
    """Read `day` from the meter and drop its day file. `keep(result)`, if given, runs after
    the reads and before the drop: what it stores (the skew, the events) is never behind a
    dropped file, so a collector killed in between reads the day again next time."""
    zone = tzdb.zone(ep.timezone)
    start, next_start = zone.day_start(day), zone.day_start(day + 1)
    with client.session(ep.host, ep.port, ep.password) as meter:
        columns = meter.capture_objects()
        interval = meter.capture_period_s() // 60
        channels = _channels(ep, columns[2:])
        for _ in range(_ATTEMPTS):
            before = meter.clock()
            regs = [meter.register(obis) for _, _, obis in channels]
            after = meter.clock()
            if _utc_minute(before) // interval == _utc_minute(after) // interval:
                break
        skew = now - after.timestamp()
        first = datetime.fromtimestamp(start * 60, UTC)
        rows = meter.profile(first, after)
        # The day's events, midnight to midnight (both ends: an outage starts and ends there).
        logged = meter.profile(first, datetime.fromtimestamp(next_start * 60, UTC), EVENT_LOG)
    day_rows, later = {}, []
    for row in rows:
        end = _utc_minute(row[0])
        if start < end <= next_start:
            day_rows[end] = row
        elif end > next_start:
            later.append(row)
    n = len(channels)
    closing = [regs[c] - sum(r[2 + c] for r in later) for c in range(n)]
    opening = [closing[c] - sum(r[2 + c] for r in day_rows.values()) for c in range(n)]
    result = Collected(ep.serial, civil.format_day(day), skew, len(day_rows),
                       events=[(row[0].timestamp(), int(row[1])) for row in logged])
    if keep is not None:
        keep(result)
    if not day_rows:
        result.notes.append("no intervals: the meter recorded nothing that day")
        return result
    text = _day_file(ep, day, zone, start, next_start, interval, channels, opening, closing,
                     day_rows)
    data = text.encode()
    # Marked as the DLMS route (files.source "dlms" in the API and UI), with an id from the
    # content: the same day collected twice is the same delivery, stored once.
    ingest_id = names.derived_id(f"dlms/{ep.serial}", hashlib.sha256(data).hexdigest())
    name = names.upload_name(ep.serial, civil.format_day(day), ingest_id, marker="dl")
    result.path = dropbox.write_atomic(drop_dir, name, data)
    return result


def _day_file(ep, day, zone, start, next_start, interval, channels, opening, closing,
              day_rows) -> str:
    grid = []
    for end in range(start + interval, next_start + 1, interval):
        row = day_rows.get(end)
        label = tz.label(zone, end)
        if row is None:
            grid.append((label, None, dayfile_writer.QUALITY_MISSING))
        else:
            q = dayfile_writer.QUALITY_ESTIMATED if row[1] & STATUS_NOT_VALID else None
            grid.append((label, list(row[2:]), q))
    head = (ep.serial, civil.format_day(day), interval, ep.timezone, "sealed")
    generator = canonical_json({"engine": "tempest-dlms", "model": "dlms", "model_version": "1",
                                "seed": 0, "archetype": None})
    metadata = canonical_json({"version": __version__, "data_model_version": DATA_MODEL_VERSION,
                               "config": {"route": "dlms", "host": ep.host, "port": ep.port}})
    out = io.StringIO()
    dayfile_writer.write(out, head, [(c[0], c[1], None) for c in channels], opening, closing,
                         lambda: iter(grid), generator, metadata)
    return out.getvalue()


def read_endpoints(path: Path) -> list[Endpoint]:
    """The DLMS meters to collect: a JSON list of {serial, host, port, password_file,
    timezone, channels?}; password_file is relative to this file (a vault-rendered secret).
    An entry may carry its `password` itself instead (the 0600 list `meter dlms-serve --count
    --endpoints` writes)."""
    out = []
    for item in json.loads(path.read_text()):
        secret = item["password"] if "password" in item else (
            path.parent / item["password_file"]).read_text().strip()
        out.append(Endpoint(item["serial"], item["host"], int(item["port"]), secret,
                            item["timezone"], item.get("channels")))
    return out
