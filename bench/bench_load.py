"""Load: Tempest's capacity on one box, stepping the fleet up until a target fails.

    .venv/bin/python bench/bench_load.py --route meter        [--steps 10000,25000,...]
    .venv/bin/python bench/bench_load.py --route concentrator [--steps 100000,...,1000000]

One Tempest as docs/operations.md runs it in production: gunicorn (`tempest.wsgi:app`,
--workers) and beside it one `tempest ingest --watch`, on a fresh data dir. The load generator
(bench/load_client.py: asyncio on raw sockets, request bytes built from templates) runs on the
SAME cores: on the 2-core development machine every figure is Tempest and its load together.

Per-meter route (`--route meter`), a target per step: 0 errors and p95 < 100 ms from due time,
and every upload stored. Each of N meters (its own key) heartbeats once a minute at its own
phase; days are uploaded as real meters do after local midnight, spread evenly over 15
minutes (N/900 a second). A step runs --window seconds (default 60) of the rollover's 15
minutes, the busiest stretch of a meter's day: heartbeats and uploads together at their real
rates. Nothing is compressed: the per-second load is the real one, a full 15 minutes only
repeats it.

Concentrator route (`--route concentrator`): N meters behind N/--per-dcu concentrators
(2,000 each, as one bulk host), target: every day stored within an hour of the rollover. Each
concentrator sends its meters' heartbeats in one batch every --dcu-heartbeat-minutes, and every
--flush seconds a batch of the days its meters sealed since (N/900 a second in all, at most
--batch-files a batch; items answered `retry` go in its next batch, as meter/delivery does).
Simulated time is compressed by sampling: a step offers the rollover's real load for --window
seconds (not the 15 minutes of uploads and the hour to store them), then waits until ingest
has stored every accepted day. The store rate measured over that (days stored / seconds from
the step's start to the last stored) projects the hour: the fleet's last day is stored at
about max(900 s + the measured lag, N / rate) after midnight; the step passes if that is under
3,600 s with no item refused. Archive copies are pruned after each step (their bytes counted
first); bytes per meter-day are the store's growth plus the archive's, over the days stored.

The capacity curve (fleet size -> p95, errors, store lag) is printed and written to
bench/out/load-<route>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench_tempest_common import OUT, PRODUCTION_PACE, REPO, WORKER_CLASSES, percentile
from load_client import Job, cpu_of, cpu_seconds, event_loop_name, request_bytes, run_jobs

from core import civil
from tempest import create_app
from tempest.concentrators import registry
from tempest.db import connect
from tests.support.tempest import Tempest
from tests.tempest.tempest_testdata import make_day

TEMPLATE = "load-0000000"  # serials have this length, so a body's length never changes
FIRST_DAY = civil.parse_day("2024-03-01")
SHARED = (f"load generator and Tempest share this machine's {os.cpu_count()} cores "
          "(every figure is both together)")


def serial(prefix: str, i: int) -> str:
    return f"{prefix}-{i:07d}"


# -- bodies built from templates (the generator must stay cheap) -----------------------------

def heartbeat_template() -> bytes:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    return json.dumps({
        "serial": TEMPLATE, "kind": "pi", "version": "0.1.0", "address": "127.0.0.11",
        "agent_url": "http://127.0.0.11:8001/", "timestamp": stamp, "last_tick": stamp,
        "config_hash": "sha256:" + "0" * 64, "outbox_backlog": 0,
        "free_disk_bytes": 12_000_000_000}, separators=(",", ":")).encode()


def day_template(day: int, interval: int) -> bytes:
    return make_day(TEMPLATE, civil.format_day(FIRST_DAY + day), interval=interval, channels=4,
                    zone="Europe/Berlin")


def stored_days(data: Path) -> int:
    conn = sqlite3.connect(f"file:{data / 'tempest.sqlite3'}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT count(*) FROM days").fetchone()[0]
    finally:
        conn.close()


def wait_stored(data: Path, want: int, timeout: float) -> tuple[int, float]:
    """(days stored, when) once `want` are stored or the timeout passed."""
    deadline = time.monotonic() + timeout
    while True:
        n = stored_days(data)
        if n >= want or time.monotonic() > deadline:
            return n, time.monotonic()
        time.sleep(0.25)


def summary(results, kind: str | None = None) -> dict:
    rows = [r for r in results if kind is None or r.kind == kind]
    lat = [r.latency * 1000 for r in rows]
    return {"n": len(rows), "p50_ms": round(percentile(lat, 50), 1),
            "p95_ms": round(percentile(lat, 95), 1), "p99_ms": round(percentile(lat, 99), 1),
            "max_ms": round(max(lat, default=0), 1),
            "service_p95_ms": round(percentile([r.service * 1000 for r in rows], 95), 1)}


def archive_bytes(data: Path, prune: bool) -> int:
    total = 0
    for folder in (data / "archive").iterdir() if (data / "archive").is_dir() else []:
        for f in folder.iterdir():
            total += f.stat().st_size
        if prune:
            shutil.rmtree(folder, ignore_errors=True)
    return total


def store_bytes(data: Path) -> int:
    return sum(p.stat().st_size for p in data.glob("tempest.sqlite3*"))


# -- per-meter route -----------------------------------------------------------------------

def issue_keys(data: Path, serials: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i in range(0, len(serials), 20_000):  # within the command line's length limit
        r = subprocess.run([sys.executable, "-m", "tempest", "meters", "add",
                            *serials[i:i + 20_000], "--json", "-q", "--data-dir", str(data)],
                           capture_output=True, text=True, check=True, cwd=REPO)
        out.update(json.loads(r.stdout))
    return out


def meter_jobs(tempest, keys: dict[str, str], n: int, step: int, args, rnd) -> list[Job]:
    host, port = tempest.host, tempest.port
    hb, day = heartbeat_template(), day_template(step, args.interval)
    jobs = []
    for i in range(1, n + 1):
        s = serial("load", i)
        key = keys[s]
        t = rnd.uniform(0, 60)
        while t < args.window:
            jobs.append(Job(t, "heartbeat", lambda s=s, key=key: request_bytes(
                host, port, "/api/v1/heartbeats", key, hb.replace(TEMPLATE.encode(),
                                                                  s.encode()))))
            t += 60
    # the rollover's uploads: N over 15 minutes, so N * window / 900 in this window
    uploads = round(n * args.window / 900)
    for i in rnd.sample(range(1, n + 1), min(n, uploads)):
        s = serial("load", i)
        key = keys[s]
        jobs.append(Job(rnd.uniform(0, args.window), "upload", lambda s=s, key=key: request_bytes(
            host, port, "/api/v1/days", key, day.replace(TEMPLATE.encode(), s.encode()))))
    return jobs


def warm_up(tempest, keys: dict[str, str], args) -> None:
    """A few requests of each kind first, uncounted: every gunicorn worker's first upload
    loads the day-file checks (a second or two), which is not what a step measures."""
    s = serial("load", 1)
    day = day_template(-1, args.interval).replace(TEMPLATE.encode(), s.encode())
    hb = heartbeat_template().replace(TEMPLATE.encode(), s.encode())
    jobs = [Job(i * 0.01, kind, lambda path=path, body=body: request_bytes(
        tempest.host, tempest.port, path, keys[s], body))
        for i in range(4 * args.workers)
        for kind, path, body in (("heartbeat", "/api/v1/heartbeats", hb),
                                 ("upload", "/api/v1/days", day))]
    run_jobs(tempest.host, tempest.port, jobs, args.workers)


def settings_of(args) -> dict:
    """Tempest settings the command line sets (the rest are Tempest's defaults)."""
    if args.heartbeat_flush is None:
        return {}
    return {"TEMPEST_HEARTBEAT_FLUSH_SECONDS": args.heartbeat_flush}


def meter_route(args, data: Path) -> list[dict]:
    rnd = random.Random(args.seed)
    tempest = Tempest(data, OUT / "load" / "tempest.log", gunicorn_workers=args.workers,
                      worker_class=WORKER_CLASSES[args.worker_class],
                      ingest_nice=args.ingest_nice, **PRODUCTION_PACE,
                      **settings_of(args)).start(timeout=60)
    curve, keys = [], {}
    try:
        for step, n in enumerate(args.steps):
            t0 = time.monotonic()
            keys.update(issue_keys(data, [serial("load", i)
                                          for i in range(len(keys) + 1, n + 1)]))
            key_s = time.monotonic() - t0
            if step == 0:
                warm_up(tempest, keys, args)
            jobs = meter_jobs(tempest, keys, n, step, args, rnd)
            before = stored_days(data)
            cpu0, server0 = cpu_seconds(), cpu_of(tempest.pids())
            ingest0 = cpu_of([tempest.ingest_proc.pid])
            run = run_jobs(tempest.host, tempest.port, jobs, args.connections)
            gen_cpu = cpu_seconds() - cpu0
            ended = time.monotonic()
            accepted = sum(1 for r in run.results if r.kind == "upload" and r.status == 202)
            stored, at = wait_stored(data, before + accepted, args.drain_timeout)
            server_cpu = cpu_of(tempest.pids()) - server0  # web workers and ingest
            ingest_cpu = cpu_of([tempest.ingest_proc.pid]) - ingest0
            errors = sum(1 for r in run.results if not 200 <= r.status < 300)
            row = {"fleet": n, "requests": len(run.results),
                   "requests_per_s": round(len(run.results) / args.window, 1),
                   "errors": errors, "all": summary(run.results),
                   "heartbeat": summary(run.results, "heartbeat"),
                   "upload": summary(run.results, "upload"),
                   "uploads_accepted": accepted, "days_stored": stored - before,
                   "store_lag_s": round(at - ended, 1), "keys_issued_s": round(key_s, 1),
                   "generator_cpu_s": round(gen_cpu, 1),
                   "generator_late_s": round(run.late_start, 3),
                   "tempest_cpu_s": round(server_cpu, 1),
                   "ingest_cpu_s": round(ingest_cpu, 1),
                   "tempest_cpu_ms_per_request": round(
                       server_cpu * 1000 / max(len(run.results), 1), 2),
                   "load_average": round(os.getloadavg()[0], 2)}
            row["ok"] = (errors == 0 and row["all"]["p95_ms"] < 100
                         and stored - before == accepted)
            curve.append(row)
            print(f"{n:>9,} meters: {row['requests_per_s']:>7,.0f} req/s, p95 "
                  f"{row['all']['p95_ms']:>8,.1f} ms (heartbeats {row['heartbeat']['p95_ms']:,.1f},"
                  f" uploads {row['upload']['p95_ms']:,.1f}), errors {errors}, store lag "
                  f"{row['store_lag_s']} s, generator CPU {gen_cpu:.0f} s of {args.window:.0f}, "
                  f"Tempest CPU {row['tempest_cpu_ms_per_request']:.2f} ms a request ("
                  f"ingest {ingest_cpu:.0f} s of {server_cpu:.0f}), load "
                  f"average {row['load_average']:.1f}"
                  f" -> {'ok' if row['ok'] else 'FAILED'}", flush=True)
            if not row["ok"] and not args.keep_going:
                break
    finally:
        tempest.stop()
    return curve


# -- concentrator route --------------------------------------------------------------------

def register_dcus(data: Path, first: int, last: int, per: int) -> dict[str, str]:
    """Concentrators dcu-<k> for k in [first, last), each with `per` meters behind it."""
    create_app({"DATA_DIR": str(data)})
    conn = connect(data / "tempest.sqlite3")
    try:
        keys = {}
        for k in range(first, last):
            cid = f"dcu{k:04d}"
            keys[cid] = registry.add(conn, cid).key
            registry.assign(conn, cid, [serial(f"d{k:04d}", i) for i in range(1, per + 1)])
        return keys
    finally:
        conn.close()


class Concentrator:
    """One concentrator's state in a step: days waiting to be sent, verdicts counted."""

    def __init__(self, k: int, per: int, day: bytes, hb: bytes, batch: int):
        self.prefix, self.per, self.batch = f"d{k:04d}", per, batch
        self.day, self.hb = day, hb
        self.pending: list[int] = []
        self.accepted = self.refused = self.retried = 0
        self.next_meter = 1

    def seal(self, count: int) -> None:
        last = min(self.per + 1, self.next_meter + count)
        self.pending.extend(range(self.next_meter, last))
        self.next_meter = last

    def days_body(self, sent: list[int]) -> bytes:
        take, self.pending = self.pending[:self.batch], self.pending[self.batch:]
        sent[:] = take
        texts = [self.day.replace(TEMPLATE.encode(), serial(self.prefix, i).encode())
                 for i in take]
        return b'{"files":[' + b",".join(texts) + b"]}"

    def heartbeats_body(self) -> bytes:
        return b'{"heartbeats":[' + b",".join(
            self.hb.replace(TEMPLATE.encode(), serial(self.prefix, i).encode())
            for i in range(1, self.per + 1)) + b"]}"

    def answered(self, sent: list[int], result) -> None:
        if result.status != 200:
            self.pending[:0] = sent  # the whole batch again
            return
        for item, i in zip(json.loads(result.body)["items"], sent, strict=True):
            if item["verdict"] == "accepted":
                self.accepted += 1
            elif item["verdict"] == "retry":
                self.retried += 1
                self.pending.append(i)
            else:
                self.refused += 1


def concentrator_jobs(tempest, dcus, keys, n: int, args, rnd) -> list[Job]:
    host, port = tempest.host, tempest.port
    jobs = []
    for c, key in zip(dcus, keys, strict=True):
        t = rnd.uniform(0, args.dcu_heartbeat_minutes * 60)
        while t < args.window:
            jobs.append(Job(t, "heartbeats", lambda c=c, key=key: request_bytes(
                host, port, "/api/v1/concentrator/heartbeats", key, c.heartbeats_body())))
            t += args.dcu_heartbeat_minutes * 60
        per_flush = c.per * args.flush / 900  # its meters' days sealed between two batches
        t, owed = rnd.uniform(0, args.flush), 0.0
        while t < args.window:
            owed += per_flush

            sent: list[int] = []  # this batch's meters, for its verdicts

            def make(c=c, key=key, count=int(owed), sent=sent):
                c.seal(count)
                return request_bytes(host, port, "/api/v1/concentrator/days", key,
                                     c.days_body(sent))
            jobs.append(Job(t, "days", make, keep_body=True,
                            then=lambda r, c=c, sent=sent: c.answered(sent, r)))
            owed -= int(owed)
            t += args.flush
    return jobs


def concentrator_route(args, data: Path) -> list[dict]:
    rnd = random.Random(args.seed)
    curve, keys = [], {}
    tempest = Tempest(data, OUT / "load" / "tempest.log", gunicorn_workers=args.workers,
                      worker_class=WORKER_CLASSES[args.worker_class],
                      ingest_nice=args.ingest_nice, **PRODUCTION_PACE,
                      **settings_of(args))
    for step, n in enumerate(args.steps):
        count = -(-n // args.per_dcu)
        t0 = time.monotonic()
        keys.update(register_dcus(data, len(keys), count, args.per_dcu))
        reg_s = time.monotonic() - t0
        # The escaped text of a day file, as it travels in a batch's JSON string.
        day = json.dumps(day_template(step, args.interval).decode()).encode()
        dcus = [Concentrator(k, args.per_dcu, day, heartbeat_template(), args.batch_files)
                for k in range(count)]
        tempest.start(timeout=120)
        before, store0 = stored_days(data), store_bytes(data)
        jobs = concentrator_jobs(tempest, dcus, [keys[f"dcu{k:04d}"] for k in range(count)],
                                 n, args, rnd)
        started = time.monotonic()
        cpu0 = cpu_seconds()
        try:
            run = run_jobs(tempest.host, tempest.port, jobs, args.connections, timeout=300)
            gen_cpu = cpu_seconds() - cpu0
            ended = time.monotonic()
            accepted = sum(c.accepted for c in dcus)
            stored, at = wait_stored(data, before + accepted, args.drain_timeout)
        finally:
            tempest.stop(timeout=120)
        days = stored - before
        arch = archive_bytes(data, prune=True)
        growth = store_bytes(data) - store0
        rate = days / max(at - started, 1e-9)
        lag = at - ended
        projected = max(900 + lag, n / rate) if rate else float("inf")
        errors = sum(1 for r in run.results if r.status != 200) + sum(c.refused for c in dcus)
        row = {"fleet": n, "concentrators": count, "requests": len(run.results),
               "errors": errors, "days_offered_per_s": round(n / 900, 1),
               "days_accepted": accepted, "days_stored": days,
               "items_retried": sum(c.retried for c in dcus),
               "store_rate_days_per_s": round(rate, 1), "store_lag_s": round(lag, 1),
               "projected_last_day_stored_s": round(projected),
               "heartbeats": summary(run.results, "heartbeats"),
               "days": summary(run.results, "days"),
               "bytes_per_meter_day": {"store": round(growth / max(days, 1)),
                                       "archive": round(arch / max(days, 1))},
               "registered_s": round(reg_s, 1), "generator_cpu_s": round(gen_cpu, 1),
               "generator_late_s": round(run.late_start, 3),
               "load_average": round(os.getloadavg()[0], 2)}
        row["ok"] = errors == 0 and projected <= 3600 and days == accepted
        curve.append(row)
        print(f"{n:>9,} meters ({count} concentrators): {rate:,.0f} days stored/s (offered "
              f"{n / 900:,.0f}/s), store lag {lag:.1f} s, last day of the fleet stored at "
              f"~{projected:,.0f} s, errors {errors}, heartbeat batch p95 "
              f"{row['heartbeats']['p95_ms']:,.0f} ms, {row['bytes_per_meter_day']} B/meter-day"
              f" -> {'ok' if row['ok'] else 'FAILED'}", flush=True)
        if not row["ok"] and not args.keep_going:
            break
    return curve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--route", choices=("meter", "concentrator"), default="meter")
    ap.add_argument("--steps", type=lambda s: [int(x) for x in s.split(",")],
                    help="fleet sizes, comma-separated (default by route)")
    ap.add_argument("--window", type=float, default=None,
                    help="seconds of load per step (default 60 meter, 120 concentrator)")
    ap.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    ap.add_argument("--worker-class", choices=list(WORKER_CLASSES), default="sync",
                    help="gunicorn's worker: its sync one, or Tempest's event-loop worker "
                    "(tempest/web/loopworker.py)")
    ap.add_argument("--ingest-nice", type=int, default=0,
                    help="niceness of the ingest worker (the web workers first: meters wait on "
                    "them, a stored day can wait seconds; docs/scaling.md measures both)")
    ap.add_argument("--connections", type=int, default=64, help="client sockets")
    ap.add_argument("--interval", type=int, default=5, help="minutes per interval in day files")
    ap.add_argument("--per-dcu", type=int, default=2000, help="meters behind a concentrator")
    ap.add_argument("--flush", type=float, default=30.0,
                    help="seconds between a concentrator's day batches")
    ap.add_argument("--batch-files", type=int, default=200, help="days per batch at most")
    ap.add_argument("--dcu-heartbeat-minutes", type=float, default=1.0,
                    help="minutes between a concentrator's heartbeat batches")
    ap.add_argument("--drain-timeout", type=float, default=900.0,
                    help="seconds to wait for ingest after a step")
    ap.add_argument("--keep-going", action="store_true", help="run every step, even past a fail")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--heartbeat-flush", type=float, default=None,
                    help="TEMPEST_HEARTBEAT_FLUSH_SECONDS (default: Tempest's, 0: each "
                    "heartbeat written in its request)")
    ap.add_argument("--data-root", type=Path, default=OUT / "load",
                    help="folder for Tempest's data dir (made fresh inside it)")
    args = ap.parse_args()
    if args.steps is None:
        args.steps = ([10_000, 25_000, 50_000, 100_000, 150_000, 200_000]
                      if args.route == "meter" else [100_000, 250_000, 500_000, 1_000_000])
    if args.window is None:
        args.window = 60.0 if args.route == "meter" else 120.0
    print(f"{SHARED}; the generator's event loop: {event_loop_name()}; Tempest: "
          f"{args.workers} gunicorn workers, {args.worker_class}; ingest worker niceness "
          f"{args.ingest_nice}", flush=True)
    data = args.data_root / f"bench-load-{args.route}"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    started = time.time()
    curve = (meter_route if args.route == "meter" else concentrator_route)(args, data)
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(data.with_name(data.name + ".secrets"), ignore_errors=True)  # Tempest's own
    passed = [row["fleet"] for row in curve if row["ok"]]
    out = {"route": args.route, "cores": os.cpu_count(), "note": SHARED,
           "generator_event_loop": event_loop_name(),
           "command": " ".join(["bench/bench_load.py", *sys.argv[1:]]),
           "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
           "settings": {k: v for k, v in vars(args).items() if k != "data_root"},
           "capacity": max(passed, default=0), "curve": curve}
    OUT.mkdir(exist_ok=True)
    (OUT / f"load-{args.route}.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"capacity ({args.route} route): {out['capacity']:,} meters "
          f"(largest step that met its targets); curve in bench/out/load-{args.route}.json")


if __name__ == "__main__":
    main()
