"""Score what an MDMS made of a scenario against the truth, one point per check per site and
local day where the check applies (docs/conformance.md lists them).

The MDMS's value at an instant is the sum of every reading it gives there (so a duplicate is
counted twice, as a report on its data would), and its quality is `actual` only if every
reading there is actual.
"""

from __future__ import annotations

import bisect
import csv
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from core import civil, tz
from meter.conformance import mdms_output
from meter.conformance.mdms_output import ACTUAL, ESTIMATED, MISSING, OutputError
from meter.conformance.truth import ACTUAL as T_ACTUAL
from meter.conformance.truth import MISSING as T_MISSING
from meter.conformance.truth import SPIKE as T_SPIKE

CHECKS = ("instants", "duplicates", "interval_energy", "day_energy", "zeros", "estimates",
          "spikes", "revised")
MAX_PLOTS = 24  # failing days drawn on the HTML scorecard
ESTIMATE_TOLERANCE = 0.25  # of the true energy of the intervals estimated, plus 1 Wh


@dataclass
class TruthDay:
    site: str
    day: int
    ends: list[int] = field(default_factory=list)
    wh: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    interval: int = 30


@dataclass
class Result:
    check: str
    site: str
    day: str
    passed: bool
    detail: str = ""


@dataclass
class Truth:
    name: str
    days: dict[str, list[TruthDay]]  # site -> its days in order
    aliases: dict[str, str]  # serial or NMI -> site
    revised: dict[str, set[str]]
    naive_loses: list[tuple[str, str, str]]


def load_truth(folder: Path) -> Truth:
    folder = Path(folder)
    try:
        scenario = json.loads((folder / "scenario.json").read_text())
        labels = json.loads((folder / "truth" / "labels.json").read_text())
        sites = list(csv.DictReader((folder / "sites.csv").open()))
        intervals = (folder / "truth" / "intervals.csv").open()
    except (OSError, ValueError) as exc:
        raise OutputError(folder, 0, "(scenario)", f"not a scenario folder (meter scenario "
                          f"write): {exc}") from exc
    interval = {m["site"]: m["interval_min"] for m in scenario["meters"]}
    aliases = {s["serial"]: s["site"] for s in sites} | {s["site"]: s["site"] for s in sites}
    days: dict[str, list[TruthDay]] = defaultdict(list)
    with intervals:
        for n, row in enumerate(csv.DictReader(intervals), 2):
            site, day = row["site"], civil.parse_day(row["local_day"])
            if not days[site] or days[site][-1].day != day:
                days[site].append(TruthDay(site, day, interval=interval[site]))
            td = days[site][-1]
            td.ends.append(mdms_output.instant_of(row["interval_end"], "truth/intervals.csv", n,
                                                  "interval_end"))
            td.wh.append(mdms_output.wh_of(row["kwh"], "truth/intervals.csv", n, "kwh"))
            td.kinds.append(row["kind"])
    return Truth(scenario["name"], dict(days), aliases,
                 {k: set(v) for k, v in labels["revised_days"].items()},
                 [tuple(x) for x in labels["naive_loses"]])


