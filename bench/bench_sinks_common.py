"""Shared by the sink and export benchmarks: a store seeded fast through the store's own API
(`tempest.store.record_day`, the call ingest makes, without parsing files). The real
VictoriaMetrics they run is tests/support/sink_servers.py's (stopped by its PID)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core import civil  # noqa: E402
from core.dayfile_reader import Day  # noqa: E402
from tempest import db, settings  # noqa: E402
from tempest.store import Delivery, record_day  # noqa: E402
from tests.tempest.tempest_testdata import grid  # noqa: E402

OUT = REPO / "bench" / "out"
ZONES = ("Australia/Sydney", "Pacific/Auckland", "Europe/Berlin", "America/New_York")


def config_for(data_dir: Path, **overrides) -> dict:
    config = dict(settings.DEFAULTS)
    config.update(DATA_DIR=str(data_dir), **overrides)
    settings.check(config)
    return config


def seed(data_dir: Path, meters: int, first: str, days: int, channels: int = 3,
         interval: int = 5, faults: float = 0.01) -> int:
    """Store `meters` x `days` sealed days (zones rotate through ZONES, DST days included):
    household-like Wh with a few missing and estimated intervals. Returns the days stored."""
    config = config_for(data_dir)
    lay = settings.layout(config)
    lay.ensure()
    db.init_db(lay.database)
    conn = db.connect(lay.database, synchronous="OFF")
    rng = np.random.default_rng(7)
    names = ["Total"] + [f"Sub{k}" for k in range(1, channels)]
    roles = {"Total": {"role": "import", "unit": "kWh"},
             **{n: {"role": "sub", "unit": "kWh"} for n in names[1:]}}
    f = civil.parse_day(first)
    stored = 0
    try:
        for m in range(meters):
            serial, zone = f"m{m:05d}", ZONES[m % len(ZONES)]
            regs = [1_000_000 * (k + 1) for k in range(channels)]
            with db.transaction(conn):
                for d in range(days):
                    day = civil.format_day(f + d)
                    ends = grid(zone, day, interval)
                    n = len(ends)
                    subs = rng.integers(1, 120, size=(channels - 1, n)) if channels > 1 else \
                        rng.integers(1, 300, size=(1, n))
                    table = np.vstack([subs.sum(axis=0), subs]) if channels > 1 else subs
                    roll = rng.random(n)
                    quality = ["M" if r < faults else "E" if r < 2 * faults else "A"
                               for r in roll.tolist()]
                    values = {}
                    for k, name in enumerate(names):
                        row = table[k].tolist()
                        values[name] = [None if q == "M" else v for v, q in zip(row, quality, strict=True)]
                    closing = [regs[k] + sum(v for v in values[n] if v is not None)
                               for k, n in enumerate(names)]
                    obj = Day(serial=serial, reading_day=day, interval=interval, timezone=zone,
                              status="sealed", shape="current", channels=roles, ends=ends,
                              labels=[], values=values, quality=quality,
                              opening=dict(zip(names, regs, strict=True)),
                              closing=dict(zip(names, closing, strict=True)),
                              metadata={"version": "bench", "data_model_version": "2.0.0",
                                        "config": {}})
                    key = f"{m:08x}{d:012x}"
                    record_day(conn, obj, Delivery(key, f"{m:032x}{d:032x}", "bench.json", 1,
                                                   "drop", time.time()), "", time.time())
                    regs = closing
                    stored += 1
    finally:
        conn.close()
    return stored
