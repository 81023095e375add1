"""Load: 1,000 simulated meters heartbeating every minute and uploading their days, against
one Tempest under gunicorn (`tempest.wsgi:app`) with a separate `tempest ingest --watch`, as
docs/operations.md runs it in production. Not part of CI.

    .venv/bin/python bench/bench_load.py [--meters 1000] [--minutes 5] [--workers 4]
                                         [--speed 1] [--days 2] [--interval 5]

Each meter sends a heartbeat every minute (a random phase each, like cron's `* * * * *` on
unsynchronised hosts, divided by --speed to compress time) with the fields a real meter sends,
and at each of --days "midnights" (one per minute from the second minute on) uploads the day
that just ended: a real sealed day file (5-minute, 4 channels), all meters within that minute,
the thundering herd of a day rollover. Keys are issued with `tempest meters add --json`.

Reported: requests/s sustained, p50/p95/p99 latency per request kind, errors (targets: 0
errors, p95 < 100 ms), how long ingest took to store every upload, and the resident memory
(RSS) of all of Tempest's processes (gunicorn master and workers, the ingest worker) sampled
every second. Latency is measured from the moment a request is due, so a server that falls
behind is charged for the wait (no coordinated omission); "service" is from the moment it was
sent (what the server alone took, queueing in its listen backlog included). Results: bench/out/load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
from bench_tempest_common import OUT, PRODUCTION_PACE, REPO, percentile

from core import civil
from tests.support.tempest import Tempest
from tests.tempest.tempest_testdata import make_day


def issue_keys(data_dir: Path, serials: list[str]) -> tuple[dict[str, str], float]:
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "tempest", "meters", "add", *serials, "--json",
                        "--data-dir", str(data_dir)], capture_output=True, text=True, check=True,
                       cwd=REPO)
    return json.loads(r.stdout), time.monotonic() - t0


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def schedule(serials, args, rnd) -> list[tuple[float, str, str, str | None]]:
    """(due second, kind, serial, day) for the whole run, in time order."""
    minute = 60.0 / args.speed
    events = []
    for s in serials:
        phase = rnd.uniform(0, minute)
        t = phase
        while t < args.minutes * minute:
            events.append((t, "heartbeat", s, None))
            t += minute
        for d in range(args.days):
            events.append(((d + 1) * minute + rnd.uniform(0, minute), "upload", s,
                           civil.format_day(civil.parse_day("2024-03-01") + d)))
    return sorted(events)


def heartbeat_body(serial: str, backlog: int) -> bytes:
    now = datetime.now(UTC).astimezone()
    return json.dumps({
        "serial": serial, "kind": "pi", "version": "0.1.0", "address": "127.0.0.11",
        "agent_url": "http://127.0.0.11:8001/", "timestamp": now.isoformat(timespec="seconds"),
        "last_tick": now.isoformat(timespec="seconds"), "config_hash": "sha256:" + "0" * 64,
        "outbox_backlog": backlog, "free_disk_bytes": 12_000_000_000}).encode()


def run_load(tempest: Tempest, events, keys, files, threads: int):
    # (kind, due, latency from due, status, service time from send)
    results: list[tuple[str, float, float, int, float]] = []
    lock = threading.Lock()
    start = time.monotonic() + 1.0
    index = [0]

    def worker():
        session = requests.Session()
        while True:
            with lock:
                if index[0] >= len(events):
                    return
                due, kind, serial, day = events[index[0]]
                index[0] += 1
            wait = start + due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            headers = {"x-api-key": keys[serial], "Content-Type": "application/json"}
            sent = time.monotonic()
            try:
                if kind == "heartbeat":
                    r = session.post(tempest.endpoint("api/v1/heartbeats"), timeout=30,
                                     data=heartbeat_body(serial, 0), headers=headers)
                else:
                    r = session.post(tempest.endpoint("api/v1/days"), timeout=30,
                                     data=files[(serial, day)], headers=headers)
                status = r.status_code
            except requests.RequestException:
                status = 0
            done = time.monotonic()
            with lock:
                results.append((kind, due, done - (start + due), status, done - sent))

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    return pool, results, start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--meters", type=int, default=1000)
    ap.add_argument("--minutes", type=float, default=5.0, help="simulated minutes to run")
    ap.add_argument("--speed", type=float, default=1.0,
                    help="time compression: 2 sends every minute's heartbeats in 30 s")
    ap.add_argument("--days", type=int, default=2, help="day rollovers (uploads per meter)")
    ap.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    ap.add_argument("--threads", type=int, default=64, help="client threads")
    ap.add_argument("--interval", type=int, default=5, help="minutes per interval in day files")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-root", type=Path, default=OUT / "load",
                    help="folder for Tempest's data dir, made fresh inside it as "
                         "bench-load-data (say, a tmpfs, to take the disk's fsyncs out)")
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    base = OUT / "load"
    import shutil

    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    data = args.data_root / "bench-load-data"
    shutil.rmtree(data, ignore_errors=True)
    serials = [f"load-{i:04d}" for i in range(1, args.meters + 1)]
    keys, key_seconds = issue_keys(data, serials)
    print(f"issued {len(keys)} keys in {key_seconds:.1f} s (tempest meters add --json)")
    files = {}
    for s in serials:
        for d in range(args.days):
            day = civil.format_day(civil.parse_day("2024-03-01") + d)
            files[(s, day)] = make_day(s, day, interval=args.interval, channels=4,
                                       zone="Europe/Berlin")
    print(f"built {len(files)} day files ({len(next(iter(files.values()))) // 1024} KiB each)")
    events = schedule(serials, args, rnd)
    # gunicorn (web) and `tempest ingest --watch`, each stopped by its PID.
    tempest = Tempest(data, base / "tempest.log", gunicorn_workers=args.workers,
                      **PRODUCTION_PACE).start(timeout=60)
    memory: list[tuple[float, float, float]] = []  # (second, RSS MiB, load average)
    load_before = os.getloadavg()[0]
    try:
        pool, results, start = run_load(tempest, events, keys, files, args.threads)
        while any(t.is_alive() for t in pool):
            memory.append((time.monotonic() - start, rss_mib(tempest.pids()),
                           os.getloadavg()[0]))
            time.sleep(1.0)
        sent_at = time.monotonic()
        accepted = sum(1 for r in results if r[0] == "upload" and r[3] == 202)
        from tempest.db import connect

        conn = connect(data / "tempest.sqlite3")
        while conn.execute("SELECT count(*) FROM days").fetchone()[0] < accepted:
            memory.append((time.monotonic() - start, rss_mib(tempest.pids()),
                           os.getloadavg()[0]))
            if time.monotonic() - sent_at > 600:
                break
            time.sleep(0.5)
        stored = conn.execute("SELECT count(*) FROM days").fetchone()[0]
        conn.close()
        ingest_lag = time.monotonic() - sent_at
    finally:
        tempest.stop()
    loads = (load_before, os.getloadavg()[0])
    report(args, results, memory, accepted, stored, ingest_lag, key_seconds, loads)


def report(args, results, memory, accepted, stored, ingest_lag, key_seconds, loads) -> None:
    span = max(r[1] for r in results) - min(r[1] for r in results)
    out = {"meters": args.meters, "speed": args.speed, "workers": args.workers,
           "data_root": str(args.data_root),
           "minutes": args.minutes, "requests": len(results),
           "requests_per_s": round(len(results) / max(span, 1e-9), 1),
           "errors": sum(1 for r in results if not 200 <= r[3] < 300),
           "keys_issued_s": round(key_seconds, 2), "uploads_accepted": accepted,
           "load_average": [round(x, 2) for x in loads], "cores": os.cpu_count(),
           "days_stored": stored, "ingest_done_after_last_upload_s": round(ingest_lag, 1),
           "rss_mib": {"start": round(memory[0][1], 1),
                       "max": round(max(m[1] for m in memory), 1),
                       "end": round(memory[-1][1], 1)},
           "load_average_max": round(max(m[2] for m in memory), 2), "kinds": {}}
    for kind in ("heartbeat", "upload", "all"):
        lat = [x[2] * 1000 for x in results if kind == "all" or x[0] == kind]
        service = [x[4] * 1000 for x in results if kind == "all" or x[0] == kind]
        out["kinds"][kind] = {"n": len(lat), "p50_ms": round(percentile(lat, 50), 1),
                              "p95_ms": round(percentile(lat, 95), 1),
                              "p99_ms": round(percentile(lat, 99), 1),
                              "max_ms": round(max(lat), 1),
                              "service_p50_ms": round(percentile(service, 50), 1),
                              "service_p95_ms": round(percentile(service, 95), 1)}
    # Busiest minute: heartbeats and the day's uploads together.
    minute = 60.0 / args.speed
    per_minute: dict[int, int] = {}
    for _, due, *_ in results:
        per_minute[int(due // minute)] = per_minute.get(int(due // minute), 0) + 1
    out["peak_requests_per_s"] = round(max(per_minute.values()) / minute, 1)
    # Latency over the run, 10-second buckets by due time: where a backlog built up.
    buckets: dict[int, list[float]] = {}
    for r in results:
        buckets.setdefault(int(r[1] // 10) * 10, []).append(r[2] * 1000)
    timeline = [{"t": t, "n": len(v), "p95_ms": round(percentile(v, 95), 1)}
                for t, v in sorted(buckets.items())]
    OUT.mkdir(exist_ok=True)
    (OUT / "load.json").write_text(json.dumps({**out, "timeline": timeline, "memory": memory},
                                              indent=1))
    print(json.dumps(out, indent=1))
    ok = out["errors"] == 0 and out["kinds"]["all"]["p95_ms"] < 100 and stored == accepted
    print("targets (0 errors, p95 < 100 ms, every upload stored):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
