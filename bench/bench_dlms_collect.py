"""A bulk host's 1,000 DLMS meters collected by Tempest (issue 19): the target is a day from
each within 10 minutes on the development machine (docs/dlms.md, docs/scaling.md).

Real processes throughout: `meter tick --count N --mix --ledger` seals the host's days (its
own day files are the ground truth), `meter dlms-serve --count N --mix` serves every meter on
a port of its own, Tempest registers them all (`tempest meters add`, `tempest meters dlms
--from`), then ONE collection round, `tempest dlms-collect --workers W`, reads yesterday
from every meter and drops the day files, and `tempest ingest` stores them.

Baseline, same run: the same reads (the collector's `collect_day`) done one meter at a time
on a sample of meters spread over the range, into a folder of their own; the time per meter
x N is what a sequential collector would take (the round's time includes its process's
start). Printed: the elapsed time against the 10-minute target, the ratio sequential /
concurrent, the host's memory (RSS) and the load average; a sample of the collected days is
checked against the host's own day files and `meter truth`.

Usage: .venv/bin/python bench/bench_dlms_collect.py [--count 1000] [--workers 8] [--processes 2]
       [--sample 30] [--dir /var/tmp/bench-dlms] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import civil  # noqa: E402
from meter import bulk, config, daybuild  # noqa: E402
from tempest.dlms.collect import Endpoint, collect_day  # noqa: E402
from tests.dlms import bulk as host  # noqa: E402
from tests.dlms.meters import AT  # noqa: E402
from tests.support.addresses import free_address  # noqa: E402
from tests.support.processes import stop_process  # noqa: E402

TARGET_S = 600.0


def family(pid: int) -> list[int]:
    """The host process and its forked workers (--processes)."""
    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(int(k) for k in kids)]


def proc_memory(pid: int) -> dict:
    """Resident MiB now and at peak, summed over the host's processes (forked workers share
    pages with the parent, so the sum overstates what they take together)."""
    rss = peak = 0
    for p in family(pid):
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{p}/status").read_text()
                      .splitlines() if ":" in line)
        rss += int(fields["VmRSS"].split()[0])
        peak += int(fields["VmHWM"].split()[0])
    return {"processes": len(family(pid)), "rss_mib": round(rss / 1024, 1),
            "peak_rss_mib": round(peak / 1024, 1)}


def cpu_s(pid: int) -> float:
    """CPU time so far (user + system) of the host's processes, from /proc."""
    total = 0
    for p in family(pid):
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def collect(tempest_dir: Path, workers: int, *extra: str) -> tuple[float, list[dict]]:
    t0 = time.monotonic()
    got = subprocess.run(
        [sys.executable, "-m", "tempest", "dlms-collect", "--data-dir", str(tempest_dir),
         "--at", AT.isoformat(), "--redial-days", "0", "--workers", str(workers), *extra],
        env=host.env(), capture_output=True, text=True)
    elapsed = time.monotonic() - t0
    return elapsed, [json.loads(line) for line in got.stdout.splitlines()]


