"""A reference MDMS receiver: records every push, de-duplicates by Idempotency-Key, and can be
told to misbehave. For Tempest's tests, and for anyone trying the MDMS push out:

    python -m tempest.sinks.reference_mdms --port 8090 --dir ./var/mdms [--api-key KEY]
    TEMPEST_SINK_MDMS_URL=http://127.0.0.1:8090 tempest serve ...

It answers `POST /ingestions/days`, `/ingestions/picos` and `/ingestions/processing` (the
three formats in docs/sinks.md). Every request, good or bad, is appended to
`<dir>/requests.jsonl` (headers, with the API key masked, the body as text, the answer), and
the accepted keys are read back from it at start, so de-duplication survives a restart:

- a new key: 200 `{"status": "accepted"}`;
- a key seen before with the same body: 200 `{"status": "duplicate"}` (nothing stored twice);
- a key seen before with a different body: 422 (that would be a sender bug; tests assert it
  never happens).

`POST /_admin/mode` with `{"mode": M, "count": N, "match": TEXT}` changes how it answers: `ok`,
`fail` (500), `throttle` (429 with Retry-After: 1), `reject` (400), `stall` (answers 503 only
after --stall-seconds, so the sender times out), `slow` (accepts, after `{"seconds": S}`).
`count` limits it to the next N pushes, `match` to pushes whose Idempotency-Key contains TEXT.
`GET /_admin/requests` lists what it recorded. Both `/_admin/*` routes need the receiver's
`x-api-key` (401 without it or with a wrong one); a receiver started without --api-key keeps
them closed (403), so nobody on the network can make it misbehave or read what it recorded.
Keys are compared in constant time.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PATHS = ("/ingestions/days", "/ingestions/picos", "/ingestions/processing")
MODES = ("ok", "fail", "throttle", "reject", "stall", "slow")
MAX_BODY = 64 * 1024 * 1024


class Receiver:
    """The receiver's state: the log file, accepted keys, and the current mode."""

    def __init__(self, folder: Path, api_key: str | None, stall_seconds: float):
        self.folder = folder
        self.api_key = api_key
        self.stall_seconds = stall_seconds
        self.lock = threading.Lock()
        self.log_path = folder / "requests.jsonl"
        self.keys: dict[str, str] = {}  # idempotency key -> sha256 of the accepted body
        self.count = 0
        self.mode = {"mode": "ok", "count": None, "match": None, "seconds": 0.0}
        folder.mkdir(parents=True, exist_ok=True)
        if self.log_path.exists():
            for line in self.log_path.read_text().splitlines():
                rec = json.loads(line)
                self.count = max(self.count, rec["n"])
                if rec["outcome"] == "accepted":
                    self.keys[rec["idempotency_key"]] = rec["sha256"]

    def key_matches(self, sent: str | None) -> bool:
        """Whether `sent` is this receiver's key (constant time; False when it has none)."""
        if self.api_key is None or sent is None:
            return False
        return hmac.compare_digest(sent.encode(), self.api_key.encode())

    def set_mode(self, doc: dict) -> dict:
        mode = doc.get("mode", "ok")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        count = doc.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive integer")
        seconds = doc.get("seconds") or 0.0
        if not isinstance(seconds, int | float) or not 0 <= seconds <= 3600:
            raise ValueError("seconds must be a number from 0 to 3600")
        with self.lock:
            self.mode = {"mode": mode, "count": count, "match": doc.get("match"),
                         "seconds": seconds}
            return dict(self.mode)

    def misbehaviour(self, key: str) -> tuple[str, float]:
        """The mode this push gets, and its delay (one use of a counted mode)."""
        with self.lock:
            m = self.mode
            if m["mode"] == "ok" or (m["match"] and m["match"] not in key):
                return "ok", 0.0
            if m["count"] is not None:
                m["count"] -= 1
                if m["count"] <= 0:
                    self.mode = {"mode": "ok", "count": None, "match": None, "seconds": 0.0}
            return m["mode"], m["seconds"]

    def accept(self, key: str, digest: str) -> str:
        """accepted | duplicate | conflict, decided under the lock (concurrent pushes)."""
        with self.lock:
            seen = self.keys.get(key)
            if seen is None:
                self.keys[key] = digest
                return "accepted"
            return "duplicate" if seen == digest else "conflict"

    def record(self, rec: dict) -> None:
        with self.lock:
            self.count += 1
            rec = {"n": self.count, "at": time.time(), **rec}
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")

    def requests(self) -> list[dict]:
        with self.lock:
            if not self.log_path.exists():
                return []
            return [json.loads(x) for x in self.log_path.read_text().splitlines()]


