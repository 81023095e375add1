"""Day-file uploads (`POST /api/v1/days`, the seed's `POST /update`) and their ingest status.

An upload is checked (key, serial, size, validity) and written atomically into the drop folder,
where the ingest worker stores it like any other delivery: this route never writes readings.
Its parse travels with the file (tempest/ingest/verdict.py), so the worker does not repeat it.
Its name carries the key's serial, and ingest takes from it only that meter's day
(tempest/ingest/scope.py). A file that fails validation goes straight to quarantine and the meter
gets 422 with the reason. Each meter has an hourly allowance of uploads and bytes (429 past it),
a capped quarantine, and no upload is taken while the disk is below its reserve (507)
(tempest/quotas).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time

from flask import Blueprint, current_app, jsonify, request, url_for

from core.dayfile_reader import Day, DayFileError
from tempest import names
from tempest.db import get_db, transaction
from tempest.ingest import dropbox, quarantine, verdict
from tempest.ingest.process import parse_checked
from tempest.isotime import iso
from tempest.quotas import limits
from tempest.read import ingest as read_ingest
from tempest.read import meters as read_meters
from tempest.settings import layout
from tempest.store import Delivery
from tempest.web import auth
from tempest.web.errors import APIError, not_found

bp = Blueprint("uploads", __name__)
log = logging.getLogger("tempest.web")


def _zone_for(serial: str) -> str:
    return read_meters.timezone(get_db(), serial) or current_app.config["LEGACY_TIMEZONE"]


def _status_url(ingest_id: str) -> str:
    return url_for("uploads.ingest_status", ingest_id=ingest_id)


def _refused(refusal: limits.Refusal | None) -> None:
    if refusal is not None:
        headers = {"Retry-After": str(refusal.retry_after)} if refusal.retry_after else None
        raise APIError(refusal.status, refusal.error, refusal.reason, headers=headers)


def _spend(serial: str, size: int) -> None:
    """Take the upload out of the meter's hourly allowance (429 / 413 past it)."""
    conn = get_db()
    with transaction(conn):
        refusal = limits.take_upload(conn, serial, size, current_app.config, time.time())
    _refused(refusal)


def _quarantine_upload(serial: str, data: bytes, error: DayFileError):
    ingest_id = names.new_id()
    now = time.time()
    delivery = Delivery(ingest_id, hashlib.sha256(data).hexdigest(),
                        f"{names.safe(serial)}.up-{ingest_id}.json", len(data), "upload", now)
    conn = get_db()
    with transaction(conn):
        full = limits.quarantine_refusal(conn, serial, len(data), current_app.config)
        if full is not None:
            limits.record_drop(conn, serial, len(data), delivery.name, error.reason, full, None,
                               now)
        else:
            qname = quarantine.record(conn, delivery, error.as_dict(), serial, now)
    if full is not None:  # still told why the file is bad, so it stops sending it
        return APIError(422, "invalid_day_file", error.reason, field=error.field,
                        line=error.line, quarantined=False, note=full)
    row = quarantine.row(conn, ingest_id)
    quarantine.place(layout(current_app.config).quarantine, qname, quarantine.reason_doc(row),
                     data=data)
    return APIError(422, "invalid_day_file", error.reason, field=error.field, line=error.line,
                    id=ingest_id, status_url=_status_url(ingest_id))


def check_disk() -> None:
    """No upload while the drop folder's disk is below its reserve (507)."""
    _refused(limits.disk_refusal(layout(current_app.config).drop, current_app.config))


def _parsed(data: bytes, serial: str) -> tuple[Day | None, DayFileError | None]:
    try:
        return parse_checked(data, _zone_for(serial)), None
    except DayFileError as exc:
        return None, exc


