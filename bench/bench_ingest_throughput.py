"""Ingest throughput: day files from the drop folder to queryable, in days and readings a second.

    .venv/bin/python bench/bench_ingest_throughput.py [--files 10000] [--route drop|upload]
        [--store sqlite|postgresql] [--database-url postgresql://USER@HOST:PORT/DB]

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

`--store postgresql`: the same files through the same route twice in one invocation, Tempest on
SQLite first (exactly the run above: the baseline of this comparison), then Tempest on
PostgreSQL (TEMPEST_DATABASE_URL, a fresh database); it prints the ratio PostgreSQL / SQLite.
Without `--database-url` the bench starts a throwaway PostgreSQL cluster as the tests do
(tests/support/postgres.py, but durable: fsync and synchronous commits on, as in production)
in a temporary folder on the same disk, and stops it by its PID at the end; with a URL it makes
its databases on that server (its user needs CREATEDB) and drops them at the end. The stage
breakdown then also stores the sample on PostgreSQL, against a bare psycopg `executemany` of
the same readings into a one-row-per-reading table there (`INSERT ... ON CONFLICT DO UPDATE`,
the same batches).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench_tempest_common import OUT, PRODUCTION_PACE, day_files, register

from core.dayfile_reader import parse
from tempest import create_app, keys
from tempest.db import connect, is_url, transaction
from tempest.ingest import verdict
from tempest.store import Delivery, record_day
from tests.support.tempest import Tempest


class FileCount:
    """How many files the store has recorded, polled while Tempest ingests (one PostgreSQL
    connection kept for the polls: a new one each time would cost the server a process)."""

    def __init__(self, store: Path | str):
        self.store = store
        self._pg = None

    def __call__(self) -> int:
        if is_url(self.store):
            import psycopg

            if self._pg is None:
                self._pg = psycopg.connect(self.store, autocommit=True)
            return self._pg.execute("SELECT count(*) FROM files").fetchone()[0]
        conn = sqlite3.connect(f"file:{self.store}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute("SELECT count(*) FROM files").fetchone()[0]
        except sqlite3.OperationalError:
            return 0
        finally:
            conn.close()

    def close(self) -> None:
        if self._pg is not None:
            self._pg.close()


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


@contextlib.contextmanager
def postgres_databases(url: str | None) -> Iterator[Callable[[], str]]:
    """A maker of empty PostgreSQL databases (their URLs), on the server at `url`, or on a
    throwaway durable cluster started here (tests/support/postgres.py) and stopped by its PID
    at the end. Every database made is dropped at the end. Tempest creates its tables itself."""
    server = None
    if url is None:
        from tests.support.postgres import Postgres

        server = Postgres(durable=True).start()
        url = server.url("postgres")
    made: list[str] = []

    def fresh() -> str:
        name = f"bench_ingest_{os.getpid()}_{len(made) + 1}"
        _admin(url, f"CREATE DATABASE {name}")
        made.append(name)
        return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))

    try:
        yield fresh
    finally:
        for name in made:
            with contextlib.suppress(Exception):  # a server already gone drops them anyway
                _admin(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if server is not None:
            server.stop()


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


def pg_baseline(paths: list[Path], url: str, batch: int) -> tuple[int, float]:
    """The baseline's bare `executemany` on PostgreSQL: psycopg (server-side binding, its
    pipelined executemany), one row per reading, the same batches a transaction."""
    import psycopg

    prepared = [rows_of(p) for p in paths]  # reading the files is not timed
    total = sum(len(r) for r in prepared)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_readings (serial TEXT, channel TEXT, ts TEXT, "
                     "wh INTEGER, PRIMARY KEY (serial, channel, ts))")
        cur = conn.cursor()
        start = time.perf_counter()
        for i in range(0, len(prepared), batch):
            with conn.transaction():
                for rows in prepared[i:i + batch]:
                    cur.executemany("INSERT INTO bench_readings VALUES (%s, %s, %s, %s) "
                                    "ON CONFLICT (serial, channel, ts) DO UPDATE "
                                    "SET wh = EXCLUDED.wh", rows)
        elapsed = time.perf_counter() - start
    return total, elapsed


def store_stage(days: list, data: Path, batch: int, url: str | None = None) -> float:
    """Seconds to store parsed days as the worker's transaction does (record_day, batches),
    into a new store: SQLite in `data`, or the PostgreSQL database at `url`."""
    shutil.rmtree(data, ignore_errors=True)
    create_app({"DATA_DIR": str(data), **({"DATABASE_URL": url} if url else {})})
    conn = connect(url or data / "tempest.sqlite3", synchronous="FULL")
    start = time.perf_counter()
    for i in range(0, len(days), batch):
        with transaction(conn):
            for j, day in enumerate(days[i:i + batch]):
                record_day(conn, day, Delivery(f"{i + j:020x}", f"{i + j:064x}", "x.json", 1,
                                               "drop", 0.0), "archive/x", time.time())
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def stages(paths: list[Path], work: Path, batch: int, pg_url: str | None = None) -> dict:
    """Parse and store apart, on a sample: where Tempest's time goes (and, given a
    PostgreSQL database, the store stage there against psycopg's bare executemany)."""
    start = time.perf_counter()
    days = [parse(p.read_bytes()) for p in paths]
    parse_s = time.perf_counter() - start
    readings = sum(len(d.values) * d.expected for d in days)
    store_s = store_stage(days, work / "stages", batch)
    base_total, base_s = baseline(paths, work, batch, "baseline-sample")
    assert base_total == readings
    out = {"files": len(paths), "parse_ms_per_file": parse_s / len(paths) * 1000,
           "store_readings_per_s": readings / store_s,
           "baseline_readings_per_s": base_total / base_s}
    if pg_url is not None:
        pg_store_s = store_stage(days, work / "stages-pg", batch, pg_url)
        pg_total, pg_base_s = pg_baseline(paths, pg_url, batch)
        assert pg_total == readings
        out |= {"pg_store_readings_per_s": readings / pg_store_s,
                "pg_store_ms_per_file": pg_store_s / len(paths) * 1000,
                "store_ms_per_file": store_s / len(paths) * 1000,
                "pg_baseline_readings_per_s": pg_total / pg_base_s}
    return out