class Handler(BaseHTTPRequestHandler):
    receiver: Receiver  # set on the subclass the server uses
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: requests.jsonl is the record
        pass

    def _answer(self, status: int, doc: dict, headers: dict | None = None) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, MAX_BODY))

    def _admin_refused(self) -> bool:
        """Answer a `/_admin/*` call without the receiver's key (True when refused)."""
        if self.receiver.api_key is None:
            self._answer(403, {"error": "forbidden", "reason": "admin routes are closed: "
                               "start the receiver with --api-key to open them"})
            return True
        if not self.receiver.key_matches(self.headers.get("x-api-key")):
            self._answer(401, {"error": "unauthorized",
                               "reason": "the receiver's x-api-key is required"})
            return True
        return False

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path.startswith("/_admin/") and self._admin_refused():
            return None
        if self.path == "/_admin/requests":
            return self._answer(200, {"items": self.receiver.requests()})
        if self.path == "/":
            return self._answer(200, {"entity": "reference-mdms", "mode": self.receiver.mode})
        return self._answer(404, {"error": "not_found"})

    def do_POST(self):  # noqa: N802
        data = self._body()
        if self.path.startswith("/_admin/") and self._admin_refused():
            return None
        if self.path == "/_admin/mode":
            try:
                return self._answer(200, self.receiver.set_mode(json.loads(data or b"{}")))
            except (ValueError, AttributeError) as exc:
                return self._answer(400, {"error": "bad_request", "reason": str(exc)})
        if self.path not in PATHS:
            return self._answer(404, {"error": "not_found", "reason": f"no route {self.path}"})
        self._push(data)

    def _push(self, data: bytes) -> None:
        r = self.receiver
        expected = int(self.headers.get("Content-Length") or 0)
        key = self.headers.get("Idempotency-Key") or ""
        sent_key = self.headers.get("x-api-key")
        headers = {k: ("***" if k.lower() == "x-api-key" else v) for k, v in self.headers.items()}
        digest = hashlib.sha256(data).hexdigest()
        rec = {"path": self.path, "headers": headers, "idempotency_key": key, "sha256": digest,
               "body": data.decode("utf-8", "replace")}

        def done(status: int, outcome: str, doc: dict, extra: dict | None = None) -> None:
            r.record({**rec, "status": status, "outcome": outcome})
            self._answer(status, doc, extra)

        if r.api_key is not None and not r.key_matches(sent_key):
            return done(401, "unauthorized", {"error": "unauthorized"})
        if expected > MAX_BODY:
            return done(413, "rejected", {"error": "too_large",
                                          "reason": f"a body over {MAX_BODY} bytes"})
        if len(data) < expected:
            # The sender died mid-request (a Tempest killed with kill -9): the bytes are not
            # the body its key names, so they are neither accepted nor a conflict.
            return done(400, "incomplete", {"error": "bad_request", "reason": f"body cut short: "
                                            f"{len(data)} of {expected} bytes"})
        try:
            json.loads(data)
        except ValueError:
            return done(400, "rejected", {"error": "bad_request", "reason": "body is not JSON"})
        if not key:
            return done(400, "rejected", {"error": "bad_request",
                                          "reason": "an Idempotency-Key header is required"})
        mode, seconds = r.misbehaviour(key)
        if mode == "slow":
            time.sleep(seconds)
        if mode == "stall":
            time.sleep(r.stall_seconds)
            return done(503, "stalled", {"error": "stalled"})
        if mode == "fail":
            return done(500, "failed", {"error": "internal_error", "reason": "told to fail"})
        if mode == "throttle":
            return done(429, "throttled", {"error": "too_many_requests"}, {"Retry-After": "1"})
        if mode == "reject":
            return done(400, "rejected", {"error": "bad_request", "reason": "told to reject"})
        outcome = r.accept(key, digest)
        if outcome == "conflict":
            return done(422, "conflict", {"error": "conflict", "reason": "idempotency key "
                                          "reused with a different payload"})
        done(200, outcome, {"status": outcome})


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A sender that timed out has closed its socket before a stalled answer: expected.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(host: str, port: int, folder: Path, api_key: str | None,
          stall_seconds: float) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"receiver": Receiver(folder, api_key,
                                                                     stall_seconds)})
    server = Server((host, port), handler)
    server.daemon_threads = True  # a stalled push must not keep the process alive
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tempest.sinks.reference_mdms",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8090, help="port to listen on")
    parser.add_argument("--dir", type=Path, required=True, help="folder for requests.jsonl")
    parser.add_argument("--api-key", default=None, help="require this x-api-key")
    parser.add_argument("--stall-seconds", type=float, default=60.0,
                        help="how long a stalled push waits before answering")
    args = parser.parse_args(argv)
    server = serve(args.host, args.port, args.dir, args.api_key, args.stall_seconds)

    def stop(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    print(f"reference MDMS on http://{args.host}:{server.server_address[1]}/ "
          f"recording to {args.dir}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
