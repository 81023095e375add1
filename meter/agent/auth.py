"""The agent key: every state-changing call sends it as `x-api-key`.

The key is the config's `agent.key`. With none set, state-changing calls are closed (the seed's
agent let anyone on the network rewrite the config; this one fails safe). Keys are compared in
constant time and never logged: a refusal logs the route and the caller's address only.
"""

from __future__ import annotations

import functools
import hmac
import logging

from flask import request

from meter.agent import context
from meter.agent.errors import AgentError
from meter.delivery import settings

log = logging.getLogger("meter.agent")


def check_key() -> None:
    cfg = context.key_config()
    expected = settings.agent(cfg).key if cfg is not None else None
    sent = request.headers.get("x-api-key")
    where = f"{request.method} {request.path} from {request.remote_addr}"
    if not expected:
        log.warning("refused %s: no agent key is configured", where)
        raise AgentError(403, "forbidden", "this agent has no key configured (agent.key in the "
                         "config), so it accepts no state-changing calls")
    if not sent:
        log.warning("refused %s: no x-api-key", where)
        raise AgentError(401, "unauthorized", "the x-api-key header with the agent key is "
                         "required")
    if not hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8")):
        log.warning("refused %s: wrong x-api-key", where)
        raise AgentError(401, "unauthorized", "the agent key is not valid")


def key_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        check_key()
        return view(*args, **kwargs)

    return wrapped
