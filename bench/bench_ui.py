"""Web UI server time with 10,000 meters stored: the Fleet page and a meter's year-chart data,
measured with `wrk` (or, without it, a threaded Python client) against a real Tempest.

    .venv/bin/python bench/bench_ui.py [--meters 10000] [--days 7] [--seconds 10]

Targets: Fleet page p95 < 300 ms (every view: the default, a status filter, a sort by last
heartbeat, a serial search, a drift filter, a deep page), year-chart data p95 < 50 ms (366
stored days of a 4-channel meter). Baseline, same run and load: `GET /ui/changes?scope=fleet`
(the live-update poll every open page makes), so the ratios show what a page costs beyond it.
`tempest serve` (threaded) and gunicorn (`tempest.wsgi:app`, 2 workers), warmed up first.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import random
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from bench_tempest_api import populate, template_day
from bench_tempest_common import OUT, PRODUCTION_PACE, percentile, wrk_result

from core.configdoc import config_hash
from tempest.db import connect, transaction
from tempest.fleetconfig import init_db as init_fleetconfig
from tempest.store import Delivery, record_day
from tests.support.tempest import Tempest

WRK = shutil.which("wrk")
FLEET_VIEWS = [
    "/ui/meters",
    "/ui/meters?status=online",
    "/ui/meters?sort=last_seen",
    "/ui/meters?q=b01",
    "/ui/meters?drift=drifted&sort=drift",
    "/ui/meters?page=150&per_page=50",
    "/ui/meters?sort=version&per_page=200",
]
LUA = """
local paths = {%(paths)s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT p50=%%d p95=%%d p99=%%d requests=%%d errors=%%d\\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.timeout))
end
"""


def add_year_meter(data: Path, serial: str, last: str) -> tuple[str, str]:
    """One meter with 366 stored days up to `last` (the year chart's data)."""
    conn = connect(data / "tempest.sqlite3")
    end = datetime.fromisoformat(last).date()
    days = [(end - timedelta(days=i)).isoformat() for i in range(365, -1, -1)]
    now = time.time()
    with transaction(conn):
        conn.execute("INSERT OR IGNORE INTO meters (serial, created_at) VALUES (?, ?)",
                     (serial, now))
        for n, d in enumerate(days):
            day = dataclasses.replace(template_day(d), serial=serial)
            digest = hashlib.sha256(f"{serial}/{d}".encode()).hexdigest()
            record_day(conn, day, Delivery(f"{n:020d}", digest, "x.json", 1, "drop", now),
                       "archive/x", now)
    conn.close()
    return days[0], days[-1]


def add_configs(data: Path, meters: int) -> None:
    """Heartbeat versions and config hashes, and the inventory's configs for most meters (a
    tenth of them drifted), so the drift column has work to do."""
    init_fleetconfig(data / "tempest.sqlite3")
    conn = connect(data / "tempest.sqlite3")
    rng = random.Random(3)
    now = time.time()
    with transaction(conn):
        for m in range(meters):
            serial = f"b{m:05d}"
            raw = {"serial": serial, "annual_kwh": 3000 + m % 2000}
            good = config_hash(raw)
            reported = good if rng.random() > 0.1 else config_hash({**raw, "annual_kwh": 1})
            conn.execute("UPDATE meters SET version = ?, config_hash = ?, backlog = ? "
                         "WHERE serial = ?", (rng.choice(("0.1.0", "0.1.1", "0.2.0")),
                                              reported, rng.randint(0, 9), serial))
            if rng.random() < 0.8:
                conn.execute("INSERT OR REPLACE INTO desired_config (serial, config, "
                             "config_hash, source, set_at) VALUES (?, ?, ?, 'bench', ?)",
                             (serial, json.dumps(raw), good, now))
    conn.close()


def run_wrk(url: str, paths: list[str], seconds: int, connections: int, work: Path) -> dict:
    script = work / f"ui_{abs(hash(tuple(paths)))}.lua"
    script.write_text(LUA % {"paths": ", ".join(json.dumps(p) for p in paths)})
    out = subprocess.run([WRK, f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s",
                          "-s", str(script), url], capture_output=True, text=True,
                         check=True).stdout
    result = wrk_result(out)
    return {**result, "rps": result["requests"] / seconds}


def run_python(url: str, paths: list[str], seconds: int, connections: int) -> dict:
    """The same load from threads (when wrk is not installed)."""
    times: list[float] = []
    errors = [0]
    stop = time.monotonic() + seconds

    def worker(k: int) -> None:
        s = requests.Session()
        i = k
        while time.monotonic() < stop:
            t = time.perf_counter()
            r = s.get(url + paths[i % len(paths)], timeout=30)
            times.append(time.perf_counter() - t)
            errors[0] += r.status_code != 200
            i += 1

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ms = [x * 1000 for x in times]
    return {"p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95),
            "p99_ms": percentile(ms, 99), "requests": len(ms), "errors": errors[0],
            "rps": len(ms) / seconds}


def measure(url: str, paths: list[str], seconds: int, connections: int, work: Path) -> dict:
    if WRK:
        return run_wrk(url, paths, seconds, connections, work)
    return run_python(url, paths, seconds, connections)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meters", type=int, default=10_000, help="meters in the store")
    ap.add_argument("--days", type=int, default=7, help="stored days per meter (sparklines)")
    ap.add_argument("--seconds", type=int, default=10, help="load duration per route")
    ap.add_argument("--connections", type=int, nargs="+", default=[1, 2],
                    help="concurrent clients; one run per value")
    ap.add_argument("--reuse", action="store_true", help="keep a store already populated")
    args = ap.parse_args()
    work = OUT / "ui"
    work.mkdir(parents=True, exist_ok=True)
    data = work / "tempest"
    today = datetime.now(UTC).date()
    days = [(today - timedelta(days=i)).isoformat() for i in range(args.days, 0, -1)]
    start = time.perf_counter()
    if not (args.reuse and (data / "tempest.sqlite3").exists()):
        populate(data, args.meters, days)
        first, last = add_year_meter(data, "year", days[-1])
        add_configs(data, args.meters)
    first = (today - timedelta(days=366)).isoformat()
    last = (today - timedelta(days=1)).isoformat()
    print(f"stored {args.meters} meters x {len(days)} days + one meter x 366 days in "
          f"{time.perf_counter() - start:.1f} s; store "
          f"{(data / 'tempest.sqlite3').stat().st_size / 1e6:.0f} MB; load tool: "
          f"{'wrk' if WRK else 'threaded Python client'}", file=sys.stderr)
    routes = {
        "baseline": (["/ui/changes?scope=fleet"], None, "live poll /ui/changes (baseline)"),
        "fleet": (FLEET_VIEWS, 300.0, f"Fleet page ({len(FLEET_VIEWS)} views)"),
        "year": ([f"/ui/data/meters/year/daily?from={first}&to={last}"], 50.0,
                 "year chart data (366 days)"),
    }
    for label, workers in (("tempest serve", 0), ("gunicorn -w 2", 2)):
        server = Tempest(data, gunicorn_workers=workers, ingest=False,
                         **PRODUCTION_PACE).start(timeout=60)
        try:
            for paths, _, _ in routes.values():  # warm caches and workers, not measured
                measure(server.url, paths, 2, 2, work)
            for connections in args.connections:
                results = {k: measure(server.url, paths, args.seconds, connections, work)
                           for k, (paths, _, _) in routes.items()}
                base = results["baseline"]["p95_ms"]
                print(f"{label}: {args.seconds} s at {connections} connection(s), "
                      f"{args.meters} meters")
                for kind, r in results.items():
                    target, name = routes[kind][1], routes[kind][2]
                    verdict = ""
                    if target:
                        ok = "ok" if r["p95_ms"] < target else "MISSED"
                        verdict = f"  target p95 < {target:.0f} ms: {ok}"
                    print(f"  {name:34} p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms  "
                          f"p99 {r['p99_ms']:7.2f} ms  {r['rps']:6.0f} req/s  errors "
                          f"{r['errors']}  p95/baseline {r['p95_ms'] / base:6.2f}x{verdict}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
