"""The seed's `/archives` routes and `POST /upload`, over the MDMS sink (docs/api.md).

In the seed, days waited in Tempest until `POST /upload` forwarded them to the MDMS and moved
them to its archive; `/archives...` mirrored the `/meters...` routes for those. Here the MDMS
sink forwards every stored day by itself (tempest/sinks): `/archives...` show the days the MDMS
has acknowledged, in the `/meters...` shapes, and `POST /upload` makes what still waits for it
go now, through the sink's own queue and worker (tempest/sinks/forward_now.py).

`POST /upload` is an admin call: it acts for the whole fleet, as `retry-dead` does, so one
meter's key (which writes only its own serial, docs/security.md) cannot make it.
"""

from __future__ import annotations

import time

from flask import Blueprint, jsonify

from tempest.db import get_db
from tempest.read import forwarded
from tempest.read import meters as read_meters
from tempest.sinks import registry, status
from tempest.sinks.forward_now import forward_now
from tempest.web import auth, seed
from tempest.web.errors import APIError, not_found
from tempest.web.params import day_path, serial_path

bp = Blueprint("seed_archives", __name__)
SINK = registry.MDMS


@bp.get("/archives")
def archives():
    """The `/meters` list for forwarded days: `countOfFilesAvailable` the days still waiting
    for the MDMS, `countOfFilesArchived` the days it has, `latestFile` its latest."""
    now = time.time()
    out = []
    for r in forwarded.meters(get_db(), SINK):
        when, elapsed = seed.last_heard(r, now)
        out.append({"serialNumber": r["serial"], "timeLastCommunicated": when,
                    "elapsedSeconds": elapsed, "countOfFilesAvailable": r["waiting"],
                    "countOfFilesArchived": r["forwarded"], "latestFile": r["last_forwarded"]})
    return jsonify(out)


def _meter(serial: str) -> str:
    if read_meters.one(get_db(), serial_path(serial)) is None:
        raise not_found(f"no meter {serial}")
    return serial


def _forwarded(serial: str, date: str) -> None:
    _meter(serial)
    if not forwarded.was_forwarded(get_db(), SINK, serial, day_path(date)):
        raise not_found(f"payload {date} of meter {serial} has not been forwarded to the MDMS")


@bp.get("/archives/<serial>")
def archive_meter(serial: str):
    _meter(serial)
    return jsonify({"serialNumber": serial, "payloads": forwarded.count(get_db(), SINK, serial)})


@bp.get("/archives/<serial>/payloads")
def archive_payloads(serial: str):
    _meter(serial)
    return seed.payload_list(serial, forwarded.payloads(get_db(), SINK, serial))


@bp.get("/archives/<serial>/payloads/<date>")
def archive_payload_streams(serial: str, date: str):
    _forwarded(serial, date)
    return seed.payload_streams(serial, date)


@bp.get("/archives/<serial>/payloads/<date>/<datastream>")
def archive_payload_stream(serial: str, date: str, datastream: str):
    _forwarded(serial, date)
    return seed.payload_stream(serial, date, datastream)


@bp.post("/upload")
def upload():
    """Forward every day waiting for the MDMS now: `{"uploaded": n}` (admin)."""
    auth.require_admin()
    conn = get_db()
    sink = status.sink(conn, SINK, dead_limit=0)
    if sink is None or not sink["enabled"]:
        raise APIError(409, "conflict", "no MDMS sink is configured: set TEMPEST_SINK_MDMS_URL "
                       "(docs/sinks.md)")
    if not sink["worker"]["running"]:
        raise APIError(503, "unavailable", "the MDMS sink's worker is not running (it runs "
                       "beside the ingest worker: tempest serve, or tempest ingest --watch)")
    done = forward_now(conn, SINK)
    if done.waiting or done.dead:
        raise APIError(502, "bad_gateway", f"the MDMS did not take every waiting day "
                       f"({done.waiting} still queued, {done.dead} refused): "
                       f"{done.last_error or 'no answer in time'}; the sink worker keeps "
                       "retrying what is queued", uploaded=done.uploaded, waiting=done.waiting,
                       dead=done.dead)
    return jsonify({"uploaded": done.uploaded})
