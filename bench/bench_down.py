"""`scripts/down.sh` for the 12-meter local fleet, in seconds, against stopping the same
processes one at a time (SIGTERM and a wait for each, as the first down.sh did), measured in
the same run on the same fleet.

The fleet is brought up once with `scripts/up.sh` (its deploy, as a new user runs it); between
two measurements every process is started again through its own supervisor script (`*-ctl
start`, what the deploy ends with), so each measurement stops a whole fleet that has been
running for `--settle` seconds. Rounds alternate which way goes first; the output gives each
way's median and every run, the slowest processes of the one-at-a-time baseline (the time
from its SIGTERM to its exit, by kind), and the load average, since the machine is shared.

Uses the local fleet under var/local/: run it under the lab lock, like the localfleet tests.
A fleet that was up before the run is up again after it; one that was down is left down.
Usage: flock /tmp/meters-lab.lock .venv/bin/python bench/bench_down.py [--rounds 3] [--fast]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCAL = REPO / "var" / "local"
OUT = REPO / "bench" / "out"


def controls() -> list[Path]:
    """Every supervisor script of the local fleet, Tempest last (the order down.sh uses)."""
    found = sorted(p for p in LOCAL.glob("**/*-ctl") if os.access(p, os.X_OK))
    return sorted(found, key=lambda p: p.name == "tempest-ctl")


def kind(ctl: Path) -> str:
    return ctl.name.removesuffix("-ctl")


def running(ctl: Path) -> bool:
    return subprocess.run([str(ctl), "status"], capture_output=True, text=True,
                          timeout=30).returncode == 0


def start_all(ctls: list[Path]) -> None:
    """Tempest first (the meters' deploy checks wait on it), then the rest at once."""
    tempest = [c for c in ctls if c.name == "tempest-ctl"]
    others = [c for c in ctls if c.name != "tempest-ctl"]
    for ctl in tempest:
        _start(ctl)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(_start, others))


def _start(ctl: Path) -> None:
    res = subprocess.run([str(ctl), "start"], capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise SystemExit(f"{ctl} start failed: {res.stderr.strip() or res.stdout.strip()}")


def one_at_a_time(ctls: list[Path]) -> tuple[float, dict[str, list[float]]]:
    """The baseline: each process stopped with SIGTERM, waiting for it to exit before the next
    (the ctl's own stop: SIGTERM, then a wait on the pid)."""
    each: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    for ctl in ctls:
        t = time.perf_counter()
        subprocess.run([str(ctl), "stop"], capture_output=True, timeout=120, check=True)
        each.setdefault(kind(ctl), []).append(time.perf_counter() - t)
    return time.perf_counter() - t0, each


def down_sh() -> float:
    t0 = time.perf_counter()
    subprocess.run([str(REPO / "scripts" / "down.sh")], capture_output=True, timeout=300,
                   check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="measurements of each way")
    ap.add_argument("--settle", type=float, default=5.0,
                    help="seconds the fleet runs before each measurement")
    ap.add_argument("--fast", action="store_true", help="bring the fleet up with up.sh --fast")
    args = ap.parse_args()

    before = controls()
    was_up = bool(before) and all(running(c) for c in before)
    print(f"bringing the fleet up with scripts/up.sh (load average {os.getloadavg()[0]:.1f})",
          file=sys.stderr)
    t = time.perf_counter()
    subprocess.run([str(REPO / "scripts" / "up.sh"), *(["--fast"] if args.fast else [])],
                   check=True, stdout=subprocess.DEVNULL)
    print(f"  up.sh took {time.perf_counter() - t:.0f} s", file=sys.stderr)
    ctls = controls()
    base, mine, loads = [], [], []
    each: dict[str, list[float]] = {}
    try:
        for r in range(args.rounds):
            ways = ["baseline", "down.sh"] if r % 2 == 0 else ["down.sh", "baseline"]
            for way in ways:
                start_all(ctls)
                time.sleep(args.settle)
                loads.append(os.getloadavg()[0])
                if way == "baseline":
                    seconds, per = one_at_a_time(ctls)
                    base.append(seconds)
                    for k, v in per.items():
                        each.setdefault(k, []).extend(v)
                else:
                    mine.append(down_sh())
                left = [c for c in ctls if running(c)]
                if left:
                    raise SystemExit(f"{way} left processes running: {', '.join(map(str, left))}")
                print(f"  round {r + 1} {way}: {(base if way == 'baseline' else mine)[-1]:.2f} s",
                      file=sys.stderr)
    finally:
        if was_up:
            start_all(ctls)
        else:
            down_sh()

    b, m = statistics.median(base), statistics.median(mine)
    result = {"processes": len(ctls), "rounds": args.rounds,
              "baseline_s": [round(x, 2) for x in base], "down_sh_s": [round(x, 2) for x in mine],
              "baseline_median_s": round(b, 2), "down_sh_median_s": round(m, 2),
              "speedup": round(b / m, 2),
              "stop_s_by_kind": {k: {"median": round(statistics.median(v), 2),
                                     "max": round(max(v), 2), "count": len(v)}
                                 for k, v in sorted(each.items())},
              "load_average": [round(x, 1) for x in loads], "cpus": os.cpu_count()}
    print(f"{len(ctls)} processes; load average {min(loads):.1f}-{max(loads):.1f} "
          f"on {os.cpu_count()} CPUs")
    print(f"one at a time (SIGTERM, wait, next): median {b:.2f} s  "
          f"{[round(x, 2) for x in base]}")
    print(f"scripts/down.sh:                     median {m:.2f} s  "
          f"{[round(x, 2) for x in mine]}  ({b / m:.1f}x faster; target 5 s, aim 2 s)")
    for k, v in result["stop_s_by_kind"].items():
        print(f"  one {k} alone: median {v['median']:.2f} s, slowest {v['max']:.2f} s "
              f"(of {v['count']})")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "down.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
