"""`/api/v1/meters...`: the fleet, one meter, its days, a day's readings, ranges (read only)."""

from __future__ import annotations

import json
import time

from flask import Blueprint, Response, current_app, jsonify, request

from core import civil
from tempest import names, registry, routes
from tempest.db import get_db
from tempest.dlms import endpoints
from tempest.isotime import iso
from tempest.read import archive, resample
from tempest.read import days as read_days
from tempest.read import events as read_events
from tempest.read import meters as read_meters
from tempest.settings import layout
from tempest.web.errors import bad_request, not_found, not_yet
from tempest.web.params import channel_path, day_arg, day_path, page_args, serial_path

bp = Blueprint("api_meters", __name__, url_prefix="/api/v1/meters")


def _meter_or_404(serial: str):
    row = read_meters.one(get_db(), serial_path(serial))
    if row is None:
        raise not_found(f"no meter {serial}")
    return row


def _day_or_404(serial: str, day: str):
    row = read_days.get(get_db(), serial_path(serial), day_path(day))
    if row is None:
        raise not_found(f"no stored day {day} for meter {serial}")
    return row


@bp.get("")
def list_meters():
    status = request.args.get("status") or None
    if status is not None and status not in registry.STATUSES:
        raise bad_request(f"status must be one of {', '.join(registry.STATUSES)}", "status")
    prefix = request.args.get("q") or None
    if prefix is not None and not names.valid_serial(prefix):
        raise bad_request("q is the start of a serial", "q")
    route = request.args.get("route") or None
    if route is not None and route not in routes.ROUTES:
        raise bad_request(f"route must be one of {', '.join(routes.ROUTES)}", "route")
    page, per_page = page_args(current_app.config)
    online, stale = registry.thresholds(current_app.config)
    return jsonify(read_meters.page(get_db(), now=time.time(), online=online, stale=stale,
                                    status=status, prefix=prefix, page=page,
                                    per_page=per_page, route=route))


@bp.get("/<serial>")
def one_meter(serial: str):
    row = _meter_or_404(serial)
    online, stale = registry.thresholds(current_app.config)
    info = read_meters.as_dict(row, time.time(), online, stale)
    # The DLMS endpoint Tempest dials and the skew it read last (never the password).
    info["dlms"] = endpoints.shown(get_db(), layout(current_app.config).secrets, row["serial"])
    return jsonify(info)


@bp.get("/<serial>/days")
def meter_days(serial: str):
    _meter_or_404(serial)
    first, last = day_arg("from"), day_arg("to")
    page, per_page = page_args(current_app.config)
    conn = get_db()
    rows = read_days.listing(conn, serial, first, last, per_page, (page - 1) * per_page)
    return jsonify({"serial": serial, "items": [read_days.summary(r) for r in rows],
                    "page": page, "per_page": per_page,
                    "total": read_days.count(conn, serial, first, last)})


@bp.get("/<serial>/days/<day>/events")
def day_events(serial: str, day: str):
    """What the meter logged that day (read over DLMS), stored day or not: an outage day has
    no readings but has its power down."""
    _meter_or_404(serial)
    day = day_path(day)
    conn = get_db()
    return jsonify({"serial": serial, "day": day,
                    **read_events.for_day(conn, serial, read_meters.zone_of(conn, serial), day)})


@bp.get("/<serial>/days/<day>")
def day_readings(serial: str, day: str):
    row = _day_or_404(serial, day)
    return jsonify(read_days.readings(get_db(), row))


@bp.get("/<serial>/days/<day>/file")
def day_file(serial: str, day: str):
    """The stored version's file, byte for byte as it was delivered."""
    row = _day_or_404(serial, day)
    try:
        data = archive.stored_file(get_db(), layout(current_app.config).data_dir, row)
    except archive.NotArchivedYet as exc:
        raise not_yet(str(exc)) from exc
    except archive.NotArchived as exc:
        raise not_found(str(exc)) from exc
    return Response(data, mimetype="application/json")


@bp.get("/<serial>/days/<day>/channels/<channel>")
def day_channel(serial: str, day: str, channel: str):
    row = _day_or_404(serial, day)
    series = read_days.channel_series(get_db(), row, channel_path(channel))
    if series is None:
        measured = read_days.measurement_series(get_db(), row, channel)
        if measured is None:
            raise not_found(f"no channel {channel} on {day}")
        return jsonify({"serial": serial, "day": day, "channel": channel, **measured,
                        "interval": row["interval"], "timezone": row["timezone"]})
    info = json.loads(row["channels"]).get(channel, {})
    return jsonify({"serial": serial, "day": day, "channel": channel, "role": info.get("role"),
                    "unit": info.get("unit", "kWh"), "interval": row["interval"],
                    "timezone": row["timezone"], "readings": series})


@bp.get("/<serial>/files")
def meter_files(serial: str):
    """Every file delivered for the meter (all versions, newest first); `day=` for one day."""
    _meter_or_404(serial)
    day = day_arg("day")
    page, per_page = page_args(current_app.config)
    rows = read_meters.files(get_db(), serial, day, per_page, (page - 1) * per_page)
    items = []
    for r in rows:
        item = dict(r)
        item["received_at"] = iso(item.pop("delivered_at"))
        item["ingested_at"] = iso(item["ingested_at"])
        item["notes"] = json.loads(item["notes"]) if item["notes"] else []
        items.append(item)
    return jsonify({"serial": serial, "items": items, "page": page, "per_page": per_page})


@bp.get("/<serial>/readings")
def meter_readings(serial: str):
    """A range of days, resampled: ?from=&to=&resolution=interval|30min|hour|day&channel=."""
    _meter_or_404(serial)
    resolution = request.args.get("resolution", "interval")
    if resolution not in resample.RESOLUTIONS:
        raise bad_request(f"resolution must be one of {', '.join(resample.RESOLUTIONS)}",
                          "resolution")
    first, last = day_arg("from"), day_arg("to")
    if first is None or last is None:
        raise bad_request("from and to (YYYY-MM-DD) are required", "from" if not first else "to")
    if last < first:
        raise bad_request("to is before from", "to")
    span = _days_between(first, last) + 1
    if span > resample.MAX_DAYS[resolution]:
        raise bad_request(f"at most {resample.MAX_DAYS[resolution]} days at resolution "
                          f"{resolution}; ask for a coarser one or a shorter range", "to")
    wanted = request.args.getlist("channel") or None
    if wanted is not None:
        wanted = [c for part in wanted for c in part.split(",") if c]
        for c in wanted:
            if not names.valid_channel(c):
                raise bad_request(f"not a channel name: {c!r}", "channel")
    return jsonify(resample.series(get_db(), serial, first, last, resolution, wanted))


def _days_between(first: str, last: str) -> int:
    return civil.parse_day(last) - civil.parse_day(first)
