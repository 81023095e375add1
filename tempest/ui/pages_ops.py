"""Sinks (queue depth, last success, dead items with retry) and Exports (NEM12 and CSV)."""

from __future__ import annotations

import sqlite3
import time

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for

from tempest import names
from tempest.db import get_db
from tempest.read import days as read_days
from tempest.ui import session
from tempest.ui.render import page

bp = Blueprint("ui_ops", __name__, url_prefix="/ui")

FORMATS = ("nem12", "csv")


def sink_status(conn) -> list[dict] | None:
    """Every sink's status from tempest.sinks, or None where this Tempest has no sinks."""
    try:
        from tempest.sinks import status
    except ImportError:
        return None
    try:
        return status.all_sinks(conn, time.time())
    except sqlite3.OperationalError:  # the sinks' tables are not there
        return None


@bp.get("/sinks")
def sinks():
    found = sink_status(get_db())
    return page("sinks.html", nav="sinks", title="Sinks", scope="sinks", sinks=found or [],
                available=found is not None)


@bp.post("/sinks/<name>/retry")
def retry(name: str):
    """Put a sink's dead items (or the one in `id`) back in its queue."""
    session.require_admin()
    if not names.valid_serial(name):
        abort(400, "not a sink name")
    try:
        from tempest.sinks import queue
    except ImportError:
        abort(404, "this Tempest has no sinks")
    ids = None
    if request.form.get("id", "").isdigit():
        ids = [int(request.form["id"])]
    count = queue.retry_dead(get_db(), name, ids)
    flash(f"{count} dead item{'s' if count != 1 else ''} of {name} back in the queue.", "ok")
    return redirect(url_for("ui_ops.sinks"))


EXPORT_ENDPOINTS = {"nem12": "api_exports.nem12_download", "csv": "api_exports.csv_download"}


def exports_available() -> bool:
    return all(e in current_app.view_functions for e in EXPORT_ENDPOINTS.values())


@bp.get("/exports")
def exports():
    span = read_days.span(get_db())
    serial = request.args.get("serial", "")
    return page("exports.html", nav="exports", title="Exports", scope="heartbeats",
                available=exports_available(), formats=FORMATS,
                serial=serial if names.valid_serial(serial) else "",
                day_from=_day(request.args.get("from")) or span[1] or "",
                day_to=_day(request.args.get("to")) or span[1] or "",
                earliest=span[0], latest=span[1])


def _day(value: str | None) -> str | None:
    return value if value and names.valid_day(value) else None


@bp.get("/exports/download")
def export_download():
    """The form's target: on to the export API's download for the chosen format."""
    fmt = request.args.get("format", "nem12")
    if fmt not in FORMATS:
        abort(400, "format is nem12 or csv")
    if not exports_available():
        abort(404, "exports are not available in this Tempest")
    first, last = _day(request.args.get("from")), _day(request.args.get("to"))
    if not first or not last:
        abort(400, "from and to are dates YYYY-MM-DD")
    args = {"from": first, "to": last}
    serial = (request.args.get("serial") or "").strip()
    if serial:
        if not names.valid_serial(serial):
            abort(400, "not a valid serial")
        args["serial"] = serial
    return redirect(url_for(EXPORT_ENDPOINTS[fmt], **args))
