"""One round of DLMS collection over the registry's meters (docs/dlms.md), as
`tempest dlms-collect` runs it once or `--every` N seconds.

For each meter: yesterday in its zone, and each of the `redial_days` days before with no stored
day and no day file of its own waiting in the drop folder (a redial by range). What a round
reads besides the day files goes to the store: each meter's clock skew (or its error) in
`dlms_meters`, its logged events in `meter_events` (one row per time and code, so reading a
log again stores nothing twice). A day whose file is in the drop folder is done as far as the
collector is concerned: ingest stores it, and a file dropped twice stores once.
"""

from __future__ import annotations

from pathlib import Path

from core import civil, tzdb
from tempest import db
from tempest.dlms import endpoints
from tempest.dlms.collect import Collected, Endpoint, collect_day

EVENT_NAMES = {1: "power_down", 2: "power_up", 4: "clock_adjusted_old",
               5: "clock_adjusted_new"}


def due_days(conn, ep: Endpoint, drop: Path, now: float, redial_days: int) -> list[int]:
    """Yesterday (in the meter's zone) and the missing days of the `redial_days` before it,
    oldest first."""
    yesterday = tzdb.zone(ep.timezone).day_of(int(now // 60)) - 1
    days = [yesterday - back for back in range(max(redial_days, 0), -1, -1)]
    names = [civil.format_day(d) for d in days]
    stored = {r["reading_day"] for r in conn.execute(
        "SELECT reading_day FROM days WHERE serial = ? AND reading_day >= ? AND "
        "reading_day <= ?", (ep.serial, names[0], names[-1]))}
    return [d for d, n in zip(days, names, strict=True) if n not in stored
            and not any(drop.glob(f"{ep.serial}_{n}.dl-*.json"))]


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
                  day: int | None = None, report=print) -> int:
    """Collect every due day of every endpoint (or `day` only); `report` gets one dict per
    meter-day. The number of meters that failed."""
    failed = 0
    for ep in eps:
        wanted = [day] if day is not None else due_days(conn, ep, drop, now, redial_days)
        for target in wanted:
            def keep(got: Collected, serial=ep.serial):
                endpoints.record(conn, serial, now, skew_s=got.skew_s)
                store_events(conn, serial, got.events, now)

            try:
                got = collect_day(ep, target, drop, now, keep)
            except Exception as exc:  # a meter down or refusing must not stop the others
                failed += 1
                error = f"{type(exc).__name__}: {exc}"
                endpoints.record(conn, ep.serial, now, error=error)
                report({"serial": ep.serial, "day": civil.format_day(target), "route": "dlms",
                        "error": error})
                break  # its other days wait for the next round
            report(got.summary())
    return failed
