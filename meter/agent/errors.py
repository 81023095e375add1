"""Every agent error as JSON: {"error": "<short code>", "reason": "<sentence>"[, "field"]}."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger("meter.agent")


class AgentError(Exception):
    def __init__(self, status: int, error: str, reason: str, **extra):
        super().__init__(reason)
        self.status = status
        self.error = error
        self.reason = reason
        self.extra = {k: v for k, v in extra.items() if v is not None}


def bad_request(reason: str, field: str | None = None) -> AgentError:
    return AgentError(400, "bad_request", reason, field=field)


def register(app: Flask) -> None:
    @app.errorhandler(AgentError)
    def _agent_error(exc: AgentError):
        return jsonify({"error": exc.error, "reason": exc.reason, **exc.extra}), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        return jsonify({"error": code, "reason": exc.description}), exc.code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("agent request failed")
        return jsonify({"error": "internal_error",
                        "reason": f"{type(exc).__name__}: {exc}"}), 500
