"""A per-meter day upload (`POST /api/v1/days`) taken without Flask's request machinery, when
all is well.

The same steps as the Flask route (tempest/web/uploads.py take_day), in an order that writes
nothing until the file is known good: the key's meter, the disk reserve, the one parse (a
current-shape day naming the key's serial), then the hourly allowance spent and the parse's
verdict left for ingest (one transaction), the file written durably into the drop folder
(fsync, rename, fsync the folder: an accepted upload survives a crash), and the same 202
answer.

Anything else -- no key or a bad one, a body past the limit, a disk below its reserve, a file
the parse refuses or that names another serial, an allowance used up, a store error before the
spend -- goes to the Flask route untouched (nothing was written or spent), which answers it in
its one shape (tempest/web/errors.py). A refusal there costs a second parse; an accepted upload
costs one. Only a failed write into the drop folder, after the spend, is answered here: the
same 503 the Flask route gives, so the allowance is not spent twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time

from flask import Flask

from core.dayfile_reader import Day, DayFileError
from tempest import keys, names
from tempest.db import transaction
from tempest.ingest import dropbox, verdict
from tempest.ingest.process import parse_checked
from tempest.quotas import limits
from tempest.settings import layout

ROUTE = "/api/v1/days"
log = logging.getLogger("tempest.web")


def _json(doc: dict) -> bytes:
    # What flask.jsonify writes (compact, ASCII, keys in order, a newline).
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


def _checked(config, drop, conn, key: str, data: bytes) -> tuple[str, Day] | None:
    """(serial, day) of a good upload for the key's own meter, or None (Flask decides)."""
    meter = keys.meter_for(conn, key)
    if meter is None:
        return None
    serial, zone = meter
    if limits.disk_refusal(drop, config) is not None:
        return None
    try:
        day = parse_checked(data, zone or config["LEGACY_TIMEZONE"])
    except DayFileError:
        return None
    if day.shape != "current" or day.serial != serial:
        return None
    return serial, day


def _spent(app: Flask, conn, serial: str, data: bytes, day: Day, ingest_id: str) -> bool:
    """The allowance spent and the parse's verdict left for ingest, in one transaction."""
    kept = verdict.blob(hashlib.sha256(data).hexdigest(), day)
    now = time.time()
    with transaction(conn):
        refusal = limits.take_upload(conn, serial, len(data), app.config, now)
        if refusal is None:
            verdict.write(conn, ingest_id, kept, now)
    return refusal is None


def answer(app: Flask, environ: dict, key: str, data: bytes) -> tuple[str, bytes] | None:
    """(status line, JSON body) once the upload is taken (or its write failed after the
    spend); None when nothing was written and the Flask route is to answer it."""
    pool = app.extensions["tempest.pool"]
    folders = layout(app.config)  # once: it builds a dozen paths
    try:
        conn = pool.get()
    except Exception:
        return None
    ingest_id = names.new_id()
    try:
        try:
            good = _checked(app.config, folders.drop, conn, key, data)
            if good is None or not _spent(app, conn, good[0], data, good[1], ingest_id):
                return None
        except Exception:  # a store error before anything was spent: Flask answers it
            return None
    finally:
        pool.put(conn)
    serial, day = good
    try:
        dropbox.write_atomic(folders.drop, names.upload_name(serial, day.reading_day, ingest_id),
                             data)
    except OSError as exc:
        log.error("could not write an upload into %s: %s", folders.drop, exc)
        return "503 SERVICE UNAVAILABLE", _json(
            {"error": "unavailable", "reason": "Tempest cannot take the file right now; "
             "send it again later"})
    except Exception:  # as the Flask app answers what it did not foresee (errors.py)
        log.exception("unhandled error")
        return "500 INTERNAL SERVER ERROR", _json(
            {"error": "internal_error", "reason": "the server failed; see its log"})
    status_url = f"{environ.get('SCRIPT_NAME', '')}/api/v1/ingest/{ingest_id}"
    return "202 ACCEPTED", _json({"id": ingest_id, "status": "queued", "status_url": status_url,
                                  "serial": serial, "reading_day": day.reading_day})