def take_day(serial: str, data: bytes, doc: dict | None = None) -> dict:
    """One day file for `serial` (whose key came with the request): spent from the meter's
    allowance, checked, then written into the drop folder (the 202 answer's body) or
    quarantined; an APIError otherwise. The per-meter routes and a concentrator's batch
    (tempest/web/concentrator.py) both come through here, so both check alike. `doc` is the
    file already parsed as JSON, when the caller had to read it to find the serial; without
    it the file is decoded once, by the parse (a JSON decode of a 42 kB day is a quarter of
    its parse), and only a file the parse refuses is decoded again to answer as before."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if len(data) > limit:  # a file in a batch; a single upload is held to it by werkzeug
        raise APIError(413, "too_large", f"the file is larger than the {limit}-byte limit")
    drop = layout(current_app.config).drop
    _spend(serial, len(data))
    day, error = _parsed(data, serial) if doc is None else (None, None)
    if day is not None and day.shape == "current":
        claimed = day.serial  # the file's own "serial", read by the one parse
    else:  # as before the parse: 400 for a body that is no JSON object, then its serial
        if doc is None:
            doc = auth.json_object(data)
        claimed = doc.get("serial")
    if claimed is not None and claimed != serial:
        raise APIError(403, "forbidden", auth.OTHER_SERIAL.format(what="the file's serial"),
                       field="serial")
    if day is None and error is None:
        day, error = _parsed(data, serial)
    if error is not None:
        raise _quarantine_upload(serial, data, error) from error
    ingest_id = names.new_id()
    # The parse travels with the file, so the ingest worker need not do it again.
    kept = verdict.blob(hashlib.sha256(data).hexdigest(), day)
    if kept is not None:
        with transaction(get_db()) as conn:
            verdict.write(conn, ingest_id, kept, time.time())
    try:
        dropbox.write_atomic(drop, names.upload_name(serial, day.reading_day, ingest_id), data)
    except OSError as exc:
        # Disk full, folder gone: the meter keeps the file and retries (a 5xx says so).
        log.error("could not write an upload into %s: %s", drop, exc)
        raise APIError(503, "unavailable", "Tempest cannot take the file right now; "
                       "send it again later") from exc
    return {"id": ingest_id, "status": "queued", "status_url": _status_url(ingest_id),
            "serial": serial, "reading_day": day.reading_day}


def accept_day_file():
    """Shared by both upload routes."""
    serial = auth.meter_serial()
    check_disk()
    data = request.get_data(cache=True)
    return jsonify(take_day(serial, data)), 202


@bp.post("/api/v1/days")
def upload_day():
    return accept_day_file()


def _queued(ingest_id: str) -> str | None:
    """The serial of an upload still waiting in the drop folder, if it is there."""
    suffixes = (f".up-{ingest_id}.json", f".re-{ingest_id}.json")
    drop = layout(current_app.config).drop
    try:
        entries = os.scandir(drop)
    except FileNotFoundError:
        return None
    with entries:
        for entry in entries:
            if entry.name.endswith(suffixes):
                stem = entry.name[: -len(suffixes[0])]
                return stem.rsplit("_", 1)[0]
    return None


@bp.get("/api/v1/ingest/<ingest_id>")
def ingest_status(ingest_id: str):
    if not names.valid_id(ingest_id):
        raise not_found("no such ingest id")
    conn = get_db()
    row = read_ingest.delivered_file(conn, ingest_id)
    if row is None:
        serial = _queued(ingest_id)
        if serial is None:
            # The worker may have taken the file from the drop folder between the two looks:
            # then its row is there now. Only a third miss means the id is unknown.
            row = read_ingest.delivered_file(conn, ingest_id)
            if row is None:
                raise not_found("no such ingest id")
        else:
            auth.require_meter(serial)
            return jsonify({"id": ingest_id, "status": "queued", "serial": serial})
    auth.require_meter(row["serial"])
    body = {"id": ingest_id, "status": row["outcome"], "serial": row["serial"],
            "reading_day": row["reading_day"], "source": row["source"],
            "day_status": row["day_status"], "accounted": row["accounted"],
            "expected": row["expected"], "received_at": iso(row["delivered_at"]),
            "ingested_at": iso(row["ingested_at"])}
    if row["outcome"] == "quarantined":
        q = quarantine.row(conn, ingest_id)
        body.update(reason=q["reason"], field=q["field"] or "", line=q["line"])
    return jsonify(body)
