"""InfluxDB sink throughput, in points per second, against writing the same points directly.

    .venv/bin/python bench/bench_sink_influx.py [--meters 100] [--days 20] [--rounds 2]

A store is seeded with meters x days of 5-minute, 3-channel days (through the store API, as
ingest would store them), and a real VictoriaMetrics runs on loopback. Then, in the same run
against the same server, alternating:

- baseline: the same points, as line protocol strings built before the clock starts (one
  string per request, the fast way to call it), written with influxdb-client's synchronous
  write API in batches of the sink's size;
- sink: `tempest sinks replay` of every day, then the InfluxDB sink's worker drains the queue
  (reading the store, building the lines, writing, acknowledging each day in the store).

For context it also times a third way: a direct loader that has the same days in memory as
numbers and formats each point itself (an f-string per point, as one would write it) before
writing the same batches.

Ratio = sink / baseline points per second (>= 0.8 wanted); best round of each. The CPU
seconds both sides use (this process, all threads, plus VictoriaMetrics) are printed too: on a
busy machine wall-clock rates swing with other load, the CPU cost per point does not.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time

from bench_sinks_common import OUT, config_for, seed

from tempest import db
from tempest.read import stored
from tempest.settings import layout
from tempest.sinks import lineproto, queue, registry
from tempest.sinks.influx import InfluxSink
from tempest.sinks.worker import Policy, SinkWorker
from tests.support.sink_servers import VM_BINARY, VictoriaMetrics


def all_days(conn):
    for serial in stored.serials(conn, "0000-01-01", "9999-12-31"):
        yield from stored.meter_range(conn, serial, "0000-01-01", "9999-12-31")


def batches(conn, budget: int) -> list[str]:
    """The sink's lines, grouped as the sink groups them (whole days up to the budget)."""
    out, lines, size = [], [], 0
    for day in all_days(conn):
        day_lines = lineproto.day_lines(day)
        if lines and size + len(day_lines) > budget:
            out.append("\n".join(lines) + "\n")
            lines, size = [], 0
        lines.extend(day_lines)
        size += len(day_lines)
    if lines:
        out.append("\n".join(lines) + "\n")
    return out


def groups(conn, budget: int) -> list[list]:
    """The stored days, grouped as the sink groups them (whole days up to the budget)."""
    out, group, size = [], [], 0
    for day in all_days(conn):
        n = lineproto.point_count(day)
        if group and size + n > budget:
            out.append(group)
            group, size = [], 0
        group.append(day)
        size += n
    if group:
        out.append(group)
    return out


def run_direct(config, days_by_write: list[list], vm) -> Clock:
    """A direct loader: the days' numbers in memory, an f-string per point, then write."""
    sink = InfluxSink(config["SINK_INFLUX_URL"], "bench", "bench", "meters", 1, 60.0)
    try:
        with Clock(vm) as clock:
            for group in days_by_write:
                lines = []
                for day in group:
                    for name in day.channels:
                        for i, wh in enumerate(day.channel(name).tolist()):
                            if wh >= 0:
                                ts = (day.first_end + i * day.interval) * 60
                                lines.append(f"consumption,datastream={name},"
                                             f"serial={day.serial} reading={wh / 1000} {ts}")
                sink.writer.write(bucket="meters", org="bench", record="\n".join(lines),
                                  write_precision="s")
        return clock
    finally:
        sink.close()


class Clock:
    """Wall time, and CPU time of this process and of VictoriaMetrics."""

    def __init__(self, vm: VictoriaMetrics):
        self.vm = vm

    def __enter__(self):
        self.wall, self.cpu, self.vm_cpu = (time.perf_counter(), time.process_time(),
                                            self.vm.cpu_seconds())
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        self.vm_cpu = self.vm.cpu_seconds() - self.vm_cpu


def run_baseline(config, bodies: list[str], vm) -> Clock:
    sink = InfluxSink(config["SINK_INFLUX_URL"], "bench", "bench", "meters", 1, 60.0)
    try:
        with Clock(vm) as clock:
            for body in bodies:
                sink.writer.write(bucket="meters", org="bench", record=body,
                                  write_precision="s")
        return clock
    finally:
        sink.close()


