"""Who is asking: a meter (its `x-api-key`) or an admin (the admin token).

A meter key writes only its own serial. The admin token comes from TEMPEST_ADMIN_TOKEN, sent
as `Authorization: Bearer <token>` or `x-admin-token`; with none configured, admin routes are
closed (403). Keys and tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import json

from flask import current_app, request

from tempest import keys
from tempest.concentrators import registry as concentrators
from tempest.db import get_db
from tempest.web.errors import APIError, bad_request


def _admin_token_sent() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.headers.get("x-admin-token")


def is_admin() -> bool:
    configured = current_app.config.get("ADMIN_TOKEN")
    sent = _admin_token_sent()
    if not configured or not sent:
        return False
    return hmac.compare_digest(str(configured).encode(), sent.encode())


# A seed fleet shared one short key (`12345` in its examples). Tempest never issues such a key,
# so one is never taken; the refusal says what to do rather than only "invalid".
SEED_SHARED_KEY = ("this key is too short to be a Tempest key ({rule}, one per meter): it "
                   "looks like a seed fleet's shared key. Give every meter a key of its own "
                   "with `meter migrate-seed` (docs/migrate-from-seed.md)")


# A key used for another serial: perhaps one key shared by a fleet, as the seed's was.
OTHER_SERIAL = ("this key does not belong to {what}; every meter needs a key of its own (a "
                "fleet sharing one, as the seed's did: docs/migrate-from-seed.md)")


def meter_serial(required: bool = True) -> str | None:
    """The serial whose key came with the request (401 when `required` and there is none)."""
    sent = request.headers.get("x-api-key")
    serial = keys.serial_for(get_db(), sent)
    if serial is None and required:
        if sent and len(sent) < keys.MIN_KEY_LENGTH:  # never a key Tempest issued
            raise APIError(401, "unauthorized", SEED_SHARED_KEY.format(rule=keys.KEY_RULE),
                           see="docs/migrate-from-seed.md")
        raise APIError(401, "unauthorized", "a valid x-api-key header is required")
    return serial


def require_meter(serial: str | None) -> None:
    """The request's key must belong to `serial`, or be the key of the concentrator `serial`
    is registered behind, which delivered its files (the admin token also passes)."""
    if is_admin():
        return
    own = meter_serial(required=False)
    if own is None:
        cid = concentrators.id_for(get_db(), request.headers.get("x-api-key"))
        if cid is None:
            meter_serial()  # 401, with the reason that fits the key sent
        if serial is None or concentrators.behind(get_db(), cid, {serial})[serial] != cid:
            raise APIError(403, "forbidden", "that meter is not registered behind this "
                           "concentrator")
        return
    if serial is not None and own != serial:
        raise APIError(403, "forbidden", "this key does not belong to that meter")


def require_admin() -> None:
    if is_admin():
        return
    if not current_app.config.get("ADMIN_TOKEN"):
        raise APIError(403, "forbidden", "admin routes are closed: no admin token is configured "
                       "(set TEMPEST_ADMIN_TOKEN)")
    if _admin_token_sent():
        raise APIError(401, "unauthorized", "the admin token is not valid")
    if meter_serial(required=False):
        raise APIError(403, "forbidden", "admin only: a meter key cannot do this")
    raise APIError(401, "unauthorized", "the admin token is required "
                   "(Authorization: Bearer <token>)")


def json_object(data: bytes | None = None) -> dict:
    """The request body as a JSON object (400 otherwise; 413 past the size limit)."""
    if data is None:
        data = request.get_data(cache=True)
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise bad_request("the body is not JSON") from exc
    if not isinstance(doc, dict):
        raise bad_request("the body must be a JSON object")
    return doc