def stage_uploads(paths: list[Path], work: Path) -> tuple[Path, list[tuple]]:
    """Take every file through the real upload route (untimed): returns the data dir whose
    drop/ holds what the route left for the worker, and the rows of its `verdicts` table."""
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
    conn = connect(data / "tempest.sqlite3")
    try:
        rows = [tuple(r) for r in conn.execute("SELECT id, verdict, written_at FROM verdicts")]
    finally:
        conn.close()
    return data, rows


def ingest_run(sources: list[Path], verdicts: list[tuple] | None, data: Path, paths: list[Path],
               args, url: str | None = None) -> float:
    """One real Tempest (`tempest serve`) ingests copies of `sources` (with the upload route's
    verdicts, if any) moved into its drop folder: seconds from the first rename until every
    file is recorded. Its store: SQLite in `data`, or the PostgreSQL database at `url`."""
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    register(data, paths, url)
    staging = data.with_name(data.name + "-staging")  # same file system: renames are instant
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for p in sources:
        shutil.copy2(p, staging / p.name)  # copy2: a drop file's mtime is its delivery time
    if verdicts is not None:
        # The verdicts are in place before their files appear, as the route writes them.
        conn = connect(url or data / "tempest.sqlite3")
        try:
            with transaction(conn):
                for ingest_id, kept, written_at in verdicts:
                    verdict.write(conn, ingest_id, bytes(kept), written_at)
        finally:
            conn.close()
    count = FileCount(url or data / "tempest.sqlite3")
    server = Tempest(data, TEMPEST_INGEST_BATCH=args.batch,
                     TEMPEST_INGEST_PROCESSES=args.processes,
                     **({"TEMPEST_DATABASE_URL": url} if url else {}),
                     **PRODUCTION_PACE).start(timeout=60)
    try:
        drop = data / "drop"
        start = time.perf_counter()
        for p in sorted(staging.iterdir()):
            p.rename(drop / p.name)
        while count() < len(paths):
            time.sleep(0.1)
        elapsed = time.perf_counter() - start
    finally:
        server.stop()
        count.close()
    return elapsed


