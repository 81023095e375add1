"""Admin sign-in for the UI: the admin token entered once, then a signed session cookie.

Why a cookie and not the token in sessionStorage: the token never stays where page scripts
can read it (the cookie is HttpOnly), so a script injected into a page could not carry it off.
The cookie is Flask's signed session (the secrets folder's SECRET_KEY), SameSite=Strict, Secure
when the request came over HTTPS (behind a TLS proxy, TEMPEST_TRUSTED_PROXIES tells Tempest it
did), and lasts at most SESSION_HOURS. It holds no token: only a fingerprint of it (HMAC with
the secret key), checked on every request, so changing TEMPEST_ADMIN_TOKEN signs every admin
out. Every admin form carries a CSRF token from the session and must come from the same origin.

A signed cookie cannot be taken back, so each sign-in is also a row in the store
(`ui_sessions`, by the hash of a random session id the cookie carries): signing out deletes
it, and a copy of the cookie kept from before is then a signed-out visitor's. The store, not
a process's memory, so every gunicorn worker and a restarted Tempest agree.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from urllib.parse import urlsplit

from flask import abort, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface

from tempest import ui_sessions
from tempest.db import get_db

SESSION_HOURS = 12


def _fingerprint(token: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, b"tempest-ui-admin:" + token.encode(), hashlib.sha256).hexdigest()


def configured() -> bool:
    return bool(current_app.config.get("ADMIN_TOKEN"))


def sign_in(token: str) -> bool:
    configured_token = current_app.config.get("ADMIN_TOKEN")
    if not configured_token or not token:
        return False
    if not hmac.compare_digest(str(configured_token).encode(), token.encode()):
        return False
    now = time.time()
    sid = secrets.token_urlsafe(32)
    ui_sessions.add(get_db(), _sid_hash(sid), now, SESSION_HOURS * 3600)
    session.clear()
    session["admin"] = _fingerprint(str(configured_token))
    session["since"] = now
    session["sid"] = sid
    session["csrf"] = secrets.token_urlsafe(24)
    session.permanent = False
    g.pop("tempest_admin", None)
    return True


def sign_out() -> None:
    """End this session for good: its row goes, so a saved copy of the cookie opens nothing."""
    sid = session.get("sid")
    if isinstance(sid, str):
        ui_sessions.remove(get_db(), _sid_hash(sid))
    session.clear()
    g.pop("tempest_admin", None)


def _sid_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _live(sid) -> bool:
    """Whether the store still holds this session (it was not signed out)."""
    if not isinstance(sid, str) or not sid:
        return False
    since = ui_sessions.created_at(get_db(), _sid_hash(sid))
    return since is not None and time.time() - since <= SESSION_HOURS * 3600


def is_admin() -> bool:
    if "tempest_admin" not in g:  # asked several times per page: one look-up per request
        g.tempest_admin = _is_admin()
    return g.tempest_admin


def _is_admin() -> bool:
    token = current_app.config.get("ADMIN_TOKEN")
    mark = session.get("admin")
    if not token or not mark:
        return False
    if time.time() - float(session.get("since", 0)) > SESSION_HOURS * 3600:
        return False
    if not hmac.compare_digest(mark, _fingerprint(str(token))):
        return False
    return _live(session.get("sid"))


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def _same_origin() -> bool:
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if not origin:  # old clients send neither; the CSRF token still has to match
        return True
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}" == request.host_url.rstrip("/")


def check_form() -> None:
    """A state-changing UI request: same origin and the session's CSRF token (403 otherwise)."""
    sent = request.form.get("csrf") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    if not _same_origin() or not expected or not hmac.compare_digest(sent, expected):
        abort(403, "the form is stale or came from another site; reload the page")


def require_admin() -> None:
    """Admin actions: a signed-in admin and a genuine form."""
    if not is_admin():
        abort(403, "admin only: sign in with the admin token first")
    check_form()


class _SessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app) -> bool:  # Secure whenever the request came over HTTPS
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def cookie_settings(app) -> None:
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config.get("SESSION_COOKIE_NAME", "session") == "session":
        app.config["SESSION_COOKIE_NAME"] = "tempest_ui"
    app.session_interface = _SessionInterface()
