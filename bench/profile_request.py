"""Where a heartbeat's or an upload's CPU goes inside Tempest's WSGI app (cProfile, in process).

    .venv/bin/python bench/profile_request.py [--route heartbeat|upload] [--requests 5000]

No server and no sockets: the app's WSGI callable (the one gunicorn calls) is driven with the
environ gunicorn would build, on a fresh data dir, so the profile holds only what Tempest itself
does for a request (gunicorn's own share is bench/bench_request_cost.py's floor). Prints the
CPU-ms a request (without the profiler, then with it) and the top of the profile.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import TEMPLATE, day_template, heartbeat_template, serial  # noqa: E402

from tempest import create_app, keys  # noqa: E402
from tempest.db import connect  # noqa: E402


def environ_for(path: str, key: str, body: bytes) -> dict:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
            "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
            "HTTP_X_API_KEY": key, "HTTP_HOST": "127.0.0.1:8000"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--route", choices=("heartbeat", "upload"), default="heartbeat")
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--meters", type=int, default=2000)
    ap.add_argument("--top", type=int, default=35)
    ap.add_argument("--heartbeat-flush", type=float, default=0.0,
                    help="TEMPEST_HEARTBEAT_FLUSH_SECONDS (0: each heartbeat in its request)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATA_DIR": tmp, "METER_UPLOADS_PER_HOUR": 10**7,
                          "METER_UPLOAD_BYTES_PER_HOUR": 10**14,
                          "HEARTBEAT_FLUSH_SECONDS": args.heartbeat_flush})
        conn = connect(Path(tmp) / "tempest.sqlite3")
        serials = [serial("load", i) for i in range(1, args.meters + 1)]
        issued = {s: keys.add(conn, s).key for s in serials}
        wsgi = app.wsgi_app
        if args.route == "heartbeat":
            path, template = "/api/v1/heartbeats", heartbeat_template()
        else:
            path, template = "/api/v1/days", day_template(0, 5)

        def one(i: int) -> None:
            s = serials[i % len(serials)]
            body = template.replace(TEMPLATE.encode(), s.encode())
            status = []
            out = wsgi(environ_for(path, issued[s], body), lambda st, h: status.append(st))
            b"".join(out)
            if hasattr(out, "close"):
                out.close()
            if not status[0].startswith("2"):
                raise SystemExit(f"request {i} answered {status[0]}")

        for i in range(50):  # warm up (the day-file checks load on the first upload)
            one(args.requests + i)

        def timed(offset: int, n: int) -> float:
            t0 = time.process_time()
            for i in range(n):
                one(offset + i)
            return (time.process_time() - t0) * 1000 / n

        plain = timed(0, args.requests)
        prof = cProfile.Profile()
        prof.enable()
        profiled = timed(args.requests * 2, args.requests)
        prof.disable()
        print(f"{args.route}: {plain:.3f} CPU-ms a request in the app (profiled: "
              f"{profiled:.3f}), {args.requests} requests")
        pstats.Stats(prof).sort_stats("cumulative").print_stats(args.top)
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
