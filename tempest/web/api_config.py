"""`/api/v1/meters/<serial>/desired-config`, `/agent-key` and `/config/push`: the config the
inventory gives a meter, drift, the agent's key and address (registered here by the deploy,
never taken from heartbeats), and pushing a config to the meter's agent (tempest/fleetconfig).
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request

from core import masking
from tempest.db import get_db
from tempest.fleetconfig import agentaddr, agentkeys, desired, init_db, push, registration
from tempest.isotime import iso
from tempest.read import meters as read_meters
from tempest.settings import layout
from tempest.web import auth
from tempest.web.errors import APIError, bad_request, not_found
from tempest.web.params import serial_path

bp = Blueprint("api_config", __name__, url_prefix="/api/v1/meters/<serial>")


@bp.record_once
def _tables(state) -> None:
    init_db(state.app.extensions["tempest.pool"].path)


def _secrets_dir():
    """Where the agent keys are kept (outside the data dir: tempest/secretsdir.py)."""
    return layout(current_app.config).secrets


def _meter(serial: str):
    row = read_meters.one(get_db(), serial_path(serial))
    if row is None:
        raise not_found(f"no meter {serial}")
    return row


def describe(conn, secrets_dir, serial: str, reported_hash: str | None) -> dict:
    row = desired.get(conn, serial)
    return {
        "serial": serial,
        "config": json.loads(row["config"]) if row else None,
        "config_hash": row["config_hash"] if row else None,
        "source": row["source"] if row else None,
        "set_at": iso(row["set_at"]) if row else None,
        "reported_hash": reported_hash,
        "drift": desired.drift(reported_hash, row["config_hash"] if row else None),
        "agent_key": serial in agentkeys.serials(secrets_dir),
        "agent_url": agentaddr.get(conn, serial),
    }


def _agent_url(body: dict, field: str) -> str | None:
    """The agent address the deploy registers with the call, checked (None: not sent)."""
    url = body.get(field)
    if url is None:
        return None
    try:
        return agentaddr.check_url(url)
    except agentaddr.BadAgentUrl as exc:
        raise bad_request(str(exc), field) from exc


@bp.get("/desired-config")
def get_desired(serial: str):
    meter = _meter(serial)
    return jsonify(describe(get_db(), _secrets_dir(), serial, meter["config_hash"]))


@bp.put("/desired-config")
def put_desired(serial: str):
    """`{"config": <the whole config as deployed>, "source"?, "config_hash"?, "agent_url"?}`
    (admin). The config's agent.key and `agent_url` register how Tempest reaches the agent."""
    auth.require_admin()
    serial_path(serial)
    body = auth.json_object()
    try:
        reg = registration.check(serial, body)
    except desired.BadDesiredConfig as exc:
        raise bad_request(masking.mask(exc.reason, body), exc.field) from exc
    changed = registration.store(get_db(), _secrets_dir(), [reg], create=True)[serial]
    meter = _meter(serial)
    answer = describe(get_db(), _secrets_dir(), serial, meter["config_hash"])
    answer.pop("config")
    return jsonify({**answer, "changed": changed})


@bp.delete("/desired-config")
def delete_desired(serial: str):
    auth.require_admin()
    _meter(serial)
    return jsonify({"serial": serial, "deleted": desired.delete(get_db(), serial)})


@bp.put("/agent-key")
def put_agent_key(serial: str):
    """`{"key": "<the agent's agent.key>", "url"?: "<the agent's address>"}` (admin). The key
    is never returned."""
    auth.require_admin()
    _meter(serial)
    body = auth.json_object()
    url = _agent_url(body, "url")
    try:
        changed = agentkeys.set_key(_secrets_dir(), serial, agentkeys.check_key(body.get("key")))
    except agentkeys.BadAgentKey as exc:
        raise bad_request(str(exc), "key") from exc
    if url is not None:
        changed = agentaddr.set_url(get_db(), serial, url, "agent-key") or changed
    return jsonify({"serial": serial, "agent_key": True, "changed": changed,
                    "agent_url": agentaddr.get(get_db(), serial)})


@bp.delete("/agent-key")
def delete_agent_key(serial: str):
    auth.require_admin()
    _meter(serial)
    return jsonify({"serial": serial, "deleted": agentkeys.remove(_secrets_dir(), serial)})


def push_config(serial: str, raw: dict | None) -> tuple[dict, int]:
    """Shared by the API and the UI: push `raw` (default: the desired config) to the agent."""
    conn = get_db()
    if raw is None:
        row = desired.get(conn, serial)
        if row is None:
            raise APIError(409, "conflict", f"meter {serial} has no desired config to push; "
                           "send one in the body")
        raw = json.loads(row["config"])
    try:
        pushed = push.push(conn, _secrets_dir(), serial, raw, current_app.config)
    except push.PushRefused as exc:
        status = {"not_found": 404, "bad_request": 400}.get(exc.error, 409)
        extra = {"field": exc.field} if exc.field else {}
        raise APIError(status, exc.error if status != 409 else "conflict", exc.reason,
                       **extra) from exc
    body = {"serial": serial, "pushed": pushed.ok, "agent_status": pushed.status,
            "agent_url": pushed.agent_url, "answer": pushed.answer}
    return body, 200 if pushed.ok else 502


@bp.post("/config/push")
def post_push(serial: str):
    """Push `{"config": ...}`, or the desired config, to the meter's agent (admin)."""
    auth.require_admin()
    _meter(serial)
    body = auth.json_object() if request.get_data(cache=True) else {}
    raw = body.get("config")
    if raw is not None and not isinstance(raw, dict):
        raise bad_request("config must be a JSON object", "config")
    answer, status = push_config(serial, raw)
    return jsonify(answer), status

