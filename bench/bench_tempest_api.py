"""API latency under load with 10,000 meters stored: p95 of the fleet list page and of one
day's readings, measured with `wrk` against a real Tempest.

    .venv/bin/python bench/bench_tempest_api.py [--meters 10000] [--days 3] [--seconds 10]

Targets: fleet list page p95 < 50 ms, one day's readings p95 < 10 ms. Baseline, same run,
same server and load: `GET /` (no store access), so the ratio shows what the store adds.
Runs `tempest serve` (the threaded server) and gunicorn (`tempest.wsgi:app`, 2 workers), each
warmed up first, at 1 and 4 concurrent connections (p95 at 4 is mostly queueing: a Python
process serves one request at a time per core).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench_tempest_common import OUT, PRODUCTION_PACE, wrk_result

from core import civil, tz, tzdb
from core.dayfile_reader import ACTUAL, Day
from tempest import codec, create_app, keys
from tempest.db import connect, transaction
from tempest.store import Delivery, record_day
from tests.support.tempest import Tempest

WRK = shutil.which("wrk") or "/usr/bin/wrk"
LUA = """
math.randomseed(%(seed)d)
local kind = "%(kind)s"
local meters, days, pages = %(meters)d, %(days)d, %(pages)d
local first = {%(day_list)s}
request = function()
  local path
  if kind == "fleet" then
    path = "/api/v1/meters?per_page=50&page=" .. math.random(1, pages)
  elseif kind == "day" then
    path = string.format("/api/v1/meters/b%%05d/days/%%s", math.random(0, meters - 1),
                         first[math.random(1, days)])
  else
    path = "/"
  end
  return wrk.format("GET", path)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT p50=%%d p95=%%d p99=%%d requests=%%d errors=%%d\\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.timeout))
end
"""


def template_day(day: str, zone_name: str = "Pacific/Auckland") -> Day:
    zone = tzdb.zone(zone_name)
    d = civil.parse_day(day)
    start, end = zone.day_start(d), zone.day_start(d + 1)
    ends = list(range(start + 5, end + 1, 5))
    rng = random.Random(day)
    subs = [[rng.randint(1, 60) for _ in ends] for _ in range(3)]
    total = [a + b + c for a, b, c in zip(*subs, strict=True)]
    values = {"Total": total, "Sub1": subs[0], "Sub2": subs[1], "Sub3": subs[2]}
    opening = {k: 1_000_000 for k in values}
    return Day(serial="x", reading_day=day, interval=5, timezone=zone_name, status="sealed",
               shape="current", channels={k: {"role": "import" if k == "Total" else "sub",
                                              "unit": "kWh"} for k in values},
               ends=ends, labels=[tz.label(zone, e) for e in ends], values=values,
               quality=[ACTUAL] * len(ends), opening=opening,
               closing={k: opening[k] + sum(v) for k, v in values.items()},
               metadata={"version": "0.1.0", "data_model_version": "2.0.0"})


def populate(data: Path, meters: int, days: list[str]) -> None:
    shutil.rmtree(data, ignore_errors=True)
    app = create_app({"DATA_DIR": str(data)})
    conn = connect(Path(app.config["DATA_DIR"]) / "tempest.sqlite3")
    templates = [template_day(d) for d in days]
    now = time.time()
    rng = random.Random(1)
    for start in range(0, meters, 500):
        with transaction(conn):
            for m in range(start, min(meters, start + 500)):
                serial = f"b{m:05d}"
                conn.execute("INSERT INTO meters (serial, created_at, key_hash, last_seen) "
                             "VALUES (?, ?, ?, ?)", (serial, now, keys.hash_key(serial),
                                                     now - rng.choice((30, 900, 9000))))
                for t in templates:
                    day = dataclasses.replace(t, serial=serial)
                    ident = f"{m:010d}{t.reading_day[5:7]}{t.reading_day[8:]}000000"
                    digest = hashlib.sha256(f"{serial}/{t.reading_day}".encode()).hexdigest()
                    record_day(conn, day, Delivery(ident, digest, "x.json", 1, "drop", now),
                               "archive/x", now)
    conn.close()
    codec.labels.cache_clear()


def wrk(url: str, kind: str, meters: int, days: list[str], seconds: int, threads: int,
        connections: int, work: Path) -> dict:
    script = work / f"{kind}.lua"
    script.write_text(LUA % {"seed": 7, "kind": kind, "meters": meters, "days": len(days),
                             "pages": max(1, meters // 50),
                             "day_list": ", ".join(f'"{d}"' for d in days)})
    out = subprocess.run([WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s",
                          str(script), url], capture_output=True, text=True, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return {**wrk_result(out), "rps": float(rps.group(1)) if rps else 0.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meters", type=int, default=10_000, help="meters in the store")
    ap.add_argument("--days", type=int, default=3, help="stored days per meter")
    ap.add_argument("--seconds", type=int, default=10, help="wrk duration per route")
    ap.add_argument("--connections", type=int, nargs="+", default=[1, 4],
                    help="wrk connections (concurrent clients); one run per value")
    args = ap.parse_args()
    work = OUT / "api"
    work.mkdir(parents=True, exist_ok=True)
    data = work / "tempest"
    days = [civil.format_day(civil.parse_day("2023-05-24") + i) for i in range(args.days)]
    start = time.perf_counter()
    populate(data, args.meters, days)
    print(f"stored {args.meters} meters x {len(days)} days (4 channels, 5 min) in "
          f"{time.perf_counter() - start:.1f} s; store "
          f"{(data / 'tempest.sqlite3').stat().st_size / 1e6:.0f} MB", file=sys.stderr)
    targets = {"fleet": 50.0, "day": 10.0}
    names = {"baseline": "GET / (baseline)", "fleet": "fleet list page (50 of all)",
             "day": "one day's readings"}
    for label, workers in (("tempest serve", 0), ("gunicorn -w 2", 2)):
        server = Tempest(data, gunicorn_workers=workers, ingest=False,
                         **PRODUCTION_PACE).start(timeout=60)
        try:
            for kind in ("baseline", "fleet", "day"):  # warm caches and workers, not measured
                wrk(server.url, kind, args.meters, days, 2, 2, 4, work)
            for connections in args.connections:
                results = {kind: wrk(server.url, kind, args.meters, days, args.seconds,
                                     min(2, connections), connections, work)
                           for kind in ("baseline", "fleet", "day")}
                base = results["baseline"]["p95_ms"]
                print(f"{label}: wrk -c{connections} -d{args.seconds}s, {args.meters} meters")
                for kind, r in results.items():
                    verdict = ""
                    if kind in targets:
                        ok = "ok" if r["p95_ms"] < targets[kind] else "MISSED"
                        verdict = f"  target p95 < {targets[kind]:.0f} ms: {ok}"
                    print(f"  {names[kind]:30} p50 {r['p50_ms']:6.2f} ms  p95 "
                          f"{r['p95_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
                          f"{r['rps']:6.0f} req/s  errors {r['errors']}  p95/baseline "
                          f"{r['p95_ms'] / base:5.2f}x{verdict}")
        finally:
            server.stop()

if __name__ == "__main__":
    main()
