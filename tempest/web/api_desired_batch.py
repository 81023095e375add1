"""`PUT /api/v1/desired-configs`: what the deploy tells Tempest about many meters in one call
(the config the inventory gives each, its agent key and address), instead of one
`PUT /api/v1/meters/<serial>/desired-config` per meter.

`{"configs": [{"serial", "config", "source"?, "config_hash"?, "agent_url"?}, ...]}` (admin).
A malformed request (not that shape, a serial twice, more than MAX_ITEMS items) is refused as a
whole, 400 or 413, naming the item and field, and nothing is written. Otherwise each item is
checked as one meter's PUT checks it (the same code: tempest/fleetconfig/registration.py) and
gets its own verdict, in order: `changed`, `unchanged`, or `refused` with the reason (a config
the meter would not load, a bad agent key or address, a meter Tempest does not know: unlike one
meter's PUT, the batch never registers a meter). A refused item writes nothing; the others are
written in one transaction.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from core import masking
from tempest import names
from tempest.db import get_db
from tempest.fleetconfig import desired, registration
from tempest.settings import layout
from tempest.web import auth
from tempest.web.errors import APIError, bad_request

bp = Blueprint("api_desired_batch", __name__, url_prefix="/api/v1/desired-configs")

# Items per request: a few hundred meters' configs stay well under the body limit (2 MiB by
# default); the tempest_registration role sends a bigger batch of meters in several calls.
MAX_ITEMS = 500
ITEM_FIELDS = ("serial", *registration.FIELDS)
UNKNOWN = ("no meter {serial}: register it first (`tempest meters add`, or POST "
           "/api/v1/meters); this call sets only the config of meters Tempest knows")


def _items(body: dict) -> list[dict]:
    """The batch's items, each an object with a valid, unique serial (400/413 otherwise)."""
    extra = sorted(set(body) - {"configs"})
    if extra:
        raise bad_request(f"unknown field {extra[0]!r}: the body is {{\"configs\": [...]}}",
                          extra[0])
    items = body.get("configs")
    if not isinstance(items, list):
        raise bad_request("the body is {\"configs\": [...]}: configs must be a list", "configs")
    if len(items) > MAX_ITEMS:
        raise APIError(413, "too_large", f"{len(items)} configs in one request, more than "
                       f"{MAX_ITEMS}: send at most {MAX_ITEMS} per request", field="configs")
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        where = f"configs[{index}]"
        if not isinstance(item, dict):
            raise bad_request(f"{where} must be a JSON object {{serial, config, ...}}", where)
        extra = sorted(set(item) - set(ITEM_FIELDS))
        if extra:
            raise bad_request(f"{where}: unknown field {extra[0]!r} (an item has "
                              f"{', '.join(ITEM_FIELDS)})", f"{where}.{extra[0]}")
        serial = item.get("serial")
        if not names.valid_serial(serial):
            raise bad_request(f"{where}.serial must be a meter's serial (1-64 of A-Z a-z 0-9 "
                              "_ . -)", f"{where}.serial")
        if serial in first:
            raise bad_request(f"{where}.serial: meter {serial} is also configs[{first[serial]}]"
                              "; send each meter once", f"{where}.serial")
        first[serial] = index
    return items


def _refused(index: int, serial: str, error: str, reason: str, field: str | None = None):
    extra = {"field": field} if field else {}
    return {"index": index, "serial": serial, "verdict": "refused", "error": error,
            "reason": reason, **extra}


@bp.put("")
def put_desired_configs():
    auth.require_admin()
    items = _items(auth.json_object())
    verdicts: list[dict | None] = [None] * len(items)
    checked: list[tuple[int, registration.Registration]] = []
    for index, item in enumerate(items):
        serial = item["serial"]
        try:
            checked.append((index, registration.check(serial, item)))
        except desired.BadDesiredConfig as exc:
            verdicts[index] = _refused(index, serial, "bad_request",
                                       masking.mask(exc.reason, item), exc.field)
    secrets = layout(current_app.config).secrets
    stored = registration.store(get_db(), secrets, [reg for _, reg in checked], create=False)
    for index, reg in checked:
        changed = stored[reg.serial]
        if changed is None:
            verdicts[index] = _refused(index, reg.serial, "not_found",
                                       UNKNOWN.format(serial=reg.serial), "serial")
        else:
            verdicts[index] = {"index": index, "serial": reg.serial,
                               "verdict": "changed" if changed else "unchanged",
                               "config_hash": reg.config_hash}
    counts = {v: sum(1 for d in verdicts if d["verdict"] == v)
              for v in ("changed", "unchanged", "refused")}
    return jsonify({**counts, "items": verdicts})
