"""Concentrator batches against per-meter uploads: days taken and stored per second, one
Tempest (`tempest serve`, web and ingest in one process), the same run. Not part of CI.

    .venv/bin/python bench/bench_concentrator.py [--meters 500] [--days 2] [--batch 200]

The same number of real sealed day files (5-minute, 3 channels) go in twice, to two sets of
meters: one request per file on `POST /api/v1/days` with each meter's key, then batches of
--batch files on `POST /api/v1/concentrator/days` with one concentrator's key. Reported for
each: the seconds until every file was answered (202 / accepted) and until every day was
stored by ingest, as days per second. Results: bench/out/concentrator.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import requests
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support, as a script

from tempest.cli import main as tempest_main
from tests.support.tempest import Tempest
from tests.tempest.tempest_testdata import make_day

OUT = Path(__file__).parent / "out" / "concentrator.json"


def days_of(serials: list[str], days: int) -> list[tuple[str, bytes]]:
    return [(s, make_day(s, f"2023-05-{10 + d:02d}")) for s in serials for d in range(days)]


def stored(tempest: Tempest) -> int:
    return tempest.get("api/v1/summary").json()["days_stored"]


def wait_stored(tempest: Tempest, total: int, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while stored(tempest) < total:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {stored(tempest)} of {total} days stored")
        time.sleep(0.2)


def per_meter(tempest: Tempest, files, keys: dict[str, str]) -> float:
    with requests.Session() as s:
        for serial, data in files:
            r = s.post(tempest.endpoint("api/v1/days"), data=data, timeout=60,
                       headers={"x-api-key": keys[serial], "Content-Type": "application/json"})
            assert r.status_code == 202, r.text
    return time.monotonic()


def batched(tempest: Tempest, files, key: str, batch: int) -> float:
    with requests.Session() as s:
        for start in range(0, len(files), batch):
            texts = [data.decode() for _, data in files[start:start + batch]]
            r = s.post(tempest.endpoint("api/v1/concentrator/days"), json={"files": texts},
                       headers={"x-api-key": key}, timeout=300)
            assert r.status_code == 200 and r.json()["accepted"] == len(texts), r.text[:500]
    return time.monotonic()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meters", type=int, default=500)
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--batch", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tempest = Tempest(Path(tmp) / "data").start()
        try:
            cli = CliRunner()
            dd = ["--data-dir", str(tempest.data_dir)]
            solo = [f"solo-{i:05d}" for i in range(args.meters)]
            res = cli.invoke(tempest_main, ["meters", "add", *solo, "--json", "-q", *dd])
            keys = json.loads(res.stdout)
            key = cli.invoke(tempest_main, ["concentrators", "add", "dcu", *dd]).stdout.strip()
            cli.invoke(tempest_main, ["concentrators", "assign", "dcu", "--base", "dcu",
                                      "--count", str(args.meters), *dd])
            behind = [f"dcu-{i:04d}" for i in range(1, args.meters + 1)]
            total = args.meters * args.days
            results = {}
            for name, run, files, before in (
                    ("per_meter", lambda f: per_meter(tempest, f, keys), days_of(solo, args.days),
                     0),
                    ("concentrator", lambda f: batched(tempest, f, key, args.batch),
                     days_of(behind, args.days), total)):
                t0 = time.monotonic()
                answered = run(files)
                wait_stored(tempest, before + total)
                done = time.monotonic()
                results[name] = {"days": total, "answered_s": round(answered - t0, 2),
                                 "stored_s": round(done - t0, 2),
                                 "answered_per_s": round(total / (answered - t0), 1),
                                 "stored_per_s": round(total / (done - t0), 1)}
                print(name, results[name], flush=True)
        finally:
            tempest.stop()
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"meters": args.meters, "days": args.days, "batch": args.batch,
                               **results}, indent=1))


if __name__ == "__main__":
    main()