def grade(folder: Path, output: Path, nem12_offset: int = 600) -> dict:
    truth = load_truth(folder)
    readings = mdms_output.read(output, nem12_offset)
    by_site: dict[str, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    unknown = set()
    for r in readings:
        site = truth.aliases.get(r.meter)
        if site is None:
            unknown.add(r.meter)
            continue
        by_site[site][r.end].append(r)
    results: list[Result] = []
    plots: list[dict] = []
    for site, days in truth.days.items():
        got = by_site.get(site, {})
        spans = [d.ends[0] - d.interval for d in days]
        per_day: list[dict[int, list]] = [defaultdict(list) for _ in days]
        for end, rs in got.items():
            k = bisect.bisect_left(spans, end) - 1  # the day whose span (start, end] holds it
            if 0 <= k < len(days) and end <= days[k].ends[-1]:
                per_day[k][end].extend(rs)
        for d, rows in zip(days, per_day, strict=True):
            got = check_day(d, rows, civil.format_day(d.day) in truth.revised.get(site, ()))
            results.extend(got)
            if not all(r.passed for r in got) and len(plots) < MAX_PLOTS:
                plots.append({"site": site, "day": civil.format_day(d.day), "ends": d.ends,
                              "truth": d.wh, "mdms": [_value(rows.get(t, []))[0] for t in d.ends]})
    card = scorecard_data(truth, results, unknown, len(readings))
    card["plots"] = plots
    return card


def _value(rows: list) -> tuple[int | None, str | None]:
    if not rows:
        return None, None
    values = [r.wh for r in rows if r.wh is not None]
    q = ACTUAL if all(r.quality == ACTUAL for r in rows) else \
        MISSING if not values else ESTIMATED
    return (sum(values) if values else None), q


def check_day(d: TruthDay, rows: dict[int, list], revised: bool) -> list[Result]:
    day = civil.format_day(d.day)
    truth = dict(zip(d.ends, zip(d.wh, d.kinds, strict=True), strict=True))
    got = {t: _value(rows.get(t, [])) for t in d.ends}
    out = []

    def add(check, bad, what):
        out.append(Result(check, d.site, day, not bad, f"{what}: {_stamps(bad)}" if bad else ""))

    extra = sorted(set(rows) - set(d.ends))
    absent = [t for t in d.ends if not rows.get(t)]
    add("instants", sorted(extra + absent),
        f"{len(absent)} of {len(d.ends)} intervals absent, {len(extra)} off the grid")
    add("duplicates", [t for t, rs in rows.items() if len(rs) > 1], "more than one reading")
    add("interval_energy", [t for t in d.ends if _interval_wrong(truth[t], got[t])],
        "actual readings that are not the true value, or good readings not kept")
    true_total = sum(d.wh)
    got_total = sum(v for v, _ in got.values() if v is not None)
    slack = 1 + ESTIMATE_TOLERANCE * sum(wh for t, (wh, _) in truth.items() if got[t][1] != ACTUAL)
    out.append(Result("day_energy", d.site, day, abs(got_total - true_total) <= slack,
                      "" if abs(got_total - true_total) <= slack else
                      f"{got_total / 1000:.3f} kWh, true {true_total / 1000:.3f} kWh"))
    gaps = [t for t in d.ends if truth[t][1] == T_MISSING]
    zeros = [t for t in d.ends if truth[t] == (0, T_ACTUAL)]
    if gaps or zeros:
        add("zeros", [t for t in gaps if got[t][1] == ACTUAL]
            + [t for t in zeros if got[t] != (0, ACTUAL)],
            "unrecorded intervals taken as actual, or true zeros not kept as actual zeros")
    if gaps:
        est = [got[t][0] for t in gaps if got[t][1] == ESTIMATED and got[t][0] is not None]
        true_gap = sum(truth[t][0] for t in gaps)
        if len(est) < len(gaps):
            add("estimates", [t for t in gaps if got[t][1] != ESTIMATED or got[t][0] is None],
                "unrecorded intervals without an estimate")
        else:
            ok = abs(sum(est) - true_gap) <= 1 + ESTIMATE_TOLERANCE * true_gap
            out.append(Result("estimates", d.site, day, ok, "" if ok else
                              f"estimated {sum(est) / 1000:.3f} kWh, true {true_gap / 1000:.3f}"))
    spikes = [t for t in d.ends if truth[t][1] == T_SPIKE]
    if spikes:
        add("spikes", [t for t in spikes if got[t][1] == ACTUAL and got[t][0] != truth[t][0]],
            "spikes taken as actual")
    if revised:
        add("revised", [t for t in d.ends if truth[t][1] == T_ACTUAL
                        and got[t] != (truth[t][0], ACTUAL)], "not the revised actual reading")
    return out


def _interval_wrong(true: tuple[int, str], got: tuple[int | None, str | None]) -> bool:
    wh, kind = true
    value, q = got
    if q == ACTUAL:
        return value != wh
    return kind == T_ACTUAL  # a good actual reading the MDMS did not keep as actual


def _stamps(ends: list[int]) -> str:
    shown = ", ".join(tz.format_local(t, 0)[11:16] + "Z" for t in ends[:4])
    return f"{len(ends)} ({shown}{', ...' if len(ends) > 4 else ''})"


def scorecard_data(truth: Truth, results: list[Result], unknown: set, readings: int) -> dict:
    per_check = {c: {"points": 0, "passed": 0} for c in CHECKS}
    for r in results:
        per_check[r.check]["points"] += 1
        per_check[r.check]["passed"] += r.passed
    points = sum(v["points"] for v in per_check.values())
    passed = sum(v["passed"] for v in per_check.values())
    return {
        "scenario": truth.name, "readings": readings, "points": points, "passed": passed,
        "score": round(passed / points, 4) if points else 0.0,
        "checks": per_check,
        "deductions": [{"check": r.check, "site": r.site, "day": r.day, "detail": r.detail}
                       for r in results if not r.passed],
        "unknown_meters": sorted(unknown),
    }
