"""JSON the UI's charts read (for the UI only; docs/ui.md lists it). Day charts read the public
API (`/api/v1/meters/<serial>/days/<day>`)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, jsonify, request

from tempest import names
from tempest.db import get_db
from tempest.read import meters as read_meters
from tempest.ui import calendar

bp = Blueprint("ui_data", __name__, url_prefix="/ui/data")

MAX_DAYS = 3660


@bp.get("/meters/<serial>/daily")
def daily(serial: str):
    """Daily kWh per channel and coverage, `from`..`to` (dates, at most ten years)."""
    first, last = request.args.get("from", ""), request.args.get("to", "")
    if not names.valid_serial(serial):
        abort(400, "not a valid serial")
    if not (names.valid_day(first) and names.valid_day(last)):
        abort(400, "from and to are dates YYYY-MM-DD")
    span = (date.fromisoformat(last) - date.fromisoformat(first)).days
    if not 0 <= span < MAX_DAYS:
        abort(400, f"from..to must be 1 to {MAX_DAYS} days, from first")
    if not read_meters.exists(get_db(), serial):
        abort(404, f"no meter {serial}")
    response = jsonify(calendar.daily(get_db(), serial, first, last))
    response.headers["Cache-Control"] = "no-cache"
    return response
