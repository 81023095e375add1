"""`/api/v1/sinks...`: each sink's queue, its dead items, and retrying them (admin)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from tempest.db import get_db
from tempest.sinks import queue, registry, status
from tempest.web import auth
from tempest.web.errors import bad_request, not_found
from tempest.web.params import limit_arg

bp = Blueprint("api_sinks", __name__, url_prefix="/api/v1/sinks")


def _known(name: str) -> str:
    if name not in registry.known(get_db()):
        raise not_found(f"no sink {name}")
    return name


@bp.get("")
def list_sinks():
    return jsonify({"items": status.all_sinks(get_db())})


@bp.get("/<name>")
def one_sink(name: str):
    return jsonify(status.sink(get_db(), _known(name)))


@bp.get("/<name>/items")
def sink_items(name: str):
    """Waiting and dead items in delivery order; `state=queued|dead` narrows it."""
    state = request.args.get("state") or None
    if state not in (None, queue.QUEUED, queue.DEAD):
        raise bad_request("state must be queued or dead", "state")
    return jsonify({"sink": _known(name), "items": status.items(
        get_db(), name, state, limit_arg(current_app.config))})


@bp.post("/<name>/retry-dead")
def retry_dead(name: str):
    """Put dead items back in their place in the queue (all, or `{"ids": [...]}`)."""
    auth.require_admin()
    _known(name)
    body = auth.json_object() if request.get_data(cache=True).strip() else {}
    ids = body.get("ids")
    if ids is not None and (not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids)):
        raise bad_request("ids must be a list of item ids", "ids")
    return jsonify({"sink": name, "requeued": queue.retry_dead(get_db(), name, ids)})
