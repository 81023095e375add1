"""Meter management over the API (admin token): register, set the zone, rotate, revoke."""

from __future__ import annotations

from flask import Blueprint, jsonify

from core import tzdb
from tempest import keys, names
from tempest.db import get_db
from tempest.read import meters as read_meters
from tempest.web import auth
from tempest.web.errors import APIError, bad_request, not_found
from tempest.web.params import serial_path

bp = Blueprint("api_admin", __name__, url_prefix="/api/v1/meters")


@bp.before_request
def _admin_only():
    auth.require_admin()


def _timezone(body: dict) -> str | None:
    zone = body.get("timezone")
    if zone is not None and (not isinstance(zone, str) or not tzdb.valid_zone(zone)):
        raise bad_request("timezone must be an IANA time zone such as Europe/Berlin",
                          "timezone")
    return zone


@bp.post("")
def add_meter():
    """Register a meter and issue its key (idempotent: an existing key is kept)."""
    body = auth.json_object()
    serial = body.get("serial")
    if not names.valid_serial(serial):
        raise bad_request("serial: 1-64 of A-Z a-z 0-9 _ . -, starting with a letter or digit",
                          "serial")
    key = body.get("key")
    if key is not None and not keys.valid_key(key):
        raise bad_request(f"key must be {keys.KEY_RULE}", "key")
    try:
        issued = keys.add(get_db(), serial, timezone=_timezone(body), key=key,
                          rotate=bool(body.get("rotate")))
    except (keys.KeyExists, keys.KeyHeldElsewhere) as exc:
        raise APIError(409, "conflict", str(exc), field="key") from exc
    answer = {"serial": serial, "message": issued.message, "changed": issued.changed}
    if issued.key is not None:
        answer["key"] = issued.key
        return jsonify(answer), 201
    return jsonify(answer), 200


@bp.patch("/<serial>")
def update_meter(serial: str):
    serial_path(serial)
    body = auth.json_object()
    zone = _timezone(body)
    conn = get_db()
    if not read_meters.exists(conn, serial):
        raise not_found(f"no meter {serial}")
    if zone is not None:
        keys.add(conn, serial, timezone=zone)
    return jsonify({"serial": serial, "timezone": zone})


@bp.post("/<serial>/key")
def rotate_key(serial: str):
    serial_path(serial)
    issued = keys.add(get_db(), serial, rotate=True)
    return jsonify({"serial": serial, "key": issued.key, "message": issued.message}), 201


@bp.delete("/<serial>/key")
def revoke_key(serial: str):
    serial_path(serial)
    try:
        had = keys.revoke(get_db(), serial)
    except keys.UnknownMeter as exc:
        raise not_found(f"no meter {serial}") from exc
    return jsonify({"serial": serial, "revoked": had})
