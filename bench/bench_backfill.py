"""Backfill to sealed day files: meter-days per second (5-minute intervals, 4 channels).

The issue's size is 1,000 meters x 365 days (--meters 1000 --days 365, about 365,000 files,
~4 GB); the default is smaller. The baseline, measured in the same run on the same numbers,
writes each day with Python's json.dump of a dict (what the seed did), no registers, no checks;
both sides run the vectorised engine for their days inside their clock. The ratio is by wall
clock; the CPU seconds of each side are printed too (on a busy machine wall-clock times swing
with other load, the CPU a day costs does not; the backfill also waits for its one sync).
Usage: .venv/bin/python bench/bench_backfill.py [--meters N] [--days D]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from core import civil, tz
from meter import operations
from meter.bulk import derive_all
from meter.clock import now_minute
from meter.config import from_dict
from meter.vector.engine import VectorMeter

BASE = {"serial": "bf", "timezone": "Europe/Berlin", "interval_min": 5,
        "location": {"latitude": 50.1, "longitude": 8.7, "country": "DE"},
        "channels": {"Total": 1.0, "Main": 0.5, "Sub1": 0.3, "Sub2": 0.2},
        "commissioned": "2025-01-01"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--meters", type=int, default=40)
    ap.add_argument("--days", type=int, default=365)
    args = ap.parse_args()
    first = civil.parse_day("2025-01-01")
    last = first + args.days - 1
    now = now_minute("2026-06-01T00:00:00+00:00")
    cfgs = [from_dict(raw) for raw in derive_all(BASE, args.meters, mix=True)]
    tmp = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    try:
        t, cpu = time.perf_counter(), time.process_time()
        files = 0
        for cfg in cfgs:
            files += len(operations.backfill(cfg, tmp / "ours" / cfg.serial, first, last,
                                             now)["written"])
        ours, ours_cpu = time.perf_counter() - t, time.process_time() - cpu

        t, cpu = time.perf_counter(), time.process_time()
        for cfg in cfgs:
            out = tmp / "baseline" / cfg.serial
            out.mkdir(parents=True)
            vm = VectorMeter(cfg.model)
            zone = vm.m.zone
            run = vm.run(first, last)
            names = cfg.channel_names
            for k in range(len(run.days)):
                sl = run.day_slice(k)
                labels = [tz.label(zone, int(e)) for e in run.ends[sl]]
                doc = {"serial": cfg.serial, "reading_day": civil.format_day(int(run.days[k])),
                       "datastreams": {n: dict(zip(labels, (run.recorded[sl, c] / 1000).tolist(),
                                                   strict=True)) for c, n in enumerate(names)}}
                with open(out / f"{doc['reading_day']}.json", "w") as f:
                    json.dump(doc, f)
        base, base_cpu = time.perf_counter() - t, time.process_time() - cpu
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    md = args.meters * args.days
    print(f"meters backfill: {files} sealed files ({md} meter-days) in {ours:.1f} s = "
          f"{md / ours:.0f} meter-days/s; CPU {1e3 * ours_cpu / md:.2f} ms a day")
    print(f"baseline json.dump of the same readings: {base:.1f} s = {md / base:.0f} meter-days/s; "
          f"CPU {1e3 * base_cpu / md:.2f} ms a day")
    print(f"ratio: {base / ours:.2f}x the baseline's speed ({base_cpu / ours_cpu:.2f}x by CPU)")


if __name__ == "__main__":
    main()
