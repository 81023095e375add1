"""The seed's routes with the seed's JSON shapes (docs/seed.md, docs/api.md).

Meters in the field and the seed's UI scripts call these; field names and nesting are exact.
In the seed, "available" payloads waited to be forwarded and "archived" ones had been; here
`countOfFilesAvailable` counts the days Tempest stores for the meter and
`countOfFilesArchived` the files ingested into its archive (the `/archives` routes, for days
forwarded to the MDMS, are tempest/web/seed_archives.py). The seed's last Pico firmware posted
to `/heartbeats` and `/updates` (plural), answered here as `/heartbeat` and `/update`.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify, request

from tempest import codec, registry
from tempest.db import get_db
from tempest.read import archive
from tempest.read import days as read_days
from tempest.read import meters as read_meters
from tempest.settings import layout
from tempest.web.errors import bad_request, not_found, not_yet
from tempest.web.heartbeats import accept_heartbeat
from tempest.web.params import channel_path, day_path, serial_path
from tempest.web.uploads import accept_day_file

bp = Blueprint("seed", __name__)


def _local_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone().isoformat(timespec="seconds")


def last_heard(row, now: float) -> tuple[str | None, int | None]:
    if row["last_seen"] is None:
        return None, None
    return _local_iso(row["last_seen"]), int(now - row["last_seen"])


@bp.get("/")
def index():
    now = time.time()
    return jsonify({"entity": "tempest", "ip": request.environ.get("SERVER_NAME"),
                    "now": _local_iso(now), "timestamp": int(now)})


@bp.get("/heartbeats")
def heartbeats():
    now = time.time()
    out = []
    for r in read_meters.heard_from(get_db()):
        when, elapsed = last_heard(r, now)
        out.append({"serialNumber": r["serial"], "timeLastCommunicated": when,
                    "elapsedSeconds": elapsed})
    return jsonify(out)


@bp.get("/meters")
def meters():
    now = time.time()
    out = []
    for r in read_meters.every(get_db()):
        when, elapsed = last_heard(r, now)
        out.append({"serialNumber": r["serial"], "timeLastCommunicated": when,
                    "elapsedSeconds": elapsed, "countOfFilesAvailable": r["days_stored"],
                    "countOfFilesArchived": r["files_archived"],
                    "latestFile": r["last_day"]})  # the seed's: the day, not a file name
    return jsonify(out)


def _meter(serial: str):
    row = read_meters.one(get_db(), serial_path(serial))
    if row is None:
        raise not_found(f"no meter {serial}")
    return row


@bp.get("/meters/<serial>")
def meter(serial: str):
    row = _meter(serial)
    return jsonify({"serialNumber": row["serial"], "payloads": row["days_stored"]})


@bp.get("/meters/<serial>/payloads")
def payloads(serial: str):
    _meter(serial)
    return payload_list(serial, read_days.payloads(get_db(), serial))


def payload_list(serial: str, rows) -> Response:
    """The seed's payload list of `rows` (tempest.read.days.payloads' columns)."""
    return jsonify([{
        "filename": f"{serial}_{r['reading_day']}.json", "serialNumber": serial,
        "payloadDate": r["reading_day"], "meterVersion": r["meter_version"],
        "dataModelVersion": r["data_model_version"], "interval": r["interval"],
        "snapshots": len(json.loads(r["opening"])) if r["opening"] else 0,
        "datastreams": len(json.loads(r["channels"]))} for r in rows])


def _day(serial: str, date: str):
    row = read_days.get(get_db(), serial_path(serial), day_path(date))
    if row is None:
        raise not_found(f"no payload {date} for meter {serial}")
    return row


def _points(row, blob: bytes) -> list[dict]:
    """[{timestamp, value}] of the recorded intervals, in time order."""
    return [{"timestamp": t, "value": v / 1000}
            for t, v in zip(read_days.grid(row), codec.unpack_list(blob), strict=True)
            if v is not None]


@bp.get("/meters/<serial>/payloads/<date>")
def payload_streams(serial: str, date: str):
    row = _day(serial, date)
    blobs = read_days.channel_blobs(get_db(), serial, date)
    out = []
    for name in json.loads(row["channels"]):
        points = _points(row, blobs[name]) if name in blobs else []
        total = sum(round(p["value"] * 1000) for p in points)
        out.append({"name": name, "measurements": len(points), "totalValue": total / 1000,
                    "earliest": points[0]["timestamp"] if points else None,
                    "latest": points[-1]["timestamp"] if points else None})
    return jsonify(out)


@bp.get("/meters/<serial>/payloads/<date>/<datastream>")
def payload_stream(serial: str, date: str, datastream: str):
    row = _day(serial, date)
    blob = read_days.channel_blobs(get_db(), serial, date).get(channel_path(datastream))
    if blob is None:
        raise not_found(f"no datastream {datastream} on {date}")
    return jsonify(_points(row, blob))


def _import_channel(row) -> str:
    channels = json.loads(row["channels"])
    for name, info in channels.items():
        if info.get("role") == "import":
            return name
    return next(iter(channels))


@bp.get("/meter")
def meter_query():
    """`?serial=`: the meter's days, newest first; `&day=`: that day's import readings."""
    serial = request.args.get("serial")
    if not serial:
        raise bad_request("serial is required", "serial")
    _meter(serial)
    day = request.args.get("day")
    if not day:
        return jsonify(read_days.reading_days(get_db(), serial))
    row = _day(serial, day)
    blob = read_days.channel_blobs(get_db(), serial, day).get(_import_channel(row))
    return jsonify(_points(row, blob) if blob else [])


@bp.get("/payload")
def payload():
    """The stored day payload, as it was received. `day` is the seed's: a seed file named
    after the midnight ending its readings is found by the day it named, though Tempest
    stores it under the day before (tempest.read.days.named_by_seed)."""
    serial, day = request.args.get("serial"), request.args.get("day")
    if not serial or not day:
        raise bad_request("serial and day are required", "serial" if not serial else "day")
    row = read_days.named_by_seed(get_db(), serial_path(serial), day_path(day)) or _day(
        serial, day)
    try:
        data = archive.stored_file(get_db(), layout(current_app.config).data_dir, row)
    except archive.NotArchivedYet as exc:
        raise not_yet(f"the payload's file cannot be served yet: {exc}") from exc
    except archive.NotArchived as exc:
        raise not_found(f"the payload's file cannot be served: {exc}") from exc
    return Response(data, mimetype="application/json")


@bp.get("/status")
def status():
    online, stale = registry.thresholds(current_app.config)
    counts = registry.counts(get_db(), time.time(), online, stale)
    active = counts["online"] + counts["stale"]
    return jsonify({"activeMeters": active, "inactiveMeters": counts["meters"] - active,
                    "availablePayloads": counts["days_stored"],
                    "archivedPayloads": counts["files_archived"]})


# The seed's Pico firmware posted to `{tempest_url}/heartbeats` and `{tempest_url}/updates`:
# plural, and with two slashes (its tempest_url ends with one). Routing matches `//updates`
# as `/updates` (werkzeug merges slashes when it matches; tests/seed/test_plural_routes.py).
@bp.post("/heartbeat")
@bp.post("/heartbeats")
def heartbeat():
    return accept_heartbeat()


@bp.post("/update")
@bp.post("/updates")
def update():
    return accept_day_file()
