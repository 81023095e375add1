"""Errors as JSON: `{"error": "<short code>", "reason": "<sentence>"}` with the right status.

Every failure a client can cause is an APIError or a werkzeug HTTPException; both come out in
this one shape (extra fields such as `field`, `line` and `id` ride along for day files).
"""

from __future__ import annotations

import errno
import logging
import sqlite3

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

log = logging.getLogger("tempest.web")


class APIError(Exception):
    def __init__(self, status: int, error: str, reason: str, *, headers: dict | None = None,
                 **extra):
        super().__init__(reason)
        self.status = status
        self.error = error
        self.reason = reason
        self.headers = headers or {}  # e.g. Retry-After on a 429 or 507
        self.extra = extra


def bad_request(reason: str, field: str | None = None) -> APIError:
    extra = {"field": field} if field else {}
    return APIError(400, "bad_request", reason, **extra)


def not_found(reason: str) -> APIError:
    return APIError(404, "not_found", reason)


def not_yet(reason: str, retry_after_s: int = 1) -> APIError:
    """503: what was asked for exists in a moment (say, a just-stored day's archive copy)."""
    return APIError(503, "not_yet", reason, headers={"Retry-After": str(retry_after_s)})


def _api_error(exc: APIError):
    body = {"error": exc.error, "reason": exc.reason, **exc.extra}
    return jsonify(body), exc.status, exc.headers


def _too_large(exc: RequestEntityTooLarge):
    from flask import request

    limit = request.max_content_length  # the app's, or the route's own (a concentrator batch)
    return jsonify({"error": "too_large",
                    "reason": f"the request body is larger than the {limit}-byte limit"}), 413


def _http_error(exc: HTTPException):
    code = (exc.name or "error").lower().replace(" ", "_")
    response = jsonify({"error": code, "reason": exc.description or exc.name})
    response.status_code = exc.code or 500
    if exc.code == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _unexpected(exc: Exception):
    log.exception("unhandled error")
    return jsonify({"error": "internal_error", "reason": "the server failed; see its log"}), 500


_FULL = (errno.ENOSPC, errno.EDQUOT)


def _storage_error(exc: Exception):
    """A full disk (or a store locked past the busy timeout) is Tempest's state, not the
    client's fault: 503, so a meter keeps its file or heartbeat and tries again later, as the
    protocol says; it used to be a 500 for heartbeats and for files to quarantine."""
    text = str(exc).lower()
    full = (isinstance(exc, OSError) and exc.errno in _FULL) or (
        isinstance(exc, sqlite3.OperationalError)
        and any(t in text for t in ("disk is full", "database is locked",
                                    "disk i/o error")))  # a new connection's WAL index
    if not full:
        return _unexpected(exc)
    log.error("cannot write now: %s", exc)
    response = jsonify({"error": "unavailable", "reason": "Tempest cannot store this right "
                        "now (its disk is full or its store is busy); send it again later"})
    response.status_code = 503
    response.headers["Retry-After"] = "60"
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(APIError, _api_error)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(sqlite3.OperationalError, _storage_error)
    app.register_error_handler(OSError, _storage_error)
    app.register_error_handler(Exception, _unexpected)
