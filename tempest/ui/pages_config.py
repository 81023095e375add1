"""The Config page: each meter's reported config beside the inventory's, drift, and pushing a
config to the meter's agent (admin)."""

from __future__ import annotations

import json
import time

import requests
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, request, url_for

from core import configdoc
from tempest import names, registry
from tempest.db import get_db
from tempest.fleetconfig import agentaddr, agentkeys, desired, push
from tempest.read import archive, fleet
from tempest.read import meters as read_meters
from tempest.settings import layout
from tempest.ui import session
from tempest.ui.render import page

bp = Blueprint("ui_config", __name__, url_prefix="/ui/config")

AGENT_TIMEOUT_S = 3.0


@bp.get("")
def config_list():
    args = request.args.to_dict()
    args.setdefault("sort", "drift")
    query = fleet.Query.from_args(args)
    conn = get_db()
    now = time.time()
    online, stale = registry.thresholds(current_app.config)
    result = fleet.page(conn, query, now, online, stale)
    return page("config_list.html", nav="config", title="Config", scope="config", query=query,
                result=result, drift_counts=desired.counts(conn),
                drift_states=desired.DRIFT_STATES,
                agent_keys=agentkeys.serials(layout(current_app.config).secrets),
                agent_addresses=agentaddr.serials(conn))


def diff(desired_cfg: dict | None, reported: dict | None) -> list[dict]:
    """Top-level fields side by side: only those the reported config covers (a day file's
    metadata.config leaves delivery settings out)."""
    if desired_cfg is None or reported is None:
        return []
    wanted = configdoc.metadata_config(desired_cfg)
    out = []
    for key in sorted(set(wanted) | set(reported)):
        a, b = wanted.get(key), reported.get(key)
        out.append({"field": key, "desired": _show(a), "reported": _show(b), "same": a == b})
    return out


def _show(value) -> str:
    return "—" if value is None else json.dumps(value, sort_keys=True)


@bp.get("/<serial>")
def config_meter(serial: str):
    if not names.valid_serial(serial):
        abort(400, "not a valid serial")
    conn = get_db()
    row = read_meters.one(conn, serial)
    if row is None:
        abort(404, f"no meter {serial}")
    want = desired.get(conn, serial)
    desired_cfg = json.loads(want["config"]) if want else None
    reported, reported_day = archive.reported_config(conn, layout(current_app.config).data_dir,
                                                      serial)
    draft = desired_cfg or reported or {"serial": serial}
    pushes = [{**dict(p), "result": json.loads(p["result"])} for p in push.recent(conn, serial)]
    return page("config_meter.html", nav="config", title=f"Config of {serial}",
                scope=f"config-meter:{serial}", serial=serial, row=row, want=want,
                desired_cfg=desired_cfg, reported=reported, reported_day=reported_day,
                drift=desired.drift(row["config_hash"], want["config_hash"] if want else None),
                rows=(rows := diff(desired_cfg, reported)),
                day_differs=sum(1 for r in rows if not r["same"]), pushes=pushes,
                agent_key=serial in agentkeys.serials(layout(current_app.config).secrets),
                agent_address=agentaddr.get(conn, serial),
                draft=json.dumps(draft, indent=2, sort_keys=True),
                zone=read_meters.zone_of(conn, serial))


@bp.post("/<serial>/push")
def push_config(serial: str):
    """Push the edited config (the form's `config`) to the meter's agent."""
    session.require_admin()
    if not names.valid_serial(serial):
        abort(400, "not a valid serial")
    back = redirect(url_for("ui_config.config_meter", serial=serial))
    try:
        raw = json.loads(request.form.get("config", ""))
    except ValueError:
        flash("The config is not JSON.", "error")
        return back
    if not isinstance(raw, dict):
        flash("A config is a JSON object.", "error")
        return back
    try:
        pushed = push.push(get_db(), layout(current_app.config).secrets, serial, raw,
                           current_app.config)
    except push.PushRefused as exc:
        where = f" ({exc.field})" if exc.field else ""
        flash(f"Not pushed{where}: {exc.reason}", "error")
        return back
    if pushed.ok:
        flash(f"The agent applied the config: {pushed.answer.get('config_hash')}.", "ok")
    else:
        reason = pushed.answer.get("reason") or pushed.answer.get("error") or "no reason given"
        flash(f"The agent refused it (HTTP {pushed.status}): {reason}", "error")
    return back


@bp.get("/<serial>/agent")
def agent_config(serial: str):
    """The config the agent runs now (its public `GET /config`), fetched by Tempest from the
    address the inventory registered (never a heartbeat's): admin only, as Tempest makes the
    call."""
    if not session.is_admin():
        abort(403, "admin only")
    if not names.valid_serial(serial):
        abort(400, "not a valid serial")
    try:
        to = agentaddr.target(get_db(), current_app.config, serial)
    except agentaddr.NoTarget as exc:
        abort(404 if exc.error == "no_agent" else 409, exc.reason)
    try:
        r = requests.get(to.url + "config", timeout=AGENT_TIMEOUT_S, allow_redirects=False,
                         verify=to.verify)
        cfg = r.json()
    except (requests.RequestException, ValueError) as exc:
        abort(502, f"the agent did not answer: {type(exc).__name__}")
    if r.status_code != 200 or not isinstance(cfg, dict):
        abort(502, f"the agent answered HTTP {r.status_code}")
    public = configdoc.public_config(cfg)
    # Also as text written here: a browser's JSON.stringify would turn 1.0 into 1, and the
    # config's hash (what drift compares) would change with it.
    return jsonify({"serial": serial, "config": public,
                    "text": json.dumps(public, indent=2, sort_keys=True)})
