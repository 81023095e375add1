"""A meter's year as a calendar: one cell per day, coloured by completeness or by energy."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta

from tempest import codec
from tempest.read import days as read_days

DAYS = 371  # 53 weeks: a year and the rest of its first week


@dataclass
class Cell:
    day: str
    stored: bool
    coverage: float | None  # recorded / expected
    kwh: float | None  # the import channel's total
    status: str | None
    level: str  # completeness class: none, c0 .. c4
    energy: str  # energy class: none, e0 .. e4
    future: bool

    @property
    def title(self) -> str:
        if not self.stored:
            return f"{self.day}: no data"
        pct = f"{self.coverage * 100:.1f}%"
        return f"{self.day}: {self.kwh:.3f} kWh, {pct} of intervals recorded ({self.status})"


def import_total(channels: dict, totals: dict) -> int:
    """Wh of the import channels (the first channel when none is marked import)."""
    names = [n for n, info in channels.items() if info.get("role") == "import"]
    names = names or list(channels)[:1]
    return sum(int(totals.get(n) or 0) for n in names)


def completeness_level(coverage: float) -> str:
    if coverage >= 0.9995:
        return "c4"
    if coverage >= 0.95:
        return "c3"
    if coverage >= 0.75:
        return "c2"
    if coverage > 0:
        return "c1"
    return "c0"


def _energy_levels(values: list[float]) -> list[float]:
    """Quartile edges of the year's daily energy."""
    if not values:
        return []
    s = sorted(values)
    return [s[int(len(s) * q)] for q in (0.25, 0.5, 0.75)]


def year(conn: sqlite3.Connection, serial: str, until: date, today: date) -> dict:
    start = until - timedelta(days=DAYS - 1)
    start -= timedelta(days=start.weekday())  # weeks start on Monday
    rows = read_days.totals_between(conn, serial, start.isoformat(), until.isoformat())
    kwh = {d: import_total(json.loads(r["channels"]), json.loads(r["totals"])) / 1000
           for d, r in rows.items()}
    edges = _energy_levels(list(kwh.values()))
    weeks: list[list[Cell]] = []
    d = start
    while d <= until:
        key = d.isoformat()
        r = rows.get(key)
        if r is None:
            cell = Cell(key, False, None, None, None, "none", "none", d > today)
        else:
            cov = r["recorded"] / r["expected"]
            e = kwh[key]
            cell = Cell(key, True, cov, e, r["status"], completeness_level(cov),
                        f"e{sum(e > x for x in edges) + (1 if e > 0 else 0)}", False)
        if d.weekday() == 0:
            weeks.append([])
        weeks[-1].append(cell)
        d += timedelta(days=1)
    months = []
    for i, week in enumerate(weeks):
        first = date.fromisoformat(week[0].day)
        if first.day <= 7:
            months.append((i, first.strftime("%b")))
    return {"weeks": weeks, "months": months, "start": start.isoformat(),
            "until": until.isoformat(), "stored": len(rows),
            "edges": [round(x, 1) for x in edges]}


def daily(conn: sqlite3.Connection, serial: str, first: str, last: str) -> dict:
    """Daily kWh per channel for a range, one entry per date (null where nothing is stored)."""
    rows = read_days.totals_between(conn, serial, first, last)
    days = []
    d, end = date.fromisoformat(first), date.fromisoformat(last)
    while d <= end:
        days.append(d.isoformat())
        d += timedelta(days=1)
    channels: dict[str, str] = {}
    for r in rows.values():
        for name, info in json.loads(r["channels"]).items():
            channels.setdefault(name, info.get("role") or "")
    values: dict[str, list] = {name: [] for name in channels}
    coverage, status = [], []
    for day in days:
        r = rows.get(day)
        totals = json.loads(r["totals"]) if r else {}
        for name in channels:
            values[name].append(codec.kwh(totals.get(name)) if r and name in totals else None)
        coverage.append(round(r["recorded"] / r["expected"], 4) if r else None)
        status.append(r["status"] if r else None)
    return {"serial": serial, "from": first, "to": last, "days": days,
            "channels": [{"name": n, "role": role} for n, role in channels.items()],
            "kwh": values, "coverage": coverage, "status": status}
