"""Ingest throughput: day files from the drop folder to queryable, in readings per second.

    .venv/bin/python bench/bench_ingest_throughput.py [--files 10000] [--route drop|upload]

Tempest (a real `tempest serve`: watchdog, the worker, the store) ingests N sealed 5-minute,
4-channel day files moved into its drop folder; the clock stops when the last one is stored.
`--route drop` (the default) moves the files in as rsync and the collect playbook deliver
them: the worker validates every one. `--route upload` first takes every file through the
upload route (`POST /api/v1/days`, untimed, in this process), which validates it and leaves its
verdict for the worker (tempest/ingest/verdict.py), then moves those drop files in: the figure
is the one ingest process's, on files the web tier already checked.
Baseline, same run, same readings: plain SQLite `executemany` into a one-row-per-reading table
(serial, channel, interval end, Wh; primary key on the first three) with the same journal
settings. Ratio = Tempest / baseline (>= 1 wanted).

Tempest's figure includes validating every file (core.dayfile_reader.parse), which the baseline does
not do, so it also prints the two stages apart: parsing, and storing (the compact rows against
the baseline on the same files).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import time
from pathlib import Path

from bench_tempest_common import OUT, PRODUCTION_PACE, day_files, register

from core.dayfile_reader import parse
from tempest import create_app, keys
from tempest.db import connect, transaction
from tempest.ingest import verdict
from tempest.store import Delivery, record_day
from tests.support.tempest import Tempest


def stored_files(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT count(*) FROM files").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def rows_of(path: Path):
    """One row per reading (serial, channel, UTC minute of the interval end, Wh), from the raw
    JSON (no validation, as a naive loader would do)."""
    doc = json.loads(path.read_bytes())
    serial = doc["serial"]
    out = []
    for channel, stream in doc["datastreams"].items():
        for label, kwh in stream.items():
            out.append((serial, channel, label, round(kwh * 1000)))
    return out


def baseline(paths: list[Path], work: Path, batch: int,
             name: str = "baseline") -> tuple[int, float]:
    db = work / f"{name}.sqlite3"
    db.unlink(missing_ok=True)
    conn = connect(db, synchronous="FULL")
    conn.execute("CREATE TABLE readings (serial TEXT, channel TEXT, ts TEXT, wh INTEGER, "
                 "PRIMARY KEY (serial, channel, ts)) WITHOUT ROWID")
    prepared = [rows_of(p) for p in paths]  # reading the files is not timed
    total = sum(len(r) for r in prepared)
    start = time.perf_counter()
    for i in range(0, len(prepared), batch):
        with transaction(conn):
            for rows in prepared[i:i + batch]:
                conn.executemany("INSERT OR REPLACE INTO readings VALUES (?, ?, ?, ?)", rows)
    elapsed = time.perf_counter() - start
    conn.close()
    return total, elapsed


def stages(paths: list[Path], work: Path, batch: int) -> dict:
    """Parse and store apart, on a sample: where Tempest's time goes."""
    start = time.perf_counter()
    days = [parse(p.read_bytes()) for p in paths]
    parse_s = time.perf_counter() - start
    data = work / "stages"
    shutil.rmtree(data, ignore_errors=True)
    app = create_app({"DATA_DIR": str(data)})
    conn = connect(Path(app.config["DATA_DIR"]) / "tempest.sqlite3", synchronous="FULL")
    readings = sum(len(d.values) * d.expected for d in days)
    start = time.perf_counter()
    for i in range(0, len(days), batch):
        with transaction(conn):
            for j, day in enumerate(days[i:i + batch]):
                record_day(conn, day, Delivery(f"{i + j:020x}", f"{i + j:064x}", "x.json", 1,
                                               "drop", 0.0), "archive/x", time.time())
    store_s = time.perf_counter() - start
    conn.close()
    base_total, base_s = baseline(paths, work, batch, "baseline-sample")
    assert base_total == readings
    return {"files": len(paths), "parse_ms_per_file": parse_s / len(paths) * 1000,
            "store_readings_per_s": readings / store_s,
            "baseline_readings_per_s": base_total / base_s}


