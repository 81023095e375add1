"""InfluxDB sink throughput, in points per second, against writing the same points directly.

    .venv/bin/python bench/bench_sink_influx.py [--meters 100] [--days 20] [--rounds 2]

A store is seeded with meters x days of 5-minute, 3-channel days (through the store API, as
ingest would store them), and a real VictoriaMetrics runs on loopback. Then, in the same run
against the same server, alternating:

- baseline: the same points, as line protocol strings built before the clock starts, written
  with influxdb-client's synchronous write API in batches of the sink's size;
- sink: `tempest sinks replay` of every day, then the InfluxDB sink's worker drains the queue
  (reading the store, building the lines, writing, acknowledging each day in the store).

Ratio = sink / baseline points per second (>= 0.8 wanted); best round of each.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import threading
import time

from bench_sinks_common import OUT, VictoriaMetrics, config_for, seed

from tempest import db
from tempest.read import stored
from tempest.settings import layout
from tempest.sinks import lineproto, queue, registry
from tempest.sinks.influx import InfluxSink
from tempest.sinks.worker import Policy, SinkWorker


def all_days(conn):
    for serial in stored.serials(conn, "0000-01-01", "9999-12-31"):
        yield from stored.meter_range(conn, serial, "0000-01-01", "9999-12-31")


def batches(conn, budget: int) -> list[str]:
    """The sink's lines, grouped as the sink groups them (whole days up to the budget)."""
    out, lines, size = [], [], 0
    for day in all_days(conn):
        day_lines = lineproto.day_lines(day)
        if lines and size + len(day_lines) > budget:
            out.append("\n".join(lines))
            lines, size = [], 0
        lines.extend(day_lines)
        size += len(day_lines)
    if lines:
        out.append("\n".join(lines))
    return out


def run_baseline(config, bodies: list[str]) -> float:
    sink = InfluxSink(config["SINK_INFLUX_URL"], "bench", "bench", "meters", 1, 60.0)
    try:
        started = time.perf_counter()
        for body in bodies:
            sink.writer.write(bucket="meters", org="bench", record=body,
                              write_precision="s")
        return time.perf_counter() - started
    finally:
        sink.close()


def run_sink(config, conn) -> float:
    queue.replay(conn, "influxdb", "0000-01-01", "9999-12-31", None, time.time())
    sink = registry.build(config, "influxdb")
    worker = SinkWorker(sink, layout(config).database, Policy.from_config(config),
                        threading.Event())
    started = time.perf_counter()
    while queue.head(conn, "influxdb", 1):
        worker.step(conn, time.time())
    elapsed = time.perf_counter() - started
    sink.close()
    return elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--meters", type=int, default=100)
    p.add_argument("--days", type=int, default=20)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    work = OUT / "sink_influx"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    print(f"seeding {args.meters} meters x {args.days} days ...", file=sys.stderr)
    seed(work / "data", args.meters, "2024-03-20", args.days)
    vm = VictoriaMetrics(work / "vm")
    try:
        config = config_for(work / "data", SINK_INFLUX_URL=vm.url, SINK_INFLUX_TOKEN="bench",
                            SINK_INFLUX_ORG="bench", SINK_INFLUX_BUCKET="meters")
        conn = db.connect(layout(config).database)
        registry.sync(conn, config)
        budget = int(config["SINK_INFLUX_BATCH_POINTS"])
        bodies = batches(conn, budget)
        points = sum(b.count("\n") + 1 for b in bodies)
        base, mine = [], []
        for _ in range(args.rounds):
            base.append(run_baseline(config, bodies))
            mine.append(run_sink(config, conn))
        conn.close()
    finally:
        vm.stop()
    b, s = points / min(base), points / min(mine)
    result = {"meters": args.meters, "days": args.days, "points": points,
              "batch_points": budget, "writes": len(bodies),
              "baseline_s": [round(x, 3) for x in base], "sink_s": [round(x, 3) for x in mine],
              "baseline_points_per_s": round(b), "sink_points_per_s": round(s),
              "ratio": round(s / b, 3)}
    print(f"points: {points:,} in {len(bodies)} writes of up to {budget:,}")
    print(f"baseline (prebuilt line protocol, influxdb-client): {b:,.0f} points/s")
    print(f"InfluxDB sink (store -> lines -> write -> ack):      {s:,.0f} points/s")
    print(f"ratio sink/baseline: {s / b:.2f}x")
    (OUT / "sink_influx.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
