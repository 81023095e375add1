"""`/api/v1/concentrators...`: data concentrators and the meters behind them.

Reads are public like the meter list (no key is ever shown); writes need the admin token.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from tempest import keys, names
from tempest.concentrators import registry as concentrators
from tempest.db import get_db
from tempest.read import concentrators as read_concentrators
from tempest.web import auth
from tempest.web.errors import APIError, bad_request, not_found
from tempest.web.params import serial_path

bp = Blueprint("api_concentrators", __name__, url_prefix="/api/v1/concentrators")

MAX_SERIALS = 100_000  # one assignment; a host's whole range fits


@bp.before_request
def _writes_are_admin():
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        auth.require_admin()


def _cid(value: str) -> str:
    if not concentrators.valid_id(value):
        raise bad_request(f"a concentrator id is {concentrators.ID_RULE}", "id")
    return value


def _existing(cid: str) -> dict:
    row = read_concentrators.one(get_db(), _cid(cid))
    if row is None:
        raise not_found(f"no concentrator {cid}")
    return row


@bp.get("")
def list_concentrators():
    return jsonify({"items": read_concentrators.every(get_db())})


@bp.post("")
def add_concentrator():
    """Register a concentrator and issue its key (idempotent: an existing key is kept)."""
    body = auth.json_object()
    cid = body.get("id")
    if not concentrators.valid_id(cid):
        raise bad_request(f"id: a concentrator id is {concentrators.ID_RULE}", "id")
    key = body.get("key")
    if key is not None and not keys.valid_key(key):
        raise bad_request(f"key must be {keys.KEY_RULE}", "key")
    rotate = body.get("rotate", False)
    if not isinstance(rotate, bool):
        raise bad_request("rotate must be true or false", "rotate")
    try:
        issued = concentrators.add(get_db(), cid, key=key, rotate=rotate)
    except (keys.KeyExists, keys.KeyHeldElsewhere) as exc:
        raise APIError(409, "conflict", str(exc), field="key") from exc
    answer = {"id": cid, "message": issued.message, "changed": issued.changed}
    if issued.key is not None:
        return jsonify({**answer, "key": issued.key}), 201
    return jsonify(answer)


@bp.get("/<cid>")
def one_concentrator(cid: str):
    row = _existing(cid)
    return jsonify({**row, "serials": read_concentrators.serials(get_db(), cid)})


@bp.post("/<cid>/meters")
def assign_meters(cid: str):
    """Put meters behind the concentrator: `{"serials": [...]}`. A meter behind another one is
    moved (that one is refused for it from then on)."""
    _existing(cid)
    serials = auth.json_object().get("serials")
    if not isinstance(serials, list) or not serials or len(serials) > MAX_SERIALS:
        raise bad_request(f"serials must be a list of 1 to {MAX_SERIALS} serials", "serials")
    for index, serial in enumerate(serials):
        if not names.valid_serial(serial):
            raise bad_request("not a valid serial (1-64 of A-Z a-z 0-9 _ . -)",
                              f"serials[{index}]")
    out = concentrators.assign(get_db(), cid, list(dict.fromkeys(serials)))
    return jsonify({"id": cid, "assigned": out.assigned, "moved": out.moved,
                    "unchanged": len(out.unchanged)})


@bp.delete("/<cid>/meters/<serial>")
def release_meter(cid: str, serial: str):
    _existing(cid)
    released = concentrators.release(get_db(), cid, serial_path(serial))
    if not released:
        raise not_found(f"meter {serial} is not behind concentrator {cid}")
    return jsonify({"id": cid, "serial": serial, "released": True})


@bp.delete("/<cid>/key")
def revoke_key(cid: str):
    _existing(cid)
    had = concentrators.revoke(get_db(), cid)
    return jsonify({"id": cid, "revoked": had})
