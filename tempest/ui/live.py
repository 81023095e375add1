"""Live pages: `GET /ui/changes?scope=...` answers a small token that changes when what a page
shows changes (tempest/read/changes.py), with an ETag; pages poll it with If-None-Match (304
while nothing changed) and re-render their main part when it does."""

from __future__ import annotations

from flask import Blueprint, jsonify, make_response, request

from tempest.db import get_db
from tempest.read import changes as change_tokens

bp = Blueprint("ui_live", __name__, url_prefix="/ui")


@bp.get("/changes")
def changes():
    scope = request.args.get("scope", "")[:200]
    value = change_tokens.token(get_db(), scope)
    if value is None:
        return jsonify({"error": "bad_request", "reason": "unknown scope", "field": "scope"}), 400
    etag = f'"{value}"'
    if request.headers.get("If-None-Match") == etag:
        response = make_response("", 304)
    else:
        response = jsonify({"scope": scope, "token": value})
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "no-cache"
    return response