def stage_uploads(paths: list[Path], work: Path) -> Path:
    """Take every file through the real upload route (untimed): returns the data dir whose
    drop/ and verdicts/ hold what the route left for the worker."""
    data = work / "upload-staging"
    shutil.rmtree(data, ignore_errors=True)
    app = create_app({"DATA_DIR": str(data), "METER_UPLOADS_PER_HOUR": 1_000_000})
    conn = connect(data / "tempest.sqlite3")
    serials = sorted({p.stem.split("_")[0] for p in paths})
    issued = {s: keys.add(conn, s).key for s in serials}
    conn.close()
    client = app.test_client()
    for p in paths:
        r = client.post("/api/v1/days", data=p.read_bytes(),
                        headers={"x-api-key": issued[p.stem.split("_")[0]],
                                 "Content-Type": "application/json"})
        assert r.status_code == 202, r.get_data(as_text=True)
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=10_000, help="day files to ingest")
    ap.add_argument("--sample", type=int, default=300, help="files in the stage breakdown")
    ap.add_argument("--batch", type=int, default=64, help="files per transaction (both sides)")
    ap.add_argument("--route", choices=("drop", "upload"), default="drop",
                    help="files moved into the drop folder, or taken through the upload route")
    ap.add_argument("--processes", type=int, default=1,
                    help="TEMPEST_INGEST_PROCESSES: processes that parse a batch")
    args = ap.parse_args()
    work = OUT / "ingest"
    source = OUT / "dayfiles-5min-4ch"
    print(f"generating {args.files} day files (cached in {source}) ...", file=sys.stderr)
    paths = day_files(source, args.files, max(1, args.files // 100))
    readings = sum(len(d) for d in (rows_of(p) for p in paths))

    data = work / "tempest"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    register(data, paths)
    staging = work / "staging"  # on the same file system as the drop: renames are instant
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if args.route == "upload":
        staged = stage_uploads(paths, work)
        shutil.rmtree(staging)
        (staged / "drop").rename(staging)
        # The verdicts are in place before their files appear, as the route writes them.
        (staged / verdict.FOLDER).rename(verdict.folder(data))
    else:
        for p in paths:
            shutil.copyfile(p, staging / p.name)
    server = Tempest(data, TEMPEST_INGEST_BATCH=args.batch,
                     TEMPEST_INGEST_PROCESSES=args.processes, **PRODUCTION_PACE).start(timeout=60)
    try:
        drop = data / "drop"
        start = time.perf_counter()
        for p in sorted(staging.iterdir()):
            p.rename(drop / p.name)
        while stored_files(data / "tempest.sqlite3") < len(paths):
            time.sleep(0.1)
        elapsed = time.perf_counter() - start
    finally:
        server.stop()
    tempest_rate = readings / elapsed

    base_total, base_s = baseline(paths, work, args.batch)
    assert base_total == readings
    base_rate = base_total / base_s
    split = stages(paths[: args.sample], work, args.batch)

    print(f"files: {len(paths)} (5-minute, 4 channels); readings: {readings}; "
          f"ingest processes: {args.processes}; route: {args.route}")
    print(f"tempest ingest (drop -> queryable): {elapsed:.1f} s, {tempest_rate:,.0f} readings/s")
    print(f"baseline executemany, one row per reading: {base_s:.1f} s, "
          f"{base_rate:,.0f} readings/s")
    print(f"ratio tempest/baseline: {tempest_rate / base_rate:.2f}x")
    print(f"stages on {split['files']} files: parse+validate {split['parse_ms_per_file']:.1f} "
          f"ms/file; store {split['store_readings_per_s']:,.0f} readings/s vs baseline "
          f"{split['baseline_readings_per_s']:,.0f} readings/s = "
          f"{split['store_readings_per_s'] / split['baseline_readings_per_s']:.2f}x")
    print(f"store size: tempest {(data / 'tempest.sqlite3').stat().st_size / 1e6:.1f} MB, "
          f"baseline {(work / 'baseline.sqlite3').stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
