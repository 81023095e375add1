"""Shared by the Tempest benchmarks: day files on disk, a real Tempest process, percentiles."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core import civil  # noqa: E402
from tests.tempest.tempest_testdata import make_day  # noqa: E402

OUT = REPO / "bench" / "out"


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


def register(data: Path, paths: list[Path]) -> None:
    """Register the meters the day files `<serial>_<day>.json` belong to, as `tempest meters
    add` does: ingest stores days only of meters Tempest knows."""
    from tempest import create_app, keys
    from tempest.db import connect

    create_app({"DATA_DIR": str(data)})  # the store
    conn = connect(data / "tempest.sqlite3")
    try:
        for serial in sorted({p.stem.split("_")[0] for p in paths}):
            keys.add(conn, serial)
    finally:
        conn.close()


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Server:
    """A real `tempest serve` (or gunicorn) process, stopped by its PID."""

    def __init__(self, data_dir: Path, host: str = "127.0.0.30", gunicorn_workers: int = 0,
                 ingest: bool = True, env: dict | None = None):
        self.data_dir = data_dir
        self.host = host
        self.port = free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.env = {**os.environ, "TEMPEST_DATA_DIR": str(data_dir),
                    "TEMPEST_SETTLE_SECONDS": "0", **(env or {})}
        if gunicorn_workers:
            cmd = [str(Path(sys.executable).parent / "gunicorn"), "-w", str(gunicorn_workers),
                   "-b", f"{host}:{self.port}", "--log-level", "warning", "tempest.wsgi:app"]
        else:
            cmd = [sys.executable, "-m", "tempest", "serve", "--data-dir", str(data_dir),
                   "--host", host, "--port", str(self.port), "--no-access-log"]
            if not ingest:
                cmd.append("--no-ingest")
        log = open(data_dir.parent / f"{data_dir.name}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=self.env, cwd=REPO)
        log.close()
        deadline = time.time() + 60
        while True:
            try:
                if requests.get(self.url + "/api/v1/health", timeout=5).ok:
                    break
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("Tempest did not start; see its log")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


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
