"""One round of DLMS collection over the registry's meters (docs/dlms.md), as
`tempest dlms-collect` runs it once or `--every` N seconds.

For each meter: yesterday in its zone, and each of the `redial_days` days before with no stored
day and no day file of its own waiting in the drop folder (a redial by range). What a round
reads besides the day files goes to the store: each meter's clock skew (or its error) in
`dlms_meters`, its logged events in `meter_events` (one row per time and code, so reading a
log again stores nothing twice). A day whose file is in the drop folder is done as far as the
collector is concerned: ingest stores it, and a file dropped twice stores once.

A round reads up to `workers` meters at once (threads: the time goes into waiting for the
meters, not into Python), so a thousand meters are read in minutes (bench/bench_dlms_collect.py).
One meter's days are read one after another on one worker; the store is written under a
lock, one meter's skew and events at a time, always before that day's file is dropped.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from core import civil, tzdb
from tempest import db
from tempest.dlms import endpoints
from tempest.dlms.collect import Collected, Endpoint, collect_day

EVENT_NAMES = {1: "power_down", 2: "power_up", 4: "clock_adjusted_old",
               5: "clock_adjusted_new"}


def waiting_days(drop: Path) -> set[tuple[str, str]]:
    """(serial, day) of every DLMS day file waiting in the drop folder (one listing a round,
    not one per meter and day)."""
    out = set()
    try:
        with os.scandir(drop) as it:
            for entry in it:
                serial, sep, rest = entry.name.rpartition("_")
                if sep and ".dl-" in rest and rest.endswith(".json"):
                    out.add((serial, rest.split(".", 1)[0]))
    except FileNotFoundError:
        pass
    return out


def due_days(conn, ep: Endpoint, drop: Path, now: float, redial_days: int,
             waiting: set[tuple[str, str]] | None = None) -> list[int]:
    """Yesterday (in the meter's zone) and the missing days of the `redial_days` before it,
    oldest first. `waiting`: the drop folder's DLMS day files, if listed already."""
    yesterday = tzdb.zone(ep.timezone).day_of(int(now // 60)) - 1
    days = [yesterday - back for back in range(max(redial_days, 0), -1, -1)]
    names = [civil.format_day(d) for d in days]
    stored = {r["reading_day"] for r in conn.execute(
        "SELECT reading_day FROM days WHERE serial = ? AND reading_day >= ? AND "
        "reading_day <= ?", (ep.serial, names[0], names[-1]))}
    if waiting is None:
        waiting = waiting_days(drop)
    return [d for d, n in zip(days, names, strict=True) if n not in stored
            and (ep.serial, n) not in waiting]


def store_events(conn, serial: str, events: list[tuple[float, int]], now: float) -> int:
    """Keep the meter's logged events; how many were new."""
    added = 0
    with db.transaction(conn):
        for at, code in events:
            cur = conn.execute(
                "INSERT INTO meter_events (serial, at, code, event, source, read_at) "
                "VALUES (?, ?, ?, ?, 'dlms', ?) ON CONFLICT DO NOTHING",
                (serial, at, code, EVENT_NAMES.get(code, f"event_{code}"), now))
            added += cur.rowcount if cur.rowcount > 0 else 0
    return added


def collect_round(conn, eps: list[Endpoint], drop: Path, now: float, redial_days: int,
                  day: int | None = None, report=print, workers: int = 1) -> int:
    """Collect every due day of every endpoint (or `day` only), `workers` meters at a time;
    `report` gets one dict per meter-day. The number of meters that failed."""
    waiting = waiting_days(drop) if day is None else set()
    plan = [(ep, [day] if day is not None else due_days(conn, ep, drop, now, redial_days,
                                                         waiting)) for ep in eps]
    store = threading.Lock()  # one connection: its transactions must not interleave

    def one_meter(ep: Endpoint, wanted: list[int]) -> int:
        for target in wanted:
            def keep(got: Collected, serial=ep.serial):
                with store:
                    endpoints.record(conn, serial, now, skew_s=got.skew_s)
                    store_events(conn, serial, got.events, now)

            try:
                got = collect_day(ep, target, drop, now, keep)
            except Exception as exc:  # a meter down or refusing must not stop the others
                error = f"{type(exc).__name__}: {exc}"
                with store:
                    endpoints.record(conn, ep.serial, now, error=error)
                    report({"serial": ep.serial, "day": civil.format_day(target),
                            "route": "dlms", "error": error})
                return 1  # its other days wait for the next round
            with store:
                report(got.summary())
        return 0

    if workers <= 1 or len(plan) <= 1:
        return sum(one_meter(ep, wanted) for ep, wanted in plan)
    with ThreadPoolExecutor(min(workers, len(plan)), thread_name_prefix="dlms-collect") as pool:
        return sum(pool.map(lambda p: one_meter(*p), plan))