def store_size(store: Path | str) -> float:
    """MB the store takes: the SQLite file, or the PostgreSQL database."""
    if not is_url(store):
        return Path(store).stat().st_size / 1e6
    import psycopg

    with psycopg.connect(store) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 1e6


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=10_000, help="day files to ingest")
    ap.add_argument("--sample", type=int, default=300, help="files in the stage breakdown")
    ap.add_argument("--batch", type=int, default=64, help="files per transaction (both sides)")
    ap.add_argument("--route", choices=("drop", "upload"), default="drop",
                    help="files moved into the drop folder, or taken through the upload route")
    ap.add_argument("--processes", type=int, default=1,
                    help="TEMPEST_INGEST_PROCESSES: processes that parse a batch")
    ap.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite",
                    help="postgresql: also run Tempest on PostgreSQL, against the SQLite run")
    ap.add_argument("--database-url", default=None,
                    help="with --store postgresql: a server to make the bench's databases on "
                         "(default: a throwaway cluster started and stopped here)")
    args = ap.parse_args()
    if args.database_url and args.store != "postgresql":
        ap.error("--database-url needs --store postgresql")
    if args.database_url and not is_url(args.database_url):
        ap.error("--database-url must be a postgresql:// URL")
    work = OUT / "ingest"
    source = OUT / "dayfiles-5min-4ch"
    print(f"generating {args.files} day files (cached in {source}) ...", file=sys.stderr)
    paths = day_files(source, args.files, max(1, args.files // 100))
    readings = sum(len(d) for d in (rows_of(p) for p in paths))
    load_before = load()

    verdicts = None
    sources = paths
    if args.route == "upload":
        staged, verdicts = stage_uploads(paths, work)
        sources = sorted((staged / "drop").iterdir())
    data = work / "tempest"
    elapsed = ingest_run(sources, verdicts, data, paths, args)
    tempest_rate = readings / elapsed

    base_total, base_s = baseline(paths, work, args.batch)
    assert base_total == readings
    base_rate = base_total / base_s
    with contextlib.ExitStack() as stack:
        pg = None
        if args.store == "postgresql":
            fresh = stack.enter_context(postgres_databases(args.database_url))
            pg = {"url": fresh()}
            pg["elapsed"] = ingest_run(sources, verdicts, work / "tempest-pg", paths, args,
                                       pg["url"])
            pg["size"] = store_size(pg["url"])
            split = stages(paths[: args.sample], work, args.batch, fresh())
        else:
            split = stages(paths[: args.sample], work, args.batch)
    load_after = load()

    n = len(paths)
    print(f"files: {n} (5-minute, 4 channels); readings: {readings}; "
          f"ingest processes: {args.processes}; route: {args.route}")
    print(f"tempest ingest (drop -> queryable): {elapsed:.1f} s, {n / elapsed:,.0f} days/s, "
          f"{tempest_rate:,.0f} readings/s")
    print(f"baseline executemany, one row per reading: {base_s:.1f} s, "
          f"{base_rate:,.0f} readings/s")
    print(f"ratio tempest/baseline: {tempest_rate / base_rate:.2f}x")
    print(f"stages on {split['files']} files: parse+validate {split['parse_ms_per_file']:.1f} "
          f"ms/file; store {split['store_readings_per_s']:,.0f} readings/s vs baseline "
          f"{split['baseline_readings_per_s']:,.0f} readings/s = "
          f"{split['store_readings_per_s'] / split['baseline_readings_per_s']:.2f}x")
    print(f"store size: tempest {(data / 'tempest.sqlite3').stat().st_size / 1e6:.1f} MB, "
          f"baseline {(work / 'baseline.sqlite3').stat().st_size / 1e6:.1f} MB")
    if pg is not None:
        where = "given server" if args.database_url else "throwaway cluster, durable"
        pg_s = pg["elapsed"]
        print(f"tempest ingest on postgresql ({where}; drop -> queryable): {pg_s:.1f} s, "
              f"{n / pg_s:,.0f} days/s, {readings / pg_s:,.0f} readings/s")
        print(f"ratio postgresql/sqlite (tempest, same files and route; the sqlite run above "
              f"is the baseline): {elapsed / pg_s:.2f}x")
        print(f"ratio postgresql tempest/baseline executemany (sqlite): "
              f"{readings / pg_s / base_rate:.2f}x")
        print(f"stages on postgresql, {split['files']} files: store "
              f"{split['pg_store_readings_per_s']:,.0f} readings/s "
              f"({split['pg_store_ms_per_file']:.2f} ms/file; sqlite "
              f"{split['store_ms_per_file']:.2f}) vs psycopg executemany "
              f"{split['pg_baseline_readings_per_s']:,.0f} readings/s = "
              f"{split['pg_store_readings_per_s'] / split['pg_baseline_readings_per_s']:.2f}x")
        print(f"store size: postgresql database {pg['size']:.1f} MB")
    print(f"load average (1, 5, 15 min): before {load_before}; after {load_after}")


if __name__ == "__main__":
    main()
