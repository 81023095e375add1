"""The per-tick engine: the cost of one tick for one meter with 4 channels.

Measures (1) the model alone for one 5-minute interval (what a Pico computes), and (2) a whole
`Ticker.tick` for one interval (model + journal append with fsync + the open day file rewritten
atomically), each against a baseline measured in the same run: appending the same interval as
a JSON line to a file with fsync. Target: under 2 ms per tick on this machine.
Usage: .venv/bin/python bench/bench_tick.py
"""

from __future__ import annotations

import json
import os
import tempfile
import time

from loadmodel.engine import MeterModel
from loadmodel.ticker import Ticker
from meter.clock import now_minute
from meter.config import from_dict
from meter.storage import DiskFS

RAW = {"serial": "tick", "archetype": "family", "timezone": "Europe/Berlin",
       "location": {"latitude": 52.5, "longitude": 13.4, "country": "DE"},
       "channels": {"Total": 1.0, "Main": 0.6, "Sub1": 0.4}, "pv": {"kwp": 5},
       "commissioned": "2024-06-01"}


def best_of(fn, repeat=5):
    return min(fn() for _ in range(repeat))


def main() -> None:
    cfg = from_dict(RAW)
    assert len(cfg.channel_names) == 4
    model = MeterModel(cfg.model)
    day = now_minute("2024-06-10T00:00:00+02:00") // 1440
    start, count = model.day_grid(day)
    model.recorded_interval(day, 0, start, count)  # plan the day once, as a running meter has

    def model_only():
        t = time.perf_counter()
        for i in range(count):
            model.recorded_interval(day, i, start, count)
        return (time.perf_counter() - t) / count

    with tempfile.TemporaryDirectory() as tmp:
        regs = [0, 0, 0, 0]
        ticker = Ticker(MeterModel(cfg.model), cfg.model, DiskFS(), tmp, lambda d: regs,
                        buffer_rows=True)
        first = now_minute("2024-06-10T00:05:00+02:00")
        ticker.tick(first)

        def full_tick():
            t = time.perf_counter()
            n = 96
            for k in range(1, n + 1):
                ticker.tick(first + 5 * k)
            return (time.perf_counter() - t) / n

        def baseline():
            path = os.path.join(tmp, "baseline.jsonl")
            t = time.perf_counter()
            for i in range(96):
                with open(path, "a") as f:
                    f.write(json.dumps({"i": i, "values": [101, 60, 41, 0]}) + "\n")
                    f.flush()
                    os.fsync(f.fileno())
            return (time.perf_counter() - t) / 96

        m = best_of(model_only, 3)
        b = best_of(baseline, 3)
        full = full_tick()
    print(f"model only, one 5-minute interval, 4 channels: {m * 1000:.3f} ms")
    print(f"whole tick (model + journal fsync + atomic day file): {full * 1000:.3f} ms")
    print(f"baseline (append a JSON line with fsync): {b * 1000:.3f} ms")
    print(f"ratio whole tick / baseline: {full / b:.2f}x; target under 2 ms per tick: "
          f"{'met' if full < 0.002 else 'NOT met'}")


if __name__ == "__main__":
    main()
