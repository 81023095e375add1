"""State-changing agent routes (key required): `POST /tick`, `POST /deliver`, `POST /day`,
`POST /redial`. Each accepts `?at=ISO-TIME` to move the meter's clock for that call (tests,
demos), as the CLI's --at does."""

from __future__ import annotations

import errno
import logging

from flask import Blueprint, jsonify, request

from meter.agent import context
from meter.agent.auth import key_required
from meter.agent.errors import AgentError, bad_request
from meter.agent.status import day_arg

# The tick, delivery and redial modules (numpy and requests among them) are imported by the
# routes that run them: the agent starts, and answers its status, without them.
bp = Blueprint("actions", __name__)
log = logging.getLogger("meter.agent")
MAX_REDIAL_DAYS = 366


def _deliver(m, now: float, force: bool) -> dict | None:
    from meter.delivery.route import deliver as deliver_pass

    result = deliver_pass(m.cfg, m.root, now, force=force)
    return result.as_dict() if result is not None else None


@bp.post("/tick")
@key_required
def tick():
    """Record the intervals that ended (as cron's `meter tick`), then one delivery pass.
    A tick that fails (a full disk: 507) still lets already sealed files go out."""
    from meter import operations

    m = context.meter()
    now = context.now_seconds(m.cfg, allow_override=True)
    body, code = {"serial": m.cfg.serial}, 200
    try:
        body["tick"] = operations.tick(m.cfg, m.root, int(now // 60))
    except operations.Busy as exc:
        # cron's tick is running: it writes the same intervals, so this one need not.
        code = 409
        body.update(error="busy", reason=str(exc))
    except OSError as exc:
        log.warning("%s: tick failed: %s", m.cfg.serial, exc)
        code = 507 if exc.errno == errno.ENOSPC else 500
        body.update(error="tick_failed", reason=f"the tick failed: {exc.strerror or exc}; "
                    "nothing sealed was lost, the next tick catches up")
    body["delivery"] = _deliver(m, now, force=False)
    return jsonify(body), code


@bp.post("/deliver")
@key_required
def deliver():
    """One delivery pass now, ignoring any backoff (e.g. Tempest is back)."""
    m = context.meter()
    now = context.now_seconds(m.cfg, allow_override=True)
    result = _deliver(m, now, force=True)
    if result is None:
        from meter.delivery import settings

        reason = (settings.DEMO_REASON if settings.delivery(m.cfg).demo
                  else "delivery.mode is 'none': this meter sends nothing")
        raise AgentError(409, "conflict", reason)
    return jsonify(result)


def _redial(first: int, last: int, include_open: bool):
    from meter.delivery import redial as redials

    m = context.meter()
    if last < first:
        raise bad_request("'to' is before 'from'", "to")
    if last - first + 1 > MAX_REDIAL_DAYS:
        raise bad_request(f"at most {MAX_REDIAL_DAYS} days per redial", "to")
    now = context.now_seconds(m.cfg, allow_override=True)
    try:
        result = redials.redial(m.cfg, m.root, first, last, int(now // 60), include_open)
    except redials.RedialError as exc:
        raise AgentError(409, "conflict", str(exc)) from exc
    return jsonify(result), 200 if result["error"] is None else 502


@bp.post("/day")
@key_required
def upload_day():
    """Upload one day now (the open day as far as it goes, or a past day)."""
    d = day_arg()
    return _redial(d, d, include_open=True)


@bp.post("/redial")
@key_required
def redial():
    """Re-send days `from`..`to` (or the seed's single `day`): {"days_uploaded": n, ...}."""
    if "day" in request.args and "from" not in request.args:
        d = day_arg()
        return _redial(d, d, include_open=False)
    first = day_arg("from")
    last = day_arg("to") if "to" in request.args else first
    return _redial(first, last, include_open=False)
