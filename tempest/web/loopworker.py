"""A gunicorn worker for a large per-meter fleet:
`gunicorn -k tempest.web.loopworker.LoopWorker tempest.wsgi:app`.

At 100,000 meters the heartbeats alone are about 1,700 requests a second, each on a TCP
connection of its own, and under gunicorn's sync worker most of one's CPU is the server's,
not Tempest's: accepting, reading and parsing the request in Python and closing it cost 0.3
CPU-ms, against 0.06 ms for the heartbeat itself (docs/scaling.md, "Request cost"). This
worker keeps gunicorn as the process manager (its arbiter, signals, --workers, --bind,
graceful restarts) and replaces the per-connection work: one uvloop event loop a process
accepts and reads every connection, httptools (C) parses HTTP/1.1, and each complete request
is handed to the same WSGI app as a plain WSGI call.

Which requests run where:
- A heartbeat (a POST on the per-meter heartbeat routes, tempest/web/fastpath.py) runs on the
  loop itself: it is checked, buffered or written, and answered in well under a millisecond,
  without a thread switch.
- Everything else (day uploads, with their fsyncs; the API, the UI, exports that stream) runs
  in a small thread pool (gunicorn's --threads, at least 4), so a slow request or a disk wait
  never stops the loop; its answer goes back through the loop with the socket's flow control,
  so a large export is not held in memory.

It writes no access log (at 1,700 requests a second a line each would cost about as much as the
heartbeat it records); the heartbeat history and the ingest log are the record. Like the sync
worker, every answer ends its connection (`Connection: close`: meters open one
a request). A request that is not HTTP/1.1 is answered 400, a head past gunicorn's limits 431,
a body past Tempest's MAX_CONTENT_LENGTH 413 (read no further), each with a JSON reason; a
client that does not send a whole request within gunicorn's --timeout is dropped.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate

import httptools
import uvloop
from gunicorn import util
from gunicorn.workers.base import Worker

from tempest.web import fastpath

_MIN_THREADS = 4
_LINGER_S = 5.0
_DEFAULT_BODY_LIMIT = 16 * 1024 * 1024
_REASONS = {400: "Bad Request", 413: "Content Too Large", 431: "Request Header Fields Too Large",
            500: "Internal Server Error"}
_CODES = {400: "bad_request", 413: "too_large", 431: "request_header_fields_too_large",
          500: "internal_error"}


class LoopWorker(Worker):
    """A gunicorn worker: one uvloop event loop for every connection of this process."""

    def run(self) -> None:
        if self.cfg.accesslog:
            self.log.warning("the event-loop worker writes no access log (--access-logfile): "
                             "at a fleet's rates a line a request costs as much as the request")
        self.pool = ThreadPoolExecutor(max(self.cfg.threads, _MIN_THREADS),
                                       thread_name_prefix="tempest-request")
        config = getattr(self.wsgi, "config", {})  # a Flask app: Tempest's upload limit
        self.body_limit = int(config.get("MAX_CONTENT_LENGTH") or _DEFAULT_BODY_LIMIT)
        try:
            uvloop.run(self._serve())
        finally:
            self.pool.shutdown(wait=True)

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        self.open: set[_Connection] = set()
        servers = []
        for listener in self.sockets:
            address = listener.sock.getsockname()
            servers.append(await loop.create_server(
                lambda a=address: _Connection(self, a), sock=listener.sock,
                backlog=self.cfg.backlog))
        while self.alive:  # SIGTERM clears it (gunicorn's handler); SIGQUIT/SIGINT exit at once
            self.notify()
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                break
            await asyncio.sleep(1.0)
        for server in servers:
            server.close()
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while self.open and time.monotonic() < deadline:  # let requests under way finish
            self.notify()
            await asyncio.sleep(0.05)


class _Connection(asyncio.Protocol):
    """One client connection: read one request, answer it, close."""

    def __init__(self, worker: LoopWorker, server: tuple):
        self.worker, self.server = worker, server
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_bytes = 0
        self.body: list[bytes] = []
        self.body_bytes = 0
        self.state = "reading"  # -> "answering" -> "done" (answered) -> "closed"
        self.writable = threading.Event()
        self.writable.set()

    # -- asyncio's side ----------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.worker.open.add(self)
        self.timer = self.loop.call_later(self.worker.cfg.timeout, self._too_slow)

    def connection_lost(self, exc) -> None:
        self.state = "closed"
        self.timer.cancel()
        self.worker.open.discard(self)
        self.writable.set()  # a writer thread waiting on a closed socket gives up

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def data_received(self, data: bytes) -> None:
        if self.state != "reading":
            return  # a second request on this connection: answered requests close it
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            self._refuse(*exc.__context__.args if isinstance(exc.__context__, _Refused)
                         else (400, "the request could not be read"))
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            self._refuse(400, "the request is not valid HTTP/1.1")

    # -- httptools' callbacks ----------------------------------------------------------------

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > self.worker.cfg.limit_request_line:
            raise _Refused(431, "the request line is too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        self.head_bytes += len(name) + len(value)
        cfg = self.worker.cfg
        if len(self.headers) > cfg.limit_request_fields or \
                len(name) + len(value) > cfg.limit_request_field_size:
            raise _Refused(431, "the request's headers are too many or too long")

    def on_headers_complete(self) -> None:
        length = self.parser.get_method() != b"GET" and self._header(b"content-length")
        if length and length.isdigit() and int(length) > self.worker.body_limit:
            # Tempest answers it (413, its JSON reason) without the body: read no further.
            self._dispatch()
            raise _Handled()
        if (self._header(b"expect") or b"").lower() == b"100-continue":
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self.body_bytes += len(body)
        if self.body_bytes > self.worker.body_limit:  # a chunked body with no length
            raise _Refused(413, "the request's body is larger than this server takes")
        self.body.append(body)

    def on_message_complete(self) -> None:
        self._dispatch()

    # -- answering ---------------------------------------------------------------------------

    def _header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def _dispatch(self) -> None:
        if self.state != "reading":
            return
        self.state = "answering"
        self.timer.cancel()
        environ = self._environ()
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] in fastpath.ROUTES:
            self._write_all(self._call(environ))  # a heartbeat: on the loop, no thread switch
        else:
            self.worker.pool.submit(self._answer_in_thread, environ)

    def _environ(self) -> dict:
        url = httptools.parse_url(self.url)
        environ = {
            "REQUEST_METHOD": self.parser.get_method().decode("latin-1"),
            "SCRIPT_NAME": "",
            "PATH_INFO": util.unquote_to_wsgi_str(url.path.decode("latin-1")),
            "QUERY_STRING": (url.query or b"").decode("latin-1"),
            "RAW_URI": self.url.decode("latin-1"),
            "SERVER_NAME": str(self.server[0]), "SERVER_PORT": str(self.server[1]),
            "SERVER_PROTOCOL": f"HTTP/{self.parser.get_http_version()}",
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b"".join(self.body)), "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": self.worker.cfg.workers > 1,
            "wsgi.run_once": False, "wsgi.input_terminated": True,
        }
        peer = self.transport.get_extra_info("peername")
        if peer:
            environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = peer[0], str(peer[1])
        for name, value in self.headers:
            key = name.decode("latin-1").upper().replace("-", "_")
            text = value.decode("latin-1")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = text
                continue
            key = "HTTP_" + key
            environ[key] = f"{environ[key]},{text}" if key in environ else text
        return environ

    def _call(self, environ: dict):
        """The app's answer: (head bytes, body iterable)."""
        started: list = []

        def start_response(status, headers, exc_info=None):
            if exc_info and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]

        try:
            result = self.worker.wsgi(environ, start_response)
        except Exception:
            self.worker.log.exception("Error handling request %s", environ.get("RAW_URI"))
            return _plain(500, "the server failed on this request"), ()
        if not started:  # an app that answers by its first chunk
            result = iter(result)
            first = next(result, b"")
            return self._head(*started), _chain(first, result)
        return self._head(*started), result

    @staticmethod
    def _head(status: str, headers: list) -> bytes:
        lines = [f"HTTP/1.1 {status}"]
        lines += [f"{name}: {value}" for name, value in headers
                  if name.lower() != "connection"]
        lines += [f"Date: {_http_date()}", "Connection: close", "", ""]
        return "\r\n".join(lines).encode("latin-1")

    def _write_all(self, answer) -> None:
        """On the loop: a heartbeat's whole answer, then close."""
        head, body = answer
        try:
            self.transport.write(head + b"".join(body))
        finally:
            _close(body)
        self._end()

    def _answer_in_thread(self, environ: dict) -> None:
        """In a pool thread: call the app, and send each piece through the loop, waiting
        while the socket's buffer is full (an export of millions of rows streams)."""
        head, body = self._call(environ)
        try:
            self._send(head)
            for chunk in body:
                if chunk and not self._send(chunk):
                    break  # the client went away
        except Exception:
            self.worker.log.exception("Error sending the answer to %s", environ.get("RAW_URI"))
        finally:
            _close(body)
            self.loop.call_soon_threadsafe(self._end)

    def _send(self, data: bytes) -> bool:
        self.writable.wait()
        if self.state == "closed":
            return False
        self.loop.call_soon_threadsafe(self._write, data)
        return True

    def _write(self, data: bytes) -> None:
        if self.state != "closed":
            self.transport.write(data)

    def _end(self) -> None:
        """The answer is written: half-close, and let the client close. Closing at once with
        unread bytes in the socket (a refused body still coming) would reset the connection
        and could lose the answer; the client's close, or _LINGER_S, ends it."""
        if self.state == "closed":
            return
        self.state = "done"
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.timer = self.loop.call_later(_LINGER_S, self.transport.abort)
        else:
            self.transport.close()

    def eof_received(self) -> bool:
        """The client closed its side. Keep ours open while its answer is being made."""
        if self.state == "reading":
            self._refuse(400, "the connection ended before a whole request was sent")
        return self.state == "answering"  # True: ours stays open for the answer

    def _refuse(self, status: int, reason: str) -> None:
        if self.state != "reading":
            return
        self.state = "answering"
        self.timer.cancel()
        self.transport.write(_plain(status, reason))
        self._end()

    def _too_slow(self) -> None:
        if self.state == "reading":  # no whole request within --timeout: drop it
            self.transport.abort()


class _Refused(Exception):
    """Raised from a parser callback: answer (status, reason) and close."""


class _Handled(Exception):
    """Raised from a parser callback once the request is dispatched: read no further."""


def _plain(status: int, reason: str) -> bytes:
    """An answer in Tempest's error shape (tempest/web/errors.py) for what never reached it."""
    body = json.dumps({"error": _CODES[status], "reason": reason}).encode()
    return (f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


def _chain(first: bytes, rest):
    yield first
    yield from rest


def _close(body) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()


_date: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The Date header, made once a second."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, formatdate(now, usegmt=True))
    return _date[1]
