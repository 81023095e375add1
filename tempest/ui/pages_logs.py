"""Heartbeats, the ingest log and quarantine (with re-ingest and discard for admins)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for

from tempest import names, registry
from tempest.db import get_db
from tempest.ingest import quarantine as q
from tempest.settings import layout
from tempest.ui import session, timefmt
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
    sql = ("SELECT h.id, h.serial, h.received_at, h.meter_time, h.skew_s, h.address, h.body "
           "FROM heartbeats h")
    params: tuple = ()
    if serial:
        sql += " WHERE h.serial = ?"
        params = (serial,)
    rows = conn.execute(sql + " ORDER BY h.received_at DESC LIMIT ?", (*params, LIMIT)).fetchall()
    items = []
    for r in rows:
        body = registry.stored_heartbeat(r["body"]) or {}  # an old cut-short row: no details
        items.append({**dict(r), "version": body.get("version"), "kind": body.get("kind"),
                      "backlog": body.get("outbox_backlog"),
                      "last_error": body.get("last_error")})
    meters = conn.execute("SELECT serial, timezone, last_day FROM meters WHERE serial IN "
                          f"({','.join('?' * len({i['serial'] for i in items}))})",
                          tuple({i["serial"] for i in items})).fetchall() if items else []
    return page("heartbeats.html", nav="heartbeats", title="Heartbeats", scope="heartbeats",
                items=items, serial=serial, zones=timefmt.zones(conn, meters),
                )


@bp.get("/ingest")
def ingest_log():
    serial = _serial_arg()
    event = request.args.get("event") if request.args.get("event") in EVENTS else None
    before = request.args.get("before", "")
    where, params = [], []
    if serial:
        where.append("serial = ?")
        params.append(serial)
    if event:
        where.append("event = ?")
        params.append(event)
    if before.isdigit():
        where.append("id < ?")
        params.append(int(before))
    sql = "SELECT id, at, file_id, serial, reading_day, event, message FROM ingest_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = get_db().execute(sql + " ORDER BY id DESC LIMIT ?", (*params, LIMIT)).fetchall()
    return page("ingest.html", nav="ingest", title="Ingest log", scope="ingest", items=rows,
                serial=serial, event=event, events=EVENTS, before=before if before.isdigit()
                else None, older=rows[-1]["id"] if len(rows) == LIMIT else None)


@bp.get("/quarantine")
def quarantine():
    show_all = request.args.get("all") == "1"
    sql = "SELECT * FROM quarantine"
    if not show_all:
        sql += " WHERE resolved_at IS NULL"
    rows = get_db().execute(sql + " ORDER BY received_at DESC LIMIT ?", (LIMIT,)).fetchall()
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
