"""Request cost: Tempest's CPU per request by route, under gunicorn as in production.

    .venv/bin/python bench/bench_request_cost.py [--rate 150] [--seconds 20] [--runs 3]

CPU time does not depend on how loaded the machine is (wall time does), so this is the
figure to compare across runs on a shared box: Tempest (gunicorn `tempest.wsgi:app`,
--workers, beside one `tempest ingest --watch`, on a fresh data dir) gets heartbeats, then day
uploads (5-minute, 4 channels), each at a steady rate well below saturation, over a fresh TCP
connection each as meters send them (bench/load_client.py); the CPU of every Tempest process
is read from /proc before and after. The ingest worker's share of an upload is counted once
every accepted day is stored. Baseline, same run: the same gunicorn serving a WSGI app that
only reads the body and answers (bench/floor_wsgi.py), the least a request can cost here.
Capacity on a core follows: 1,000 / (CPU-ms a request).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests
from bench_load import (
    TEMPLATE,
    day_template,
    heartbeat_template,
    issue_keys,
    serial,
    stored_days,
    wait_stored,
)
from bench_tempest_common import OUT, PRODUCTION_PACE, REPO, WORKER_CLASSES
from load_client import Job, cpu_of, request_bytes, run_jobs

from tests.support.addresses import free_address
from tests.support.processes import descendants, stop_process
from tests.support.tempest import Tempest
from tests.support.waiting import wait_for


def steady(host: str, port: int, bodies, path: str, rate: float, seconds: float,
           kind: str) -> list:
    """`rate` requests a second for `seconds`: bodies() gives (key, body) for each."""
    count = int(rate * seconds)
    made = [(i / rate, bodies(i)) for i in range(count)]  # built before the clock starts
    jobs = [Job(due, kind, lambda kb=kb: request_bytes(host, port, path, *kb))
            for due, kb in made]
    return run_jobs(host, port, jobs, 32).results


def measure(pids_of, host, port, bodies, path, rate, seconds, kind, settle=None) -> dict:
    pids = pids_of()
    before = cpu_of(pids)
    t0 = time.monotonic()
    results = steady(host, port, bodies, path, rate, seconds, kind)
    if settle is not None:
        settle(results)
    spent = cpu_of(pids) - before
    bad = sum(1 for r in results if not 200 <= r.status < 300)
    if bad:  # a cost over failed requests would be no cost at all
        raise SystemExit(f"{bad} of {len(results)} {kind} requests failed")
    return {"requests": len(results), "errors": bad, "cpu_s": round(spent, 2),
            "wall_s": round(time.monotonic() - t0, 1),
            "cpu_ms_per_request": round(spent * 1000 / max(len(results), 1), 3)}


def answers(host: str, port: int) -> bool:
    with contextlib.suppress(requests.RequestException):
        return requests.post(f"http://{host}:{port}/", data=b"{}", timeout=2).ok
    return False


def floor_cost(args) -> dict:
    host, port = free_address()
    klass = WORKER_CLASSES[args.worker_class]
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--workers",
                             str(args.workers), "--bind", f"{host}:{port}", "--log-level",
                             "warning", *(["--worker-class", klass] if klass else []),
                             "bench.floor_wsgi:app"], cwd=REPO)
    try:
        wait_for(lambda: answers(host, port), 60, what="gunicorn serving the floor app")
        body = heartbeat_template()
        return measure(lambda: [proc.pid, *descendants(proc.pid)], host, port,
                       lambda i: ("x" * 43, body), "/", args.rate, args.seconds, "floor")
    finally:
        stop_process(proc, 15)


def tempest_cost(args, data: Path, meters: int) -> dict:
    flush = {"TEMPEST_HEARTBEAT_FLUSH_SECONDS": args.heartbeat_flush} \
        if args.heartbeat_flush is not None else {}
    tempest = Tempest(data, OUT / "cost" / "tempest.log", gunicorn_workers=args.workers,
                      worker_class=WORKER_CLASSES[args.worker_class],
                      **PRODUCTION_PACE, **flush)
    keys = issue_keys(data, [serial("load", i) for i in range(1, meters + 1)])
    tempest.start(timeout=60)
    try:
        host, port = tempest.host, tempest.port
        hb = heartbeat_template()
        rnd = random.Random(1)

        def beat(i):
            s = serial("load", rnd.randint(1, meters))
            return keys[s], hb.replace(TEMPLATE.encode(), s.encode())

        day_bytes = day_template(0, 5)

        def upload(i):
            s = serial("load", i % meters + 1)
            return keys[s], day_bytes.replace(TEMPLATE.encode(), s.encode())

        # warm every worker (the day-file checks load on a worker's first upload)
        steady(host, port, beat, "/api/v1/heartbeats", 50, 1, "warm")
        steady(host, port, lambda i: upload(meters - 1 - i), "/api/v1/days", 20, 1, "warm")
        wait_stored(data, 20, 60)
        web = lambda: [tempest.proc.pid, *descendants(tempest.proc.pid)]  # noqa: E731
        every = tempest.pids
        out = {"heartbeat": measure(web, host, port, beat, "/api/v1/heartbeats", args.rate,
                                    args.seconds, "heartbeat")}
        before = stored_days(data)

        def drained(results):
            accepted = sum(1 for r in results if r.status == 202)
            wait_stored(data, before + accepted, 300)
            time.sleep(0.5)

        web0 = cpu_of(web())
        up = measure(every, host, port, upload, "/api/v1/days", args.upload_rate,
                     args.seconds, "upload", settle=drained)
        up["web_cpu_ms_per_request"] = round((cpu_of(web()) - web0) * 1000
                                             / max(up["requests"], 1), 3)
        up["ingest_cpu_ms_per_request"] = round(up["cpu_ms_per_request"]
                                                - up["web_cpu_ms_per_request"], 3)
        out["upload"] = up
        return out
    finally:
        tempest.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=150, help="heartbeats a second")
    ap.add_argument("--upload-rate", type=float, default=15, help="uploads a second")
    ap.add_argument("--seconds", type=float, default=20, help="seconds per measurement")
    ap.add_argument("--runs", type=int, default=3, help="runs; the median is reported")
    ap.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    ap.add_argument("--meters", type=int, default=2000, help="registered meters")
    ap.add_argument("--worker-class", choices=list(WORKER_CLASSES), default="sync",
                    help="gunicorn's worker for Tempest and the floor app: its sync one, or "
                    "Tempest's event-loop worker (tempest/web/loopworker.py)")
    ap.add_argument("--heartbeat-flush", type=float, default=None,
                    help="TEMPEST_HEARTBEAT_FLUSH_SECONDS (default: Tempest's, 0: each "
                    "heartbeat written in its request)")
    args = ap.parse_args()
    data = OUT / "cost" / "tempest"
    runs = []
    for run in range(args.runs):
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(data.with_name(data.name + ".secrets"), ignore_errors=True)
        data.mkdir(parents=True)
        row = {"floor": floor_cost(args), **tempest_cost(args, data, args.meters),
               "load_average": round(os.getloadavg()[0], 2)}
        runs.append(row)
        print(f"run {run + 1}: floor {row['floor']['cpu_ms_per_request']:.2f}, heartbeat "
              f"{row['heartbeat']['cpu_ms_per_request']:.2f}, upload "
              f"{row['upload']['web_cpu_ms_per_request']:.2f} web + "
              f"{row['upload']['ingest_cpu_ms_per_request']:.2f} ingest CPU-ms; errors "
              f"{row['heartbeat']['errors'] + row['upload']['errors']}; load average "
              f"{row['load_average']}", flush=True)
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(data.with_name(data.name + ".secrets"), ignore_errors=True)

    def med(path):
        return round(statistics.median(eval_path(r, path) for r in runs), 3)

    summary = {k: med(k) for k in ("floor.cpu_ms_per_request", "heartbeat.cpu_ms_per_request",
                                   "upload.web_cpu_ms_per_request",
                                   "upload.ingest_cpu_ms_per_request")}
    hb, fl = summary["heartbeat.cpu_ms_per_request"], summary["floor.cpu_ms_per_request"]
    print(f"median of {len(runs)}: floor (gunicorn, empty app) {fl:.2f} CPU-ms a request; "
          f"heartbeat {hb:.2f} ({hb / fl:.1f}x the floor); upload "
          f"{summary['upload.web_cpu_ms_per_request']:.2f} web + "
          f"{summary['upload.ingest_cpu_ms_per_request']:.2f} ingest")
    out = {"command": " ".join(["bench/bench_request_cost.py", *sys.argv[1:]]),
           "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "cores": os.cpu_count(), "settings": vars(args), "median": summary, "runs": runs}
    (OUT / "request-cost.json").write_text(json.dumps(out, indent=1) + "\n")


def eval_path(row: dict, path: str) -> float:
    for part in path.split("."):
        row = row[part]
    return row


if __name__ == "__main__":
    main()
