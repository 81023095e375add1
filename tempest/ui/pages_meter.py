"""The Meter page (calendar, year chart, heartbeats, config, files) and the Day page."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

from flask import Blueprint, abort, current_app, request

from tempest import names, registry, routes
from tempest.db import get_db
from tempest.dlms import endpoints
from tempest.fleetconfig import agentkeys, desired, push
from tempest.isotime import iso
from tempest.read import days as read_days
from tempest.read import events as read_events
from tempest.read import heartbeats as read_heartbeats
from tempest.read import meters as read_meters
from tempest.settings import layout
from tempest.ui import calendar
from tempest.ui.render import page

bp = Blueprint("ui_meter", __name__, url_prefix="/ui/meters")


def _meter(serial: str):
    if not names.valid_serial(serial):
        abort(400, "not a valid serial")
    row = read_meters.one(get_db(), serial)
    if row is None:
        abort(404, f"no meter {serial}")
    online, stale = registry.thresholds(current_app.config)
    return row, read_meters.as_dict(row, time.time(), online, stale)


def heartbeats(conn, serial: str, limit: int = 10) -> list[dict]:
    out = []
    for r in read_heartbeats.recent(conn, serial, limit):
        body = registry.stored_heartbeat(r["body"]) or {}  # an old cut-short row: no details
        out.append({"received_at": r["received_at"], "meter_time": r["meter_time"],
                    "skew": r["skew_s"], "address": r["address"],
                    "version": body.get("version"), "backlog": body.get("outbox_backlog"),
                    "last_error": body.get("last_error")})
    return out


def config_summary(conn, serial: str, reported_hash: str | None) -> dict:
    row = desired.get(conn, serial)
    pushes = push.recent(conn, serial, 1)
    return {"desired_hash": row["config_hash"] if row else None,
            "desired_source": row["source"] if row else None,
            "desired_set_at": row["set_at"] if row else None,
            "reported_hash": reported_hash,
            "drift": desired.drift(reported_hash, row["config_hash"] if row else None),
            "agent_key": serial in agentkeys.serials(layout(current_app.config).secrets),
            "last_push": pushes[0] if pushes else None}


@bp.get("/<serial>")
def meter(serial: str):
    row, info = _meter(serial)
    conn = get_db()
    today = datetime.now(UTC).date()
    until_arg = request.args.get("until")
    if until_arg and names.valid_day(until_arg):
        until = date.fromisoformat(until_arg)
    else:
        until = max(today, date.fromisoformat(row["last_day"])) if row["last_day"] else today
    cal = calendar.year(conn, serial, until, today)
    first = (until - timedelta(days=364)).isoformat()
    return page("meter.html", nav="fleet", title=f"Meter {serial}", scope=f"meter:{serial}",
                serial=serial, meter=info, row=row, zone=read_meters.zone_of(conn, serial),
                cal=cal, chart_from=first, chart_to=until.isoformat(),
                prev_until=(until - timedelta(days=365)).isoformat(),
                next_until=(until + timedelta(days=365)).isoformat() if until < today else None,
                heartbeats=heartbeats(conn, serial), files=read_meters.files(conn, serial),
                config=config_summary(conn, serial, row["config_hash"]),
                dlms=endpoints.shown(conn, layout(current_app.config).secrets, serial),
                route_labels=routes.LABELS)


@bp.get("/<serial>/days/<day>")
def day(serial: str, day: str):
    if not names.valid_day(day):
        abort(400, "not a valid date YYYY-MM-DD")
    _, info = _meter(serial)
    conn = get_db()
    row = read_days.get(conn, serial, day)
    before, after = read_days.neighbours(conn, serial, day)
    context = dict(serial=serial, day=day, meter=info, before=before, after=after,
                   versions=read_meters.files(conn, serial, day),
                   zone=read_meters.zone_of(conn, serial))
    # What the meter logged that day (outages, clock adjustments), beside its intervals.
    context["logged"] = read_events.for_day(conn, serial, context["zone"], day)
    if row is None:
        return page("day.html", nav="fleet", title=f"{serial} {day}",
                    scope=f"day:{serial}:{day}", status=404, summary=None, **context)
    summary = read_days.summary(row)
    declared = json.loads(row["channels"])
    opening = json.loads(row["opening"]) if row["opening"] else {}
    closing = json.loads(row["closing"]) if row["closing"] else {}
    totals = json.loads(row["totals"])
    registers = [{"name": n, "role": i.get("role"), "unit": i.get("unit", "kWh"),
                  "opening": _kwh(opening.get(n)), "closing": _kwh(closing.get(n)),
                  "total": _kwh(totals.get(n))} for n, i in declared.items()]
    return page("day.html", nav="fleet", title=f"{serial} {day}", scope=f"day:{serial}:{day}",
                summary=summary, registers=registers, stored_at=iso(row["stored_at"]),
                measurements=read_days.measurements(conn, serial, day),
                shape=row["shape"], meter_version=row["meter_version"], **context)


def _kwh(wh):
    return None if wh is None else f"{wh / 1000:.3f}"
