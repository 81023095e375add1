"""`meter agent`: serve the agent with werkzeug's threaded server until SIGTERM or SIGINT.

Enough for a Pi and for the lab (many agents on one machine, each on its own loopback
address). For production behind systemd, gunicorn runs the same app; see docs/agent-api.md.
"""

from __future__ import annotations

import logging
import signal
import sys

from flask import Flask
from werkzeug.serving import make_server

log = logging.getLogger("meter.agent")


class _Stop(Exception):
    pass


def _raise_stop(*_):
    raise _Stop()


def run(app: Flask, host: str, port: int) -> None:
    server = make_server(host, port, app, threaded=True)
    server.daemon_threads = True  # a hanging request must not keep a stopped agent alive
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    # Printed, not logged: it is the line a supervisor or a test waits for, at any log level.
    print(f"meter agent listening on http://{host}:{server.port}/", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except _Stop:
        log.info("meter agent stopping")
    finally:
        server.server_close()
