"""`/api/v1` for the ingest side: fleet summary, health, ingest log, quarantine."""

from __future__ import annotations

import json
import os
import time

from flask import Blueprint, Response, current_app, jsonify, request

from tempest import names, registry
from tempest.db import get_db
from tempest.ingest import dropbox, quarantine, scope
from tempest.isotime import iso
from tempest.settings import layout
from tempest.web import auth
from tempest.web.errors import APIError, bad_request, not_found
from tempest.web.params import limit_arg

bp = Blueprint("api_ingest", __name__, url_prefix="/api/v1")

# The worker publishes its state every few seconds; this much silence means it is not running.
WORKER_SILENT_SECONDS = 30


def _alive(pid) -> bool:
    """Whether the worker's process exists (it runs on this host: it shares the data dir)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def ingest_state(conn, now: float) -> dict:
    row = conn.execute("SELECT value FROM state WHERE key = 'ingest'").fetchone()
    if row is None:
        return {"running": False, "last_report": None}
    state = json.loads(row["value"])
    running = (not state.get("stopped") and now - state["at"] < WORKER_SILENT_SECONDS
               and _alive(state.get("pid")))
    return {"running": running,
            "last_report": iso(state["at"]), "pid": state.get("pid"),
            "processed": state.get("processed"), "queued": state.get("queued"),
            "observer_alive": state.get("observer_alive"),
            "observer_restarts": state.get("observer_restarts")}


def summary(conn, config, now: float) -> dict:
    online, stale = registry.thresholds(config)
    counts = registry.counts(conn, now, online, stale)
    open_q = conn.execute("SELECT count(*) FROM quarantine WHERE resolved_at IS NULL").fetchone()
    return {
        "meters": counts["meters"],
        "status": {s: counts[s] for s in registry.STATUSES},
        "days_stored": counts["days_stored"],
        "files_archived": counts["files_archived"],
        "quarantined": open_q[0],
        "drop_pending": scope.pending(layout(config).drop),
        "ingest": ingest_state(conn, now),
        "thresholds": {"online_seconds": online, "stale_seconds": stale},
    }


@bp.get("/summary")
def fleet_summary():
    return jsonify(summary(get_db(), current_app.config, time.time()))


@bp.get("/health")
def health():
    """Liveness for load balancers and systemd: the store answers; the worker's state."""
    conn = get_db()
    conn.execute("SELECT 1").fetchone()
    return jsonify({"status": "ok", "ingest": ingest_state(conn, time.time())})


@bp.get("/ingest-log")
def ingest_log():
    """Newest first; `serial=`, `event=`, and `before=<id>` to page back."""
    limit = limit_arg(current_app.config)
    where, params = [], []
    serial = request.args.get("serial")
    if serial is not None:
        if not names.valid_serial(serial):
            raise bad_request("not a valid serial", "serial")
        where.append("serial = ?")
        params.append(serial)
    event = request.args.get("event")
    if event is not None:
        where.append("event = ?")
        params.append(event[:32])
    before = request.args.get("before")
    if before is not None:
        if not before.isdigit():
            raise bad_request("before is an ingest-log id", "before")
        where.append("id < ?")
        params.append(int(before))
    sql = "SELECT id, at, file_id, serial, reading_day, event, message FROM ingest_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC LIMIT ?"
    rows = get_db().execute(sql, (*params, limit)).fetchall()
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
    sql = "SELECT * FROM quarantine"
    if request.args.get("all") not in ("1", "true", "yes"):
        sql += " WHERE resolved_at IS NULL"
    rows = get_db().execute(sql + " ORDER BY received_at DESC LIMIT ?", (limit,)).fetchall()
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
