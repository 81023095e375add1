"""A bulk meter host at scale: the ledger host (`meter tick|run --count N --mix --ledger`)
against the per-meter path, measured in the same run (docs/scaling.md).

For each N: the first tick of N new meters (commissioned almost three years before), a steady
tick five minutes later, and the rollover: the cycles that seal every meter's finished day
(5-minute intervals, 4 channels: Total, two sub-circuits and PV export), each cycle within a
40 s sealing budget, with the wall time until every day is sealed. Baseline, same run and
base config: the per-meter path (`meter tick --count`'s operations.tick, a journal, an open
day file and a state file per meter) on a small N, and what a new meter's opening registers
cost when they were summed from commissioning (the vectorised engine over its history).

Usage: .venv/bin/python bench/bench_bulk_host.py [--counts 2000,20000,100000] [--workers 2]
       [--dir /var/tmp/bench-bulk] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from core import civil
from meter import bulk, config, operations, registers
from meter.bulkhost import LEDGER, BulkHost
from meter.clock import now_minute
from meter.vector.engine import VectorMeter

BASE = {"serial": "bench", "timezone": "Europe/Berlin",
        "location": {"latitude": 52.52, "longitude": 13.40, "country": "DE"},
        "channels": {"Total": 1.0, "Main": 0.6, "Sub1": 0.4}, "pv": {"kwp": 4},
        "commissioned": "2024-01-01"}
DAY = "2026-11-20"
FIRST_AT = f"{DAY}T10:02:00+01:00"
STEADY_AT = f"{DAY}T10:07:00+01:00"
ROLLOVER_AT = "2026-11-21T00:05:00+01:00"
BUDGET_S = 40.0


def rss_mib() -> tuple[float, float]:
    """(this process's resident MiB now, its peak)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines()
                  if ":" in line)
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def baseline(folder: Path, n: int) -> dict:
    """The per-meter path on n meters, and the old opening registers (history summed)."""
    cfg = config.from_dict(BASE)
    raws = bulk.derive_all(BASE, n, True)
    cfgs = [config.from_dict(r) for r in raws]
    day = civil.parse_day(DAY)
    t = time.perf_counter()
    for c in cfgs[:10]:
        vm = VectorMeter(c.model)
        registers._recorded(vm, c.model["commissioned_day"], day - 1)
    history_ms = (time.perf_counter() - t) / 10 * 1000
    roots = [folder / c.serial for c in cfgs]
    t = time.perf_counter()
    for c, root in zip(cfgs, roots, strict=True):
        operations.tick(c, root, now_minute(FIRST_AT))
    first_ms = (time.perf_counter() - t) / n * 1000
    t = time.perf_counter()
    for c, root in zip(cfgs, roots, strict=True):
        operations.tick(c, root, now_minute(STEADY_AT))
    steady_ms = (time.perf_counter() - t) / n * 1000
    del cfg
    return {"meters": n, "load_average_1m": round(os.getloadavg()[0], 1),
            "old_opening_ms_per_meter": round(history_ms, 1),
            "history_days": day - cfgs[0].model["commissioned_day"],
            "first_tick_ms_per_meter_now": round(first_ms, 2),
            "steady_tick_ms_per_meter": round(steady_ms, 2)}


def ledger_host(folder: Path, n: int, workers: int) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    base_file = folder / "base.json"
    base_file.write_text(json.dumps(BASE))
    t = time.perf_counter()
    host = BulkHost(config.read(base_file), n, True, folder, folder / "fleet", workers)
    startup = time.perf_counter() - t
    first = host.tick(now_minute(FIRST_AT))
    steady = host.tick(now_minute(STEADY_AT))
    ledger_bytes = (folder / "fleet" / LEDGER).stat().st_size
    cycles = []
    t = time.perf_counter()
    while True:
        s = host.tick(now_minute(ROLLOVER_AT), BUDGET_S)
        cycles.append(s)
        print(json.dumps({"rollover_cycle": len(cycles), "meters": n, **s,
                          "elapsed_s": round(time.perf_counter() - t, 1)}), flush=True)
        if not s["meters_due"]:
            break
    seal_all = time.perf_counter() - t
    sealed = sum(c["meters_sealed"] for c in cycles)
    files = list((folder / "fleet" / f"{BASE['serial']}-0001" / "outbox").iterdir())
    now_rss, peak_rss = rss_mib()
    return {
        "meters": n, "workers": workers, "startup_s": round(startup, 2),
        "first_tick_s": first["seconds"],
        "first_tick_us_per_meter": round(first["seconds"] / n * 1e6, 1),
        "steady_tick_s": steady["seconds"], "ledger_bytes": ledger_bytes,
        "rollover_cycles": len(cycles),
        "rollover_cycle_s_max": max(c["seconds"] for c in cycles),
        "rollover_cycle_s_median": statistics.median(c["seconds"] for c in cycles),
        "seal_all_s": round(seal_all, 1), "meter_days_sealed": sealed,
        "ms_per_meter_day_wall": round(seal_all / sealed * 1000, 2),
        "day_file_bytes": files[0].stat().st_size if files else None,
        "rss_mib_now": round(now_rss), "rss_mib_peak": round(peak_rss),
        "worker_rss_mib_peak": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "load_average_1m": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--counts", default="2000,20000,100000")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--baseline", type=int, default=40, help="meters on the per-meter path")
    ap.add_argument("--dir", type=Path, default=None, help="where the meter folders go")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    top = Path(tempfile.mkdtemp(prefix="bench-bulk-", dir=args.dir))
    out = {"baseline": None, "ledger": []}
    try:
        out["baseline"] = baseline(top / "per-meter", args.baseline)
        print(json.dumps({"baseline": out["baseline"]}), flush=True)
        for n in [int(c) for c in args.counts.split(",")]:
            r = ledger_host(top / f"ledger-{n}", n, args.workers)
            r["per_meter_path_steady_tick_s_projected"] = round(
                out["baseline"]["steady_tick_ms_per_meter"] * n / 1000, 1)
            r["old_first_tick_s_projected"] = round(
                out["baseline"]["old_opening_ms_per_meter"] * n / 1000)
            out["ledger"].append(r)
            print(json.dumps({"ledger": r}), flush=True)
            if not args.keep:
                shutil.rmtree(top / f"ledger-{n}", ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(top, ignore_errors=True)
    target = Path(__file__).parent / "out" / "bulk_host.json"
    target.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