def run_sink(config, conn, vm) -> Clock:
    queue.replay(conn, "influxdb", "0000-01-01", "9999-12-31", None, time.time())
    sink = registry.build(config, "influxdb")
    worker = SinkWorker(sink, layout(config).database, Policy.from_config(config),
                        threading.Event())
    with Clock(vm) as clock:
        while queue.head(conn, "influxdb", 1):
            worker.step(conn, time.time())
    sink.close()
    return clock


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--meters", type=int, default=100)
    p.add_argument("--days", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--pin", action="store_true",
                   help="run VictoriaMetrics on the last CPU and this process on the others, "
                        "so the two do not take each other's CPU (needs 2 or more CPUs)")
    args = p.parse_args()
    if not os.path.exists(VM_BINARY):
        sys.exit("victoria-metrics is not installed (scripts/setup.sh --test as root)")
    work = OUT / "sink_influx"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    print(f"seeding {args.meters} meters x {args.days} days ...", file=sys.stderr)
    seed(work / "data", args.meters, "2024-03-20", args.days)
    cpus = sorted(os.sched_getaffinity(0))
    vm_cpus = None
    if args.pin and len(cpus) > 1:
        vm_cpus = {cpus[-1]}
        os.sched_setaffinity(0, set(cpus[:-1]))
    vm = VictoriaMetrics(work / "vm", vm_cpus).start()
    try:
        config = config_for(work / "data", SINK_INFLUX_URL=vm.url, SINK_INFLUX_TOKEN="bench",
                            SINK_INFLUX_ORG="bench", SINK_INFLUX_BUCKET="meters")
        conn = db.connect(layout(config).database)
        registry.sync(conn, config)
        budget = int(config["SINK_INFLUX_BATCH_POINTS"])
        bodies = batches(conn, budget)
        points = sum(b.count("\n") for b in bodies)
        days_by_write = groups(conn, budget)
        base, mine, direct = [], [], []
        for _ in range(args.rounds):
            vm.settle()
            base.append(run_baseline(config, bodies, vm))
            vm.settle()
            mine.append(run_sink(config, conn, vm))
            vm.settle()
            direct.append(run_direct(config, days_by_write, vm))
        conn.close()
    finally:
        vm.stop()
    bb, sb = min(base, key=lambda c: c.wall), min(mine, key=lambda c: c.wall)
    db_ = min(direct, key=lambda c: c.wall)
    b, s, d = points / bb.wall, points / sb.wall, points / db_.wall

    def us(clock, part):  # CPU microseconds per point
        return 1e6 * getattr(clock, part) / points

    cpu_ratio = (us(bb, "cpu") + us(bb, "vm_cpu")) / (us(sb, "cpu") + us(sb, "vm_cpu"))
    result = {"meters": args.meters, "days": args.days, "points": points,
              "batch_points": budget, "writes": len(bodies),
              "baseline_s": [round(c.wall, 3) for c in base],
              "sink_s": [round(c.wall, 3) for c in mine],
              "baseline_points_per_s": round(b), "sink_points_per_s": round(s),
              "ratio": round(s / b, 3), "direct_loader_points_per_s": round(d),
              "ratio_to_direct_loader": round(s / d, 3),
              "cpu_us_per_point": {"baseline_client": round(us(bb, "cpu"), 3),
                                   "baseline_vm": round(us(bb, "vm_cpu"), 3),
                                   "sink_tempest": round(us(sb, "cpu"), 3),
                                   "sink_vm": round(us(sb, "vm_cpu"), 3)},
              "cpu_ratio": round(cpu_ratio, 3), "load_average": os.getloadavg()[0],
              "pinned": bool(vm_cpus)}
    print(f"points: {points:,} in {len(bodies)} writes of up to {budget:,} "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"baseline (prebuilt line protocol, influxdb-client): {b:,.0f} points/s; CPU "
          f"{us(bb, 'cpu'):.2f} us/point client + {us(bb, 'vm_cpu'):.2f} VictoriaMetrics")
    print(f"InfluxDB sink (store -> lines -> write -> ack):      {s:,.0f} points/s; CPU "
          f"{us(sb, 'cpu'):.2f} us/point Tempest + {us(sb, 'vm_cpu'):.2f} VictoriaMetrics")
    print(f"ratio sink/baseline: {s / b:.2f}x wall clock, {cpu_ratio:.2f}x by CPU cost")
    print(f"context: a direct loader formatting each point itself: {d:,.0f} points/s "
          f"(sink/direct {s / d:.2f}x)")
    (OUT / "sink_influx.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
