"""The MDMS push's payloads: the seed's two pipeline formats and Tempest's own (docs/sinks.md).

Each is built from the store, not from the delivered file, so every day goes out in the same
shape whatever shape its meter sent. The bytes are deterministic (insertion-ordered JSON,
fixed separators): the same stored version always gives the same body, and so the same
idempotency key.
"""

from __future__ import annotations

import hashlib
import json

from tempest import codec
from tempest.read.stored import StoredDay

FORMAT_VERSION = "tempest.day.v1"
PATHS = {"tempest": "/ingestions/days", "picos": "/ingestions/picos",
         "processing": "/ingestions/processing"}
_QUALITY = {"A": "actual", "E": "estimated", "M": "missing"}


def _kwh(wh: int) -> float:
    return wh / 1000  # the shortest repr of n/1000 is the exact 3-decimal figure


def _registers(regs: dict | None) -> dict:
    return {} if regs is None else {k: _kwh(v) for k, v in regs.items()}


def _streams(day: StoredDay) -> dict[str, list[tuple[str, float]]]:
    """Per channel, (interval end, kWh) for every interval with a reading."""
    labels = day.labels()
    out = {}
    for name in day.channels:
        values = day.channel(name).tolist()
        out[name] = [(labels[i], _kwh(v)) for i, v in enumerate(values) if v >= 0]
    return out


def picos(day: StoredDay) -> dict:
    """The seed's `POST /ingestions/picos`: the day payload without `metadata`."""
    return {"serial": day.serial, "reading_day": day.reading_day, "interval": day.interval,
            "snapshots": _registers(day.opening),
            "datastreams": {name: dict(pairs) for name, pairs in _streams(day).items()}}


def processing(day: StoredDay) -> dict:
    """The seed's `POST /ingestions/processing`: a unit of work per meter-day."""
    start = codec.label_many(day.timezone, [day.first_end - day.interval])[0]
    return {"meter": {"serialNumber": day.serial},
            "unitOfWork": {"serialNumber": day.serial, "payloadDate": start,
                           "dataStreams": [
                               {"name": name, "interval": day.interval,
                                "readings": [{"timestamp": t, "value": v} for t, v in pairs]}
                               for name, pairs in _streams(day).items()]}}


def tempest(day: StoredDay) -> dict:
    """Tempest's own format: everything the store knows about the day, quality included."""
    names = list(day.channels)
    columns = [day.channel(n).tolist() for n in names]
    opening, closing = day.opening or {}, day.closing or {}
    channels = []
    for name, values in zip(names, columns, strict=True):
        info = day.channels[name]
        channels.append({
            "name": name, "role": info.get("role"), "unit": info.get("unit", "kWh"),
            "opening": _kwh(opening[name]) if name in opening else None,
            "closing": _kwh(closing[name]) if name in closing else None,
            "total": _kwh(sum(v for v in values if v >= 0))})
    readings = []
    labels = day.labels()
    for i, q in enumerate(day.quality.decode("ascii")):
        if q == codec.NOT_REACHED:
            continue  # an open day: the meter has not got there yet
        values = None if q == "M" else [_kwh(col[i]) if col[i] >= 0 else None
                                        for col in columns]
        readings.append({"end": labels[i], "quality": _QUALITY[q], "values": values})
    return {"format": FORMAT_VERSION, "serial": day.serial, "day": day.reading_day,
            "interval": day.interval, "timezone": day.timezone, "status": day.status,
            "expected": day.expected, "revision": day.versions, "source_sha256": day.hash,
            "channels": channels, "readings": readings}


BUILDERS = {"tempest": tempest, "picos": picos, "processing": processing}


def body(fmt: str, day: StoredDay) -> bytes:
    doc = BUILDERS[fmt](day)
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def idempotency_key(day: StoredDay, payload: bytes) -> str:
    """serial:day:sha256(body). The same key always comes with the same bytes, and a new
    version of a day gets a new key."""
    return f"{day.serial}:{day.reading_day}:{hashlib.sha256(payload).hexdigest()}"
