"""`/api/v1` for the ingest side: fleet summary, health, ingest log, quarantine (the answers
are read by tempest/read/ingest.py)."""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, jsonify, request

from tempest import names
from tempest.db import get_db
from tempest.ingest import dropbox, quarantine
from tempest.isotime import iso
from tempest.read import ingest as read_ingest
from tempest.settings import layout
from tempest.web import auth
from tempest.web.errors import APIError, bad_request, not_found
from tempest.web.params import limit_arg

bp = Blueprint("api_ingest", __name__, url_prefix="/api/v1")


@bp.get("/summary")
def fleet_summary():
    return jsonify(read_ingest.summary(get_db(), current_app.config, time.time()))


@bp.get("/health")
def health():
    """Liveness for load balancers and systemd: the store answers; the worker's state."""
    return jsonify(read_ingest.health(get_db(), time.time()))


@bp.get("/ingest-log")
def ingest_log():
    """Newest first; `serial=`, `event=`, and `before=<id>` to page back."""
    limit = limit_arg(current_app.config)
    serial = request.args.get("serial")
    if serial is not None and not names.valid_serial(serial):
        raise bad_request("not a valid serial", "serial")
    event = request.args.get("event")
    before = request.args.get("before")
    if before is not None and not before.isdigit():
        raise bad_request("before is an ingest-log id", "before")
    rows = read_ingest.log_page(get_db(), serial=serial,
                                event=event[:32] if event is not None else None,
                                before=int(before) if before is not None else None, limit=limit)
    items = [{**dict(r), "at": iso(r["at"])} for r in rows]
    return jsonify({"items": items, "next_before": items[-1]["id"] if items else None})


def _q_item(row) -> dict:
    path = layout(current_app.config).quarantine / row["name"]
    return {**quarantine.reason_doc(row), "resolved_at": iso(row["resolved_at"]),
            "resolution": row["resolution"], "size": row["size"],
            "present": path.is_file()}


@bp.get("/quarantine")
def quarantine_list():
    """Open quarantine, newest first (`all=1` includes resolved files)."""
    limit = limit_arg(current_app.config)
    rows = read_ingest.quarantined(get_db(), show_all=request.args.get("all") in ("1", "true", "yes"),
                                   limit=limit)
    return jsonify({"items": [_q_item(r) for r in rows]})


def _q_row(qid: str):
    if not names.valid_id(qid):
        raise not_found("no such quarantined file")
    row = quarantine.row(get_db(), qid)
    if row is None:
        raise not_found("no such quarantined file")
    return row


@bp.get("/quarantine/<qid>")
def quarantine_one(qid: str):
    return jsonify(_q_item(_q_row(qid)))


@bp.get("/quarantine/<qid>/file")
def quarantine_file(qid: str):
    """The quarantined bytes as received (admin: they may be anything)."""
    auth.require_admin()
    row = _q_row(qid)
    try:
        # Never through a link (one swapped into the drop folder could point anywhere).
        f, _ = dropbox.open_regular(layout(current_app.config).quarantine / row["name"])
    except FileNotFoundError as exc:
        raise not_found("the quarantined file is no longer there") from exc
    except OSError as exc:
        raise not_found("the quarantined file is not a regular file; it is not served") from exc
    with f:
        data = f.read()
    return Response(data, mimetype="application/octet-stream")


@bp.post("/quarantine/<qid>/reingest")
def quarantine_reingest(qid: str):
    auth.require_admin()
    _q_row(qid)
    try:
        new_id = quarantine.reingest(get_db(), layout(current_app.config), qid)
    except quarantine.NotQuarantined as exc:
        raise APIError(409, "conflict", str(exc)) from exc
    return jsonify({"id": new_id, "status": "queued",
                    "status_url": f"/api/v1/ingest/{new_id}"}), 202


@bp.delete("/quarantine/<qid>")
def quarantine_discard(qid: str):
    auth.require_admin()
    _q_row(qid)
    try:
        quarantine.discard(get_db(), layout(current_app.config), qid)
    except quarantine.NotQuarantined as exc:
        raise APIError(409, "conflict", str(exc)) from exc
    return jsonify({"id": qid, "status": "discarded"})
