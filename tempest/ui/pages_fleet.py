"""The Fleet page (`/ui/meters`, the seed's path) and the seed's UI paths."""

from __future__ import annotations

import time

from flask import Blueprint, abort, current_app, redirect, request, url_for

from tempest import names, registry, routes
from tempest.db import get_db
from tempest.fleetconfig import desired
from tempest.read import fleet as fleet_query
from tempest.read import meters as read_meters
from tempest.ui import sparkline
from tempest.ui.render import page

bp = Blueprint("ui_fleet", __name__, url_prefix="/ui")


@bp.get("")
@bp.get("/")
def home():
    return redirect(url_for("ui_fleet.fleet"))


@bp.get("/meters")
def fleet():
    query = fleet_query.Query.from_args(request.args)
    conn = get_db()
    now = time.time()
    online, stale = registry.thresholds(current_app.config)
    result = fleet_query.page(conn, query, now, online, stale)
    agg = fleet_query.aggregates(conn, now, online, stale)
    return page("fleet.html", nav="fleet", title="Fleet", scope="fleet", query=query,
                result=result, counts=agg["counts"], drift_counts=agg["drift"],
                zones=read_meters.zones(conn, result["rows"]), versions=agg["versions"],
                status_of=lambda ts: registry.status_of(ts, now, online, stale),
                spark_days=fleet_query.spark_days(now), sparkline=sparkline.svg,
                badge=sparkline.badge, meter_url=url_for("ui_meter.meter", serial="x")[:-1],
                config_url=url_for("ui_config.config_meter", serial="x")[:-1],
                per_page_options=fleet_query.PER_PAGE,
                statuses=registry.STATUSES, drift_states=desired.DRIFT_STATES,
                routes=routes.ROUTES, route_labels=routes.LABELS)


@bp.get("/meter")
def seed_meter():
    """The seed's `/ui/meter?serial=` and `/ui/meter?serial=&day=`."""
    serial, day = request.args.get("serial", ""), request.args.get("day")
    if not names.valid_serial(serial):
        abort(400, "serial is required: /ui/meter?serial=<serial>[&day=YYYY-MM-DD]")
    if day:
        if not names.valid_day(day):
            abort(400, "day must be a date YYYY-MM-DD")
        return redirect(url_for("ui_meter.day", serial=serial, day=day))
    return redirect(url_for("ui_meter.meter", serial=serial))
