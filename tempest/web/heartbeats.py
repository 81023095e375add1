"""Heartbeats in (`POST /api/v1/heartbeats`, the seed's `POST /heartbeat`) and their history."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, request

from tempest import names, registry
from tempest.db import get_db
from tempest.isotime import iso
from tempest.read import heartbeats as read_heartbeats
from tempest.web import auth
from tempest.web.errors import APIError, bad_request
from tempest.web.params import limit_arg

bp = Blueprint("heartbeats", __name__)


def take_heartbeat(serial: str, body: dict, now: float, batched: bool = False) -> None:
    """One heartbeat for `serial` (whose key came with the request), checked and recorded, or
    an APIError naming the field. The per-meter routes and a concentrator's batch
    (tempest/web/concentrator.py) both come through here, so both check alike. `batched`:
    inside the caller's transaction (a concentrator's batch commits once)."""
    claimed = body.get("serial")
    if claimed is None:
        raise bad_request("a heartbeat names its serial", "serial")
    if claimed != serial:
        raise APIError(403, "forbidden", auth.OTHER_SERIAL.format(what="that serial"),
                       field="serial")
    try:
        # A batched heartbeat is a concentrator's (the heartbeat's route, tempest/routes.py).
        (registry.record_in if batched else registry.record)(
            get_db(), serial, body, now, "concentrator" if batched else "http")
    except registry.BadHeartbeat as exc:
        raise bad_request(exc.reason, exc.field) from exc


def server_time(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).astimezone().isoformat(timespec="seconds")


def accept_heartbeat():
    """Shared by both heartbeat routes: 200 {"status": "ok", "server_time"}."""
    serial = auth.meter_serial()
    body = auth.json_object()
    now = time.time()
    take_heartbeat(serial, body, now)
    return jsonify({"status": "ok", "server_time": server_time(now)})


@bp.post("/api/v1/heartbeats")
def post_heartbeat():
    return accept_heartbeat()


@bp.get("/api/v1/heartbeats")
def list_heartbeats():
    """Recent heartbeats, newest first; `serial=` for one meter. `heartbeat` is the checked
    fields Tempest kept, or null for a row an older Tempest stored cut short."""
    serial = request.args.get("serial")
    limit = limit_arg(current_app.config)
    if serial is not None and not names.valid_serial(serial):
        raise bad_request("not a valid serial", "serial")
    rows = read_heartbeats.recent(get_db(), serial, limit)
    return jsonify({"items": [
        {"serial": r["serial"], "received_at": iso(r["received_at"]),
         "meter_time": r["meter_time"], "clock_skew_s": r["skew_s"], "address": r["address"],
         "heartbeat": registry.stored_heartbeat(r["body"])} for r in rows]})
