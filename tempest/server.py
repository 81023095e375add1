"""`tempest serve`: the web side (a threaded WSGI server) and the ingest worker in one process.

Good for a laptop, a Pi or a lab; production runs gunicorn and one `tempest ingest --watch`
(docs/operations.md). SIGTERM and SIGINT stop both cleanly: the worker finishes its batch.
"""

from __future__ import annotations

import logging
import signal

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from tempest.ingest.service import IngestService
from tempest.sinks.service import SinkService

log = logging.getLogger("tempest")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # --no-access-log
        pass


class _Stop(Exception):
    pass


def _raise_stop(*_):
    raise _Stop()


def run(app: Flask, host: str, port: int, *, ingest: bool = True,
        access_log: bool = True) -> None:
    handler = WSGIRequestHandler if access_log else _QuietHandler
    server = make_server(host, port, app, threaded=True, request_handler=handler)
    service = IngestService(app.config) if ingest else None
    sinks = SinkService(app.config) if ingest else None  # delivers beside the ingest worker
    if service is not None:
        try:
            service.start()
            sinks.start()
        except BaseException:
            server.server_close()
            raise
    # Request threads must not keep the process alive after a stop.
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    log.info("Tempest listening on http://%s:%d/ (ingest %s)", host, server.port,
             "on" if service else "off")
    try:
        server.serve_forever()
    except _Stop:
        log.info("stopping")
    finally:
        server.server_close()
        if service is not None:
            service.stop()
            sinks.stop()
