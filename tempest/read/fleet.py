"""The fleet page's query: one page of meters, filtered and sorted in SQL (10,000 meters and
more), with each row's status, drift and the last 7 days' completeness."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tempest import db, registry, routes
from tempest.fleetconfig import desired
from tempest.fleetconfig.desired import DRIFT_SQL, DRIFT_STATES

# Sort keys -> SQL (NULLs always last). "status" sorts by the last heartbeat, newest first.
SORTS = {
    "serial": "m.serial",
    "status": "m.last_seen",
    "last_seen": "m.last_seen",
    "last_day": "m.last_day",
    "backlog": "m.backlog",
    "version": "m.version",
    "drift": DRIFT_SQL,
    "route": routes.sql("m"),
}
DEFAULT_DIR = {"status": "desc", "last_seen": "desc", "last_day": "desc", "backlog": "desc"}
PER_PAGE = (25, 50, 100, 200)
SPARK_DAYS = 7


@dataclass
class Query:
    status: str | None = None
    drift: str | None = None
    q: str | None = None
    version: str | None = None
    route: str | None = None
    sort: str = "serial"
    dir: str = "asc"
    page: int = 1
    per_page: int = 50

    @classmethod
    def from_args(cls, args) -> Query:
        status = args.get("status") or None
        drift = args.get("drift") or None
        route = args.get("route") or None
        sort = args.get("sort") or "serial"
        sort = sort if sort in SORTS else "serial"
        direction = args.get("dir") or DEFAULT_DIR.get(sort, "asc")
        try:
            page = max(1, min(int(args.get("page", 1)), 1_000_000))
        except ValueError:
            page = 1
        try:
            per_page = int(args.get("per_page", 50))
        except ValueError:
            per_page = 50
        return cls(status=status if status in registry.STATUSES else None,
                   drift=drift if drift in DRIFT_STATES else None,
                   q=(args.get("q") or "").strip()[:64] or None,
                   version=(args.get("version") or "").strip()[:64] or None,
                route=route if route in routes.ROUTES else None,
                   sort=sort, dir="desc" if direction == "desc" else "asc", page=page,
                   per_page=per_page if per_page in PER_PAGE else 50)

    def args(self, **change) -> dict:
        """The query string for a link (only what differs from the defaults)."""
        out = {"status": self.status, "drift": self.drift, "q": self.q,
               "version": self.version, "route": self.route, "sort": self.sort, "dir": self.dir,
               "page": self.page, "per_page": self.per_page}
        out.update(change)
        defaults = {"sort": "serial", "dir": DEFAULT_DIR.get(out["sort"], "asc"), "page": 1,
                    "per_page": 50}
        return {k: v for k, v in out.items() if v is not None and defaults.get(k) != v}


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _where(query: Query, now: float, online: float, stale: float) -> tuple[str, list]:
    where, params = [], []
    if query.status:
        clause, args = registry.status_clause(query.status, now, online, stale)
        where.append("m." + clause.replace(" AND last_seen", " AND m.last_seen"))
        params.extend(args)
    if query.drift:
        where.append(f"{DRIFT_SQL} = ?")
        params.append(query.drift)
    if query.q:
        where.append("m.serial LIKE ? ESCAPE '\\'")
        params.append(_like(query.q))
    if query.version:
        where.append("m.version = ?")
        params.append(query.version)
    if query.route:
        where.append(f"{routes.sql('m')} = ?")
        params.append(query.route)
    return (" WHERE " + " AND ".join(where)) if where else "", params


def page(conn: sqlite3.Connection, query: Query, now: float, online: float,
         stale: float) -> dict:
    where, params = _where(query, now, online, stale)
    joined = "FROM meters m LEFT JOIN desired_config d ON d.serial = m.serial"
    total = conn.execute(f"SELECT count(*) {joined}{where}", params).fetchone()[0]
    pages = max(1, -(-total // query.per_page))
    current = min(query.page, pages)
    col = SORTS[query.sort]
    order = f"({col}) IS NULL, ({col}) {query.dir.upper()}, m.serial"
    rows = conn.execute(
        f"SELECT m.serial, m.last_seen, m.last_day, m.backlog, m.version, m.kind, "
        f"m.timezone, m.config_hash, m.days_stored, m.agent_url, d.config_hash AS desired_hash, "
        f"{routes.sql('m')} AS route, m.last_gasp_at, "
        f"{DRIFT_SQL} AS drift {joined}{where} ORDER BY {order} LIMIT ? OFFSET ?",
        (*params, query.per_page, (current - 1) * query.per_page)).fetchall()
    return {"rows": rows, "total": total, "page": current, "pages": pages,
            "spark": sparklines(conn, [r["serial"] for r in rows], now)}


def spark_days(now: float) -> list[str]:
    """The last 7 days up to today (UTC date): the window every sparkline covers."""
    today = datetime.fromtimestamp(now, UTC).date()
    return [(today - timedelta(days=i)).isoformat() for i in range(SPARK_DAYS - 1, -1, -1)]


def sparklines(conn: sqlite3.Connection, serials: list[str], now: float) -> dict:
    """{serial: [(day, coverage or None, status or None), ...]} over the spark window."""
    days = spark_days(now)
    found: dict[tuple[str, str], tuple[float, str]] = {}
    if serials:
        marks = ",".join("?" * len(serials))
        for r in conn.execute(
                f"SELECT serial, reading_day, recorded, expected, status FROM days "
                f"WHERE serial IN ({marks}) AND reading_day >= ? AND reading_day <= ?",
                (*serials, days[0], days[-1])):
            found[(r["serial"], r["reading_day"])] = (r["recorded"] / r["expected"], r["status"])
    return {s: [(d, *found.get((s, d), (None, None))) for d in days] for s in serials}


def versions(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT version, count(*) FROM meters WHERE version IS NOT NULL GROUP BY version "
        "ORDER BY version DESC LIMIT 50")]


# Fleet-wide aggregates (status and drift counts, versions) scan every meter; pages re-render
# every few seconds while data arrives, so each process keeps them for a few seconds.
AGGREGATE_SECONDS = 5.0
_aggregates: dict[tuple, tuple[float, dict]] = {}
_lock = threading.Lock()


def aggregates(conn: sqlite3.Connection, now: float, online: float, stale: float) -> dict:
    """{"counts", "drift", "versions"} for the whole fleet, at most AGGREGATE_SECONDS old."""
    key = (db.store_key(conn), online, stale)
    with _lock:
        hit = _aggregates.get(key)
        if hit is not None and 0 <= now - hit[0] < AGGREGATE_SECONDS:
            return hit[1]
    value = {"counts": registry.counts(conn, now, online, stale),
             "drift": desired.counts(conn), "versions": versions(conn)}
    with _lock:
        _aggregates[key] = (now, value)
    return value
