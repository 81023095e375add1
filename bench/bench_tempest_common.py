"""Shared by the Tempest benchmarks: day files on disk, percentiles, wrk's results. The real
Tempest they run is tests/support/tempest.py's (started and stopped by PID)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core import civil  # noqa: E402
from tempest import settings  # noqa: E402
from tests.tempest.tempest_testdata import make_day  # noqa: E402

OUT = REPO / "bench" / "out"
# Tempest at its production pace: the drop folder rescanned as often as by default, not every
# second as the tests have it (tests/support/tempest.py); files are still taken at once.
PRODUCTION_PACE = {"TEMPEST_RESCAN_SECONDS": settings.DEFAULTS["RESCAN_SECONDS"]}
# gunicorn's worker classes the benchmarks compare (--worker-class): its own sync worker, and
# Tempest's event-loop worker for large per-meter fleets (tempest/web/loopworker.py).
WORKER_CLASSES = {"sync": "", "loop": "tempest.web.loopworker.LoopWorker"}


def day_names(count: int, meters: int) -> list[tuple[str, str]]:
    """(serial, day) pairs: `meters` meters, consecutive days from 2023-01-01 (DST days too)."""
    first = civil.parse_day("2023-01-01")
    per = -(-count // meters)
    pairs = []
    for m in range(meters):
        for d in range(per):
            if len(pairs) == count:
                return pairs
            pairs.append((f"b{m:05d}", civil.format_day(first + d)))
    return pairs


def day_files(folder: Path, count: int, meters: int, *, interval: int = 5,
              channels: int = 4) -> list[Path]:
    """Generate (once, then reuse) `count` sealed day files in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (serial, day) in enumerate(day_names(count, meters)):
        path = folder / f"{serial}_{day}.json"
        if not path.exists():
            path.write_bytes(make_day(serial, day, interval=interval, channels=channels))
        paths.append(path)
        if i and i % 1000 == 0:
            print(f"  generated {i} files", file=sys.stderr)
    return paths


def register(data: Path, paths: list[Path], database_url: str | None = None) -> None:
    """Register the meters the day files `<serial>_<day>.json` belong to, as `tempest meters
    add` does: ingest stores days only of meters Tempest knows. The store is the SQLite file
    in `data`, or the PostgreSQL database at `database_url`."""
    from tempest import create_app, keys
    from tempest.db import connect

    create_app({"DATA_DIR": str(data), **({"DATABASE_URL": database_url} if database_url
                                           else {})})  # the store
    conn = connect(database_url or data / "tempest.sqlite3")
    try:
        for serial in sorted({p.stem.split("_")[0] for p in paths}):
            keys.add(conn, serial)
    finally:
        conn.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def wrk_result(out: str) -> dict:
    """Latency and counts from the RESULT line our wrk Lua scripts print when they finish."""
    m = re.search(r"RESULT p50=(\d+) p95=(\d+) p99=(\d+) requests=(\d+) errors=(\d+)", out)
    p50, p95, p99, n, errors = (int(x) for x in m.groups())
    return {"p50_ms": p50 / 1000, "p95_ms": p95 / 1000, "p99_ms": p99 / 1000, "requests": n,
            "errors": errors}
