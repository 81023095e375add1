"""Signing in and out as admin (session.py says how and why)."""

from __future__ import annotations

import time

from flask import Blueprint, flash, redirect, request, url_for

from tempest.ui import session
from tempest.ui.render import page

bp = Blueprint("ui_admin", __name__, url_prefix="/ui")

FAIL_DELAY_S = 0.5  # a wrong token costs the guesser half a second


def _next() -> str:
    target = request.values.get("next") or ""
    # Only paths inside the UI: never an absolute URL (no open redirect).
    if target.startswith("/ui/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("ui_fleet.fleet")


@bp.get("/login")
def login():
    return page("login.html", nav="", title="Sign in", scope="heartbeats", next=_next())


@bp.post("/login")
def login_post():
    if not session.configured():
        flash("Admin actions are closed: this Tempest has no admin token "
              "(TEMPEST_ADMIN_TOKEN).", "error")
        return redirect(url_for("ui_admin.login"))
    if session.sign_in(request.form.get("token", "")):
        flash("Signed in as admin.", "ok")
        return redirect(_next())
    time.sleep(FAIL_DELAY_S)
    flash("That is not the admin token.", "error")
    return redirect(url_for("ui_admin.login", next=_next()))


@bp.post("/logout")
def logout():
    session.check_form()
    session.sign_out()
    flash("Signed out.", "ok")
    return redirect(url_for("ui_fleet.fleet"))
