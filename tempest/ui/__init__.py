"""Tempest's web UI: server-rendered pages under `/ui/` (Jinja templates, one small blueprint
per page family), charts drawn by uPlot (vendored in static/vendor), live updates by polling
`/ui/changes` (live.py). docs/ui.md describes the pages; every /ui route is listed there.
"""

from __future__ import annotations

from flask import Flask

from tempest.ui import session


def blueprints() -> list:
    from tempest.ui import (
        data,
        live,
        pages_admin,
        pages_config,
        pages_fleet,
        pages_logs,
        pages_meter,
        pages_ops,
    )

    return [pages_fleet.bp, pages_meter.bp, pages_logs.bp, pages_ops.bp, pages_config.bp,
            pages_admin.bp, data.bp, live.bp]


def init_app(app: Flask) -> None:
    from tempest.ui import render

    session.cookie_settings(app)
    for bp in blueprints():
        if not getattr(bp, "_tempest_secured", False):  # once per process, before registering
            render.secure(bp)
            bp._tempest_secured = True
        app.register_blueprint(bp)
    app.register_blueprint(render.assets)