def check_sample(tmp: Path, drop: Path, lines: list[dict], sample: list[int]) -> dict:
    """The sampled meters' dropped days against the host's own sealed files and the truth."""
    base = json.loads((tmp / "bulk.json").read_text())
    by_serial = {line["serial"]: line for line in lines}
    day = civil.parse_day(host.DAY)
    checked = intervals = 0
    for i in sample:
        serial = f"{base['serial']}-{i:04d}"
        cfg = config.from_dict(bulk.derive(base, i, True))
        truth = daybuild.truth(cfg, day)
        line = by_serial[serial]
        if truth["day_faults"]["outage"]:
            assert line["file"] is None, serial
            continue
        got = json.loads((drop / line["file"]).read_text())
        own = json.loads((tmp / "host" / serial / "outbox" / f"{serial}_{host.DAY}.json")
                         .read_text())
        for key in ("datastreams", "quality", "snapshots", "closing_snapshots", "channels"):
            assert got[key] == own[key], (serial, key)
        for iv in truth["intervals"]:
            if iv["recorded"] is None:
                continue
            for name, kwh in iv["recorded"].items():
                assert Decimal(str(got["datastreams"][name][iv["end"]])) == Decimal(kwh), serial
            intervals += 1
        checked += 1
    return {"meters_checked": checked, "intervals_checked": intervals, "equal": True}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--sample", type=int, default=30)
    ap.add_argument("--processes", type=int, default=2, help="the host's (one per core)")
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-dlms-", dir=args.dir))
    proc = None
    out: dict = {"count": args.count, "workers": args.workers, "processes": args.processes,
                 "day": host.DAY,
                 "load_average_start": os.getloadavg()}
    try:
        address, _ = free_address()
        host.write_base(tmp, 20000)
        t0 = time.monotonic()
        host.seal_ledger(tmp, args.count)
        out["ledger_seal_s"] = round(time.monotonic() - t0, 1)
        t0 = time.monotonic()
        proc, started = host.start_host(tmp, args.count, address, args.processes)
        out["host_start_s"] = round(time.monotonic() - t0, 1)
        out["host"] = {**started, **proc_memory(proc.pid)}
        print(json.dumps({"host": out["host"], "start_s": out["host_start_s"]}), flush=True)
        eps = json.loads((tmp / "endpoints.json").read_text())
        t0 = time.monotonic()
        host.register(tmp, tmp / "tempest", tmp / "endpoints.json")
        out["register_s"] = round(time.monotonic() - t0, 1)

        # Baseline: a sample, one meter at a time (the collector's own reads, in this
        # process: a collector process's start is paid once either way and is noisy here).
        step = max(1, args.count // args.sample)
        sample = list(range(1, args.count + 1, step))[:args.sample]
        (tmp / "baseline").mkdir()
        now = AT.timestamp()
        t0 = time.monotonic()
        for i in sample:
            e = eps[i - 1]
            collect_day(Endpoint(e["serial"], e["host"], e["port"], e["password"],
                                 e["timezone"]), civil.parse_day(host.DAY), tmp / "baseline",
                        now)
        seq_s = time.monotonic() - t0
        per_meter = seq_s / len(sample)
        sequential = per_meter * args.count
        out["baseline"] = {"meters": len(sample), "seconds": round(seq_s, 1),
                           "per_meter_s": round(per_meter, 3),
                           "sequential_estimate_s": round(sequential, 1)}
        print(json.dumps({"baseline": out["baseline"]}), flush=True)

        # The round: every meter, W at a time.
        load_before = os.getloadavg()
        host_cpu, collector_cpu = cpu_s(proc.pid), children_cpu_s()
        elapsed, lines = collect(tmp / "tempest", args.workers)
        host_cpu, collector_cpu = cpu_s(proc.pid) - host_cpu, children_cpu_s() - collector_cpu
        errors = [x for x in lines if "error" in x]
        dropped = [x for x in lines if x.get("file")]
        out["collect"] = {
            "seconds": round(elapsed, 1), "meters": len(lines), "errors": len(errors),
            "files_dropped": len(dropped), "outage_days": len(lines) - len(errors) - len(dropped),
            "meters_per_s": round(len(lines) / elapsed, 2),
            "target_s": TARGET_S, "within_target": elapsed <= TARGET_S and not errors,
            "ratio_sequential_over_concurrent": round(sequential / elapsed, 2),
            # CPU, whatever else the machine runs: what the round costs on an idle machine.
            "host_cpu_s": round(host_cpu, 1), "collector_cpu_s": round(collector_cpu, 1),
            "cpu_ms_per_meter": round(1000 * (host_cpu + collector_cpu) / len(lines), 1),
            "load_average_before": load_before, "load_average_after": os.getloadavg()}
        out["host_after"] = proc_memory(proc.pid)
        print(json.dumps({"collect": out["collect"], "host_after": out["host_after"]}),
              flush=True)
        out["truth"] = check_sample(tmp, tmp / "tempest" / "drop", lines, sample)

        t0 = time.monotonic()
        got = subprocess.run([sys.executable, "-m", "tempest", "ingest", "--data-dir",
                              str(tmp / "tempest"), "-q"], env=host.env(), capture_output=True,
                             text=True, check=True)
        summary = json.loads(got.stdout.splitlines()[-1])
        out["ingest"] = {"seconds": round(time.monotonic() - t0, 1),
                         "stored": summary.get("stored"), "files": summary.get("files")}
        out["load_average_end"] = os.getloadavg()
        print(json.dumps({"truth": out["truth"], "ingest": out["ingest"]}), flush=True)
        target = ROOT / "bench" / "out" / "dlms_collect.json"
        runs = json.loads(target.read_text()) if target.exists() else []
        runs = (runs if isinstance(runs, list) else [runs]) + [out]
        target.write_text(json.dumps(runs, indent=1) + "\n")
        print(f"{args.count} meters' {host.DAY} collected in {elapsed:.0f} s "
              f"(target {TARGET_S:.0f} s); sequential estimate {sequential:.0f} s, "
              f"ratio {sequential / elapsed:.2f}x; host RSS "
              f"{out['host_after']['peak_rss_mib']} MiB peak; load {load_before[0]:.1f}")
    finally:
        stop_process(proc)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}", file=sys.stderr)


if __name__ == "__main__":
    main()
