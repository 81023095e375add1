"""A real HTTP proxy process in front of a real Tempest, to make it slow, failing or old.

    python faultproxy.py HOST PORT UPSTREAM_URL CONTROL_FILE LOG_FILE

Before each request it reads CONTROL_FILE (JSON; missing means pass through):
    {"mode": "pass"}                      forward the request and the answer
    {"mode": "delay", "delay_s": 5}       forward, then hold the answer back delay_s seconds
                                          (Tempest has the file; the meter times out)
    {"mode": "status", "status": 500}     answer with that status, Tempest never sees it
    {"mode": "seed"}                      404 for /api/v1/..., forward the rest (a seed-era
                                          Tempest without the versioned API)
Every request is appended to LOG_FILE as one JSON line {"method", "path", "mode", "phase"}
("received" when it arrives, "answered" when the answer has been sent), so tests can wait for
a request to be in flight, or count them.

Standard library only; stopped by its PID.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def main(host: str, port: int, upstream: str, control: str, log_path: str) -> None:
    up = urlsplit(upstream)

    def control_doc() -> dict:
        try:
            with open(control) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {"mode": "pass"}

    def note(doc: dict) -> None:
        with open(log_path, "a") as f:
            f.write(json.dumps(doc) + "\n")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet: the JSON log is the record
            pass

        def _answer(self, status: int, body: bytes, headers=()) -> None:
            self.send_response(status)
            for k, v in headers:
                if k.lower() not in HOP:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            ctl = control_doc()
            mode = ctl.get("mode", "pass")
            rec = {"method": self.command, "path": self.path, "mode": mode}
            note({**rec, "phase": "received", "t": time.time()})
            if mode == "status":
                status = int(ctl.get("status", 500))
                self._answer(status, json.dumps({"error": "injected",
                                                 "reason": f"fault proxy: {status}"}).encode(),
                             [("Content-Type", "application/json")])
            elif mode == "seed" and self.path.startswith("/api/v1/"):
                self._answer(404, b'{"error": "not_found"}', [("Content-Type", "application/json")])
            else:
                conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                if mode == "delay":
                    time.sleep(float(ctl.get("delay_s", 5)))
                # The client may have given up (timed out) or been killed meanwhile.
                with contextlib.suppress(OSError):
                    self._answer(resp.status, data, resp.getheaders())
            note({**rec, "phase": "answered", "t": time.time()})

        do_GET = _handle
        do_POST = _handle

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
