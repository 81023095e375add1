"""`GET /api/v1/meters/<serial>/quota`: a meter's allowances and what they refused (read only).

Public like the other reads: it shows counts and limits, never a key or a file.
"""

from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify

from tempest.db import get_db
from tempest.isotime import iso
from tempest.quotas import limits
from tempest.read import meters as read_meters
from tempest.web.errors import not_found
from tempest.web.params import serial_path

bp = Blueprint("api_quota", __name__, url_prefix="/api/v1/meters")


@bp.get("/<serial>/quota")
def meter_quota(serial: str):
    conn = get_db()
    if read_meters.one(conn, serial_path(serial)) is None:
        raise not_found(f"no meter {serial}")
    body = limits.usage(conn, serial, current_app.config, time.time())
    body["dropped"]["last_at"] = iso(body["dropped"]["last_at"])
    return jsonify(body)
