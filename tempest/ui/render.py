"""Rendering UI pages: the common context, fragments for live updates, and security headers."""

from __future__ import annotations

import time

from flask import Blueprint, Response, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from core import __version__
from tempest.db import get_db
from tempest.isotime import iso
from tempest.read import changes
from tempest.ui import session, timefmt
from tempest.web import errors

# Templates and static files (the blueprint's static route is /ui/static/...).
assets = Blueprint("ui", __name__, url_prefix="/ui", template_folder="templates",
                   static_folder="static")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")

NAV = [("fleet", "Fleet", "ui_fleet.fleet"), ("heartbeats", "Heartbeats", "ui_logs.heartbeats"),
       ("ingest", "Ingest log", "ui_logs.ingest_log"),
       ("quarantine", "Quarantine", "ui_logs.quarantine"), ("sinks", "Sinks", "ui_ops.sinks"),
       ("exports", "Exports", "ui_ops.exports"), ("config", "Config", "ui_config.config_list")]


def fragment() -> bool:
    return request.headers.get("X-Fragment") == "main"


def page(template: str, *, nav: str, title: str, scope: str, status: int = 200,
         **context) -> Response:
    """A whole page, or only its <main> when the live updater asks (X-Fragment: main)."""
    now = time.time()
    html = render_template(
        template, nav=nav, nav_items=NAV, title=title, fragment=fragment(),
        live_scope=scope, live_token=changes.token(get_db(), scope, now), now=now,
        is_admin=session.is_admin(), admin_configured=session.configured(),
        csrf=session.csrf_token() if session.is_admin() else "", version=__version__,
        local=timefmt.local, iso=iso, iso_local=timefmt.iso_local,
        ago=lambda ts: timefmt.ago(ts, now), when_html=timefmt.when, **context)
    return make_response(html, status)


def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Vary"] = "X-Fragment, Cookie"
    return response


def _error(exc: HTTPException):
    if request.accept_mimetypes.best == "application/json" or request.path.startswith(
            ("/ui/data/", "/ui/changes")):
        return errors._http_error(exc)  # the API's JSON error shape
    return page("error.html", nav="", title=f"{exc.code} {exc.name}", scope="heartbeats",
                status=exc.code or 500, error=exc)


def secure(bp: Blueprint) -> None:
    bp.after_request(_headers)
    bp.register_error_handler(HTTPException, _error)


assets.after_request(_headers)
