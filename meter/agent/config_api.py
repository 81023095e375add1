"""`POST /config`: replace the meter's config (key required).

The new config is checked with the same code the meter loads it with (meter.config.from_dict);
a bad one gets 400 naming the field (never quoting a secret value: core.masking) and nothing
changes. One that changes where the meter delivers (tempest_url, the rsync target) gets 403
unless the config in force, the inventory's, sets agent.allow_redirect. A good one is written
atomically and the previous one kept as config.json.last-good (configstore.py). Cron's next
tick and this agent's next request use it; a changed agent.host/port needs an agent restart.
"""

from __future__ import annotations

import errno
import json
import logging

from flask import Blueprint, jsonify, request

from core import masking
from meter.agent import configstore, context
from meter.agent.auth import key_required
from meter.agent.errors import AgentError
from meter.config import ConfigError
from meter.delivery import settings

bp = Blueprint("config_api", __name__)
log = logging.getLogger("meter.agent")


def _body() -> dict:
    try:
        doc = json.loads(request.get_data(cache=True) or b"")
    except (ValueError, RecursionError) as exc:
        raise AgentError(400, "invalid_config", "the body is not JSON", field="") from exc
    if not isinstance(doc, dict):
        raise AgentError(400, "invalid_config", "a config is a JSON object", field="")
    return doc


@bp.post("/config")
@key_required
def post_config():
    path = context.config_path()
    current = context.key_config()  # the config in force (or its last good version)
    if current is None:
        raise AgentError(503, "config_unusable", "neither the config nor its last good "
                         "version can be read")
    body = _body()
    new_raw = configstore.carry_secrets(current.raw, body)
    try:
        new = configstore.check(current, new_raw)
        configstore.check_destinations(current.raw, new_raw)
    except ConfigError as exc:
        # Masked here too, whatever raised it: the answer goes back over the network.
        reason = masking.mask(exc.reason, body, current.raw)
        log.warning("refused a new config: %s: %s", exc.field or "(config)", reason)
        raise AgentError(400, "invalid_config", reason, field=exc.field) from exc
    except configstore.RedirectRefused as exc:
        log.warning("refused a new config: it changes %s", exc.field)
        raise AgentError(403, "redirect_refused", exc.reason, field=exc.field) from exc
    try:
        configstore.replace(path, new_raw)
    except OSError as exc:
        raise AgentError(507 if exc.errno == errno.ENOSPC else 500, "not_written",
                         f"the config could not be written ({exc.strerror}); the old one is "
                         "still in force") from exc
    before, after = settings.agent(current), settings.agent(new)
    log.info("config replaced: %s -> %s", current.hash(), new.hash())
    return jsonify({
        "status": "applied",
        "serial": new.serial,
        "config_hash": new.hash(),
        "previous_hash": current.hash(),
        "last_good": path.name + context.LAST_GOOD_SUFFIX,
        "restart_needed": (before.host, before.port) != (after.host, after.port),
    })
