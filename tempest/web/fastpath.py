"""A per-meter heartbeat (and day upload: tempest/web/fastupload.py) answered without Flask's
request machinery, when all is well.

At 100,000 meters a heartbeat a minute each is about 1,700 requests a second, the bulk of
Tempest's per-meter load, and most of one's CPU went to Flask's request and app contexts, the
session it opens on every request, URL matching and the response object, not to the heartbeat
(docs/scaling.md, "Request cost"). This WSGI middleware takes only a plain, valid heartbeat on
the per-meter routes: a POST with a Content-Length within the limit, a meter key Tempest
knows, a JSON object naming that key's serial, every field passing registry.check(). It records
it with the same function the Flask route uses (registry.record, one transaction) and answers
the same bytes (200 {"status": "ok", "server_time"}, CORS open). Anything else -- no key, a bad
key or body, a refused field, a store error, OPTIONS, another route -- goes to the Flask app
untouched, with the body it sent put back, so every refusal keeps its one shape and status
(tempest/web/errors.py); nothing was written before it is handed on.
"""

from __future__ import annotations

import io
import json
import time

from flask import Flask

from tempest import keys, registry
from tempest.web import beatbuffer, fastupload
from tempest.web.heartbeats import server_time

ROUTES = frozenset(("/api/v1/heartbeats", "/heartbeat", "/heartbeats"))
_HEADERS = [("Content-Type", "application/json"), ("Access-Control-Allow-Origin", "*")]


_answered: tuple[int, bytes] = (-1, b"")  # the last answer and its second


def _answer(now: float) -> bytes:
    """What flask.jsonify writes for this dict (compact, ASCII, keys in order, a newline).
    The time is to the second, so the bytes are made once a second, not once a heartbeat."""
    global _answered
    second, answer = _answered
    if second != int(now):
        answer = json.dumps({"status": "ok", "server_time": server_time(now)},
                            separators=(",", ":")).encode() + b"\n"
        _answered = (int(now), answer)  # one assignment: a thread reads either pair whole
    return answer


def _body(environ: dict, limit: int) -> bytes | None:
    """The request's body when it is a plain one within the limit, else None (Flask decides)."""
    length = environ.get("CONTENT_LENGTH", "")
    if not length.isdigit() or int(length) > limit or environ.get("HTTP_TRANSFER_ENCODING"):
        return None
    data = environ["wsgi.input"].read(int(length))
    environ["wsgi.input"] = io.BytesIO(data)  # read once here: Flask may read it again
    return data if len(data) == int(length) else None


def _recorded(app: Flask, key: str, data: bytes, now: float) -> bool:
    """True once the heartbeat is checked and stored; False (nothing written) otherwise."""
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        return False
    if not isinstance(body, dict):
        return False
    pool = app.extensions["tempest.pool"]
    try:
        # Opening a connection can fail too (a full disk, the store away): Flask answers it.
        conn = pool.get()
    except Exception:
        return False
    try:
        serial = keys.serial_for(conn, key)
        if serial is None or body.get("serial") != serial:
            return False
        buffer = app.extensions.get("tempest.beatbuffer")
        try:
            if buffer is None:
                registry.record(conn, serial, body, now)
            else:  # written within TEMPEST_HEARTBEAT_FLUSH_SECONDS (tempest/web/beatbuffer.py)
                buffer.add(serial, body, registry.check(body), now)
        except registry.BadHeartbeat:
            return False
        return True
    except Exception:  # a store error: the Flask route tries again and answers it (503...)
        return False
    finally:
        pool.put(conn)


def wrap(app: Flask, inner):
    """The WSGI callable to install as app.wsgi_app, in front of `inner`."""
    config = app.config  # read on each request: a test may change a limit after start
    flush = float(config.get("HEARTBEAT_FLUSH_SECONDS") or 0)
    if flush > 0:
        app.extensions["tempest.beatbuffer"] = beatbuffer.Buffer(
            app.extensions["tempest.pool"].path, flush)

    def wsgi(environ, start_response):
        key = environ.get("HTTP_X_API_KEY")
        path = environ.get("PATH_INFO")
        upload = path == fastupload.ROUTE
        if environ.get("REQUEST_METHOD") != "POST" or not key or not (upload or path in ROUTES):
            return inner(environ, start_response)
        data = _body(environ, int(config["MAX_CONTENT_LENGTH"]))
        if data is None:
            return inner(environ, start_response)
        if upload:  # a day file (tempest/web/fastupload.py)
            taken = fastupload.answer(app, environ, key, data)
            if taken is None:
                return inner(environ, start_response)
            status, answer = taken
        else:
            now = time.time()
            if not _recorded(app, key, data, now):
                return inner(environ, start_response)
            status, answer = "200 OK", _answer(now)
        start_response(status, [*_HEADERS, ("Content-Length", str(len(answer)))])
        return [answer]

    wsgi.inner = inner  # the Flask app alone (a test compares the two answers)
    return wsgi
