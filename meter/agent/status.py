"""Read-only agent routes: `GET /` (status), `GET /config` (no secrets), `GET /day`,
`GET /delivery`. None of them needs the key, and none of them changes anything."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from core import __version__, civil
from core.configdoc import public_config
from meter.agent import context
from meter.agent.errors import AgentError, bad_request
from meter.delivery import events, state, status
from meter.delivery.folders import Folders

bp = Blueprint("status", __name__)


@bp.get("/")
def index():
    m = context.meter()
    now = context.now_seconds(m.cfg)
    rep = status.report(m.cfg, m.root, now)
    st = state.load(m.root)
    return jsonify({
        "entity": "agent",  # the seed's three fields first
        "timestamp": rep["timestamp"],
        "ip": rep.get("address") or request.host.rsplit(":", 1)[0],
        "serial": m.cfg.serial,
        "version": __version__,
        "config_hash": rep["config_hash"],
        "backlog": rep["outbox_backlog"],
        "held": rep["held"],
        "sent": rep["sent"],
        "rejected": rep["rejected"],
        "last_tick": rep.get("last_tick"),
        "free_disk_bytes": rep.get("free_disk_bytes"),
        "delivery": {**rep["delivery"], "next_attempt": st.next_attempt or None},
    })


@bp.get("/config")
def get_config():
    """The config as written, without its secrets (tempest_api_key, agent.key,
    delivery.ssh_key)."""
    m = context.meter()
    return jsonify(public_config(m.cfg.raw))


def day_arg(name: str = "day") -> int:
    value = request.args.get(name)
    if not value:
        raise bad_request(f"the {name} parameter (YYYY-MM-DD) is required", name)
    try:
        return civil.parse_day(value)
    except ValueError as exc:
        raise bad_request(f"{name}: {exc}", name) from exc


@bp.get("/day")
def get_day():
    """A day's file as the meter has it: the open day, a sealed copy, or regenerated."""
    m = context.meter()
    d = day_arg()
    now_min = int(context.now_seconds(m.cfg) // 60)
    from meter.delivery import redial  # numpy's start-up only where a day is built

    items, notes = redial.collect(m.cfg, m.root, d, d, now_min, include_open=True)
    if not items:
        note = notes[0] if notes else {"reason": "no such day"}
        raise AgentError(404, "not_found", f"{civil.format_day(d)}: {note['reason']}",
                         day_status=note.get("status"))
    item = items[0]
    return Response(item.data, mimetype="application/json",
                    headers={"X-Meter-Source": item.source,
                             "Content-Disposition": f'inline; filename="{item.name}"'})


@bp.get("/delivery")
def delivery():
    """The retry state and the most recent delivery events (no secrets in either)."""
    m = context.meter()
    limit = request.args.get("limit", "50")
    if not limit.isdigit() or not 1 <= int(limit) <= 1000:
        raise bad_request("limit is 1 to 1000", "limit")
    f = Folders(m.root)
    return jsonify({"serial": m.cfg.serial, "state": state.load(m.root).public(),
                    "outbox": [e.name for e in f.pending()],
                    "events": events.read(m.root, int(limit))})
