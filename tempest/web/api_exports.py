"""`/api/v1/exports/...`: NEM12 and CSV downloads, streamed (docs/exports.md)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from core import civil
from tempest import db, names
from tempest.exports import csv_rows, nem12
from tempest.settings import layout
from tempest.web.errors import bad_request
from tempest.web.params import day_arg

bp = Blueprint("api_exports", __name__, url_prefix="/api/v1/exports")


def _args() -> tuple[str, str, list[str] | None]:
    first, last = day_arg("from"), day_arg("to")
    if first is None or last is None:
        raise bad_request("from and to (YYYY-MM-DD) are required", "from" if not first else "to")
    if last < first:
        raise bad_request("to is before from", "to")
    widest = int(current_app.config["EXPORT_MAX_DAYS"])
    if civil.parse_day(last) - civil.parse_day(first) + 1 > widest:
        raise bad_request(f"at most {widest} days per download (TEMPEST_EXPORT_MAX_DAYS)", "to")
    serials = [s for part in request.args.getlist("serial") for s in part.split(",") if s]
    for s in serials:
        if not names.valid_serial(s):
            raise bad_request(f"not a serial: {s!r}", "serial")
    return first, last, serials or None


def _download(make, filename: str) -> Response:
    """Stream on a connection of the download's own: the request's is returned to the pool
    before a streamed body is finished."""
    path = layout(current_app.config).database

    def body():
        conn = db.connect(path)
        try:
            yield from make(conn)
        finally:
            conn.close()

    return Response(body(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/nem12")
def nem12_download():
    first, last, serials = _args()
    config = current_app.config
    return _download(lambda conn: nem12.export(conn, config, first, last, serials),
                     f"tempest_{first}_{last}.nem12.csv")


@bp.get("/csv")
def csv_download():
    first, last, serials = _args()
    return _download(lambda conn: csv_rows.export(conn, first, last, serials),
                     f"tempest_{first}_{last}.csv")
