"""A data concentrator's batches: many meters' heartbeats, or sealed day files, in one request.

`POST /api/v1/concentrator/heartbeats` takes `{"heartbeats": [<heartbeat>, ...]}` and
`POST /api/v1/concentrator/days` takes `{"files": ["<day file text>", ...]}` (each file's text
as a JSON string: decoding it gives back its exact bytes, see docs/concentrator.md). The key
(`x-api-key`) is the concentrator's own: it opens only these routes, and only for the meters
registered behind it. Each item is checked exactly as the per-meter route checks it (the same
functions: heartbeats.take_heartbeat, uploads.take_day) and gets its own verdict, so one bad
item costs nothing else: the answer is 200 with one verdict per item, in order.
"""

from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify, request

from tempest import names
from tempest.concentrators import registry as concentrators
from tempest.db import get_db, transaction
from tempest.web import auth
from tempest.web.errors import APIError, bad_request
from tempest.web.heartbeats import server_time, take_heartbeat
from tempest.web.uploads import check_disk, take_day

bp = Blueprint("concentrator", __name__, url_prefix="/api/v1/concentrator")

NOT_BEHIND = ("meter {serial} is not registered behind this concentrator; its files and "
              "heartbeats go through the concentrator it is registered behind")


def _concentrator() -> str:
    cid = concentrators.id_for(get_db(), request.headers.get("x-api-key"))
    if cid is None:
        raise APIError(401, "unauthorized", "a valid concentrator key is required in x-api-key "
                       "(a meter's own key opens only the per-meter routes)")
    return cid


def _items(field: str) -> list:
    """The batch's list under `field`: 413 past the batch limits, 400 for a bad body."""
    cfg = current_app.config
    limit = cfg["CONCENTRATOR_MAX_BATCH_BYTES"]
    request.max_content_length = limit  # werkzeug stops reading past it (413)
    if request.content_length is not None and request.content_length > limit:
        raise APIError(413, "too_large", f"the batch is larger than the {limit}-byte limit "
                       "(TEMPEST_CONCENTRATOR_MAX_BATCH_BYTES): send fewer items per batch")
    body = auth.json_object()
    items = body.get(field)
    if not isinstance(items, list):
        raise bad_request(f"a batch is {{\"{field}\": [...]}}: {field} must be a list", field)
    most = cfg["CONCENTRATOR_MAX_BATCH_ITEMS"]
    if len(items) > most:
        raise APIError(413, "too_large", f"{len(items)} items in one batch, more than "
                       f"TEMPEST_CONCENTRATOR_MAX_BATCH_ITEMS ({most}): send fewer per batch",
                       field=field)
    return items


def _verdict(index: int, status: int, body: dict) -> dict:
    """An item's verdict: the status and body the per-meter route would have answered."""
    if 200 <= status < 300:
        verdict = "accepted"
    elif status in (429, 503, 507) or status >= 500:
        verdict = "retry"  # Tempest's state, not the item's: send it again later
    else:
        verdict = "refused"
    return {"index": index, "verdict": verdict, "http": status, **body}


def _refusal(index: int, exc: APIError, serial: str | None) -> dict:
    body = {"error": exc.error, "reason": exc.reason, **exc.extra}
    if serial is not None:
        body.setdefault("serial", serial)
    if "Retry-After" in exc.headers:
        body["retry_after"] = int(exc.headers["Retry-After"])
    return _verdict(index, exc.status, body)


def _answer(cid: str, verdicts: list[dict], now: float, **extra):
    counts = {v: sum(1 for d in verdicts if d["verdict"] == v)
              for v in ("accepted", "refused", "retry")}
    concentrators.seen(get_db(), cid, now)
    return jsonify({"concentrator": cid, **counts, **extra, "items": verdicts})


def _check_behind(cid: str, serial: object, owners: dict) -> str:
    """The item's serial, if the concentrator may speak for it (APIError otherwise)."""
    if not names.valid_serial(serial):
        raise bad_request("every item in a batch names its meter in serial", "serial")
    if owners.get(serial) != cid:
        raise APIError(403, "forbidden", NOT_BEHIND.format(serial=serial), field="serial")
    return serial


def _owners(cid: str, claimed: list) -> dict:
    wanted = {s for s in claimed if names.valid_serial(s)}
    return concentrators.behind(get_db(), cid, wanted)


@bp.post("/heartbeats")
def batch_heartbeats():
    cid = _concentrator()
    items = _items("heartbeats")
    now = time.time()
    owners = _owners(cid, [i.get("serial") for i in items if isinstance(i, dict)])
    verdicts = []
    with transaction(get_db()):  # one commit for the batch; a refused item writes nothing
        for index, item in enumerate(items):
            serial = item.get("serial") if isinstance(item, dict) else None
            try:
                if not isinstance(item, dict):
                    raise bad_request("a heartbeat is a JSON object", f"heartbeats[{index}]")
                take_heartbeat(_check_behind(cid, serial, owners), item, now, batched=True)
            except APIError as exc:
                verdicts.append(_refusal(index, exc,
                                         serial if names.valid_serial(serial) else None))
                continue
            verdicts.append(_verdict(index, 200, {"serial": serial, "status": "ok"}))
    return _answer(cid, verdicts, now, server_time=server_time(now))


def _decode(index: int, item: object) -> tuple[bytes, dict]:
    """A file's exact bytes and its JSON, or an APIError naming what is wrong with it."""
    if not isinstance(item, str):
        raise bad_request("each file is the text of one day file, as a JSON string",
                          f"files[{index}]")
    try:
        data = item.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise bad_request("the file is not UTF-8 text", f"files[{index}]") from exc
    return data, auth.json_object(data)


@bp.post("/days")
def batch_days():
    cid = _concentrator()
    check_disk()  # 507 for the whole batch, as for one upload
    items = _items("files")
    decoded: list[tuple[bytes, dict] | APIError] = []
    for index, item in enumerate(items):
        try:
            decoded.append(_decode(index, item))
        except APIError as exc:
            decoded.append(exc)
    owners = _owners(cid, [d[1].get("serial") for d in decoded if isinstance(d, tuple)])
    verdicts = []
    for index, entry in enumerate(decoded):
        serial = entry[1].get("serial") if isinstance(entry, tuple) else None
        shown = serial if names.valid_serial(serial) else None
        try:
            if isinstance(entry, APIError):
                raise entry
            data, doc = entry
            body = take_day(_check_behind(cid, serial, owners), data, doc)
        except APIError as exc:
            verdicts.append(_refusal(index, exc, shown))
            continue
        verdicts.append(_verdict(index, 202, body))
    return _answer(cid, verdicts, time.time())

