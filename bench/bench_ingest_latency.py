"""Drop-to-visible latency: from the rename into the drop folder to the API serving the day.

    .venv/bin/python bench/bench_ingest_latency.py [--files 200] [--interval 5 --channels 4]

A real `tempest serve` runs; one file at a time is renamed into its drop folder (as rsync and
the upload route do) and the API is polled every 2 ms until the day answers 200. Target
(issue 20): p95 at most 200 ms, aim 50 ms. Baseline, same run: the work itself, i.e. the same
files parsed, stored and moved to archive/ in-process by the ingest code with no watchdog,
queue or HTTP in between. Ratio = latency / baseline: what the delivery path adds.

What sets the latency: the watch loop takes a file on its inotify event at once (no poll);
then its parse and the store's commit (an fsync). It used to include the previous file's
three fsyncs too (archive copy, archive folder, drop folder), since the worker moved each
batch's files before it looked at the next; those now run behind it (tempest/ingest/mover.py).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import requests
from bench_tempest_common import OUT, PRODUCTION_PACE, day_files, percentile, register

from tempest import create_app
from tempest.db import connect
from tempest.ingest.process import Processor
from tempest.settings import layout
from tests.support.tempest import Tempest


def direct(paths: list[Path], work: Path) -> list[float]:
    data = work / "direct"
    shutil.rmtree(data, ignore_errors=True)
    app = create_app({"DATA_DIR": str(data)})
    register(data, paths)
    lay = layout(app.config)
    conn = connect(lay.database, synchronous="FULL")
    proc = Processor(conn, lay, app.config)
    times = []
    for p in paths:
        target = lay.drop / p.name
        shutil.copyfile(p, target)
        start = time.perf_counter()
        proc.process([(target, None)])
        times.append((time.perf_counter() - start) * 1000)
    conn.close()
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=200, help="files to deliver one by one")
    ap.add_argument("--interval", type=int, default=5, help="minutes per interval")
    ap.add_argument("--channels", type=int, default=4, help="channels per file")
    args = ap.parse_args()
    work = OUT / "latency"
    source = OUT / f"dayfiles-{args.interval}min-{args.channels}ch"
    paths = day_files(source, args.files, max(1, args.files // 20), interval=args.interval,
                      channels=args.channels)
    data = work / "tempest"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    register(data, paths)
    staging = work / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    server = Tempest(data, **PRODUCTION_PACE).start(timeout=60)
    session = requests.Session()
    latencies = []
    try:
        for p in paths:
            staged = staging / p.name
            shutil.copyfile(p, staged)
            serial, day = p.stem.split("_")
            url = f"{server.url}/api/v1/meters/{serial}/days/{day}"
            start = time.perf_counter()
            staged.rename(data / "drop" / p.name)
            while session.get(url).status_code != 200:
                time.sleep(0.002)
            latencies.append((time.perf_counter() - start) * 1000)
    finally:
        server.stop()
    base = direct(paths, work)
    p95, b95 = percentile(latencies, 95), percentile(base, 95)
    print(f"files: {len(paths)} ({args.interval}-minute, {args.channels} channels), "
          "delivered one at a time")
    verdict = "aim met" if p95 <= 50 else "ok" if p95 <= 200 else "MISSED"
    print(f"drop-to-visible: p50 {percentile(latencies, 50):.0f} ms, p95 {p95:.0f} ms, "
          f"max {max(latencies):.0f} ms  (target p95 <= 200 ms, aim 50 ms: {verdict})")
    print(f"baseline, parse+store in-process: p50 {percentile(base, 50):.0f} ms, "
          f"p95 {b95:.0f} ms")
    print(f"ratio p95 drop-to-visible / baseline: {p95 / b95:.2f}x")


if __name__ == "__main__":
    main()
