"""Heartbeats, the ingest log and quarantine (with re-ingest and discard for admins)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for

from tempest import names, registry
from tempest.db import get_db
from tempest.ingest import quarantine as q
from tempest.read import heartbeats as read_heartbeats
from tempest.read import ingest as read_ingest
from tempest.read import meters as read_meters
from tempest.settings import layout
from tempest.ui import session
from tempest.ui.render import page

bp = Blueprint("ui_logs", __name__, url_prefix="/ui")

EVENTS = ("stored", "replaced", "unchanged", "kept", "quarantined", "reingest", "discarded")
LIMIT = 100


def _serial_arg() -> str | None:
    value = (request.args.get("serial") or "").strip()
    return value if names.valid_serial(value) else None


@bp.get("/heartbeats")
def heartbeats():
    """Recent heartbeats (the seed's /ui/heartbeats path)."""
    serial = _serial_arg()
    conn = get_db()
    items = []
    for r in read_heartbeats.recent(conn, serial, LIMIT):
        body = registry.stored_heartbeat(r["body"]) or {}  # an old cut-short row: no details
        items.append({**dict(r), "version": body.get("version"), "kind": body.get("kind"),
                      "backlog": body.get("outbox_backlog"),
                      "last_error": body.get("last_error")})
    return page("heartbeats.html", nav="heartbeats", title="Heartbeats", scope="heartbeats",
                items=items, serial=serial,
                zones=read_meters.zones_of(conn, [i["serial"] for i in items]),
                )


@bp.get("/ingest")
def ingest_log():
    serial = _serial_arg()
    event = request.args.get("event") if request.args.get("event") in EVENTS else None
    before = request.args.get("before", "")
    rows = read_ingest.log_page(get_db(), serial=serial, event=event,
                                before=int(before) if before.isdigit() else None, limit=LIMIT)
    return page("ingest.html", nav="ingest", title="Ingest log", scope="ingest", items=rows,
                serial=serial, event=event, events=EVENTS, before=before if before.isdigit()
                else None, older=rows[-1]["id"] if len(rows) == LIMIT else None)


@bp.get("/quarantine")
def quarantine():
    show_all = request.args.get("all") == "1"
    rows = read_ingest.quarantined(get_db(), show_all=show_all, limit=LIMIT)
    qdir = layout(current_app.config).quarantine
    items = [{**dict(r), "present": (qdir / r["name"]).is_file()} for r in rows]
    return page("quarantine.html", nav="quarantine", title="Quarantine", scope="quarantine",
                items=items, show_all=show_all)


def _action(qid: str, verb: str):
    session.require_admin()
    if not names.valid_id(qid):
        flash("No such quarantined file.", "error")
        return redirect(url_for("ui_logs.quarantine"))
    lay = layout(current_app.config)
    try:
        if verb == "reingest":
            new_id = q.reingest(get_db(), lay, qid)
            flash(f"Sent {qid} through ingest again as {new_id}.", "ok")
        else:
            q.discard(get_db(), lay, qid)
            flash(f"Discarded {qid}.", "ok")
    except q.NotQuarantined as exc:
        flash(str(exc), "error")
    return redirect(url_for("ui_logs.quarantine"))


@bp.post("/quarantine/<qid>/reingest")
def reingest(qid: str):
    return _action(qid, "reingest")


@bp.post("/quarantine/<qid>/discard")
def discard(qid: str):
    return _action(qid, "discard")
