"""The grader's scorecard three ways: a terminal table, JSON, and an HTML page with each failing
day drawn against the truth (inline SVG: no plotting library, opens anywhere)."""

from __future__ import annotations

import html
import json

from core import tz
from meter.conformance.grader import CHECKS

WHAT = {
    "instants": "every interval on its instant (DST days included), none off the grid",
    "duplicates": "one reading per interval: nothing counted twice",
    "interval_energy": "actual readings equal the true value; good readings kept",
    "day_energy": "the day's energy within tolerance of the true energy",
    "zeros": "unrecorded intervals not taken as actual zeros",
    "estimates": "every unrecorded interval estimated, within 25 % of the truth",
    "spikes": "spikes not taken as actual",
    "revised": "a revised day's actual readings replace its estimates",
}


def table(card: dict) -> str:
    lines = [f"scenario {card['scenario']}: {card['passed']}/{card['points']} points "
             f"({card['score'] * 100:.1f} %), {card['readings']} readings read", "",
             f"{'check':<16} {'passed':>7} {'points':>7}  what"]
    for c in CHECKS:
        row = card["checks"][c]
        if row["points"]:
            lines.append(f"{c:<16} {row['passed']:>7} {row['points']:>7}  {WHAT[c]}")
    if card["deductions"]:
        lines += ["", "deductions:"]
        lines += [f"  {d['site']} {d['day']} {d['check']}: {d['detail']}"
                  for d in card["deductions"][:40]]
        if len(card["deductions"]) > 40:
            lines.append(f"  ... and {len(card['deductions']) - 40} more (see the JSON)")
    if card["unknown_meters"]:
        lines += ["", "readings for meters not in the scenario (ignored): "
                  + ", ".join(card["unknown_meters"][:10])]
    return "\n".join(lines) + "\n"


def to_json(card: dict) -> str:
    return json.dumps({k: v for k, v in card.items() if k != "plots"}, indent=1) + "\n"


def to_html(card: dict) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr><td>{c}</td><td>{card['checks'][c]['passed']}</td>"
        f"<td>{card['checks'][c]['points']}</td><td>{esc(WHAT[c])}</td></tr>"
        for c in CHECKS if card["checks"][c]["points"])
    deductions = "".join(
        f"<tr><td>{esc(d['site'])}</td><td>{d['day']}</td><td>{d['check']}</td>"
        f"<td>{esc(d['detail'])}</td></tr>" for d in card["deductions"])
    plots = "".join(_plot(p, [d["check"] for d in card["deductions"]
                              if d["site"] == p["site"] and d["day"] == p["day"]])
                    for p in card.get("plots", []))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Scorecard: {esc(card['scenario'])}</title>
<style>body{{font:14px sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:left}}figure{{display:inline-block;margin:1em}}
.truth{{stroke:#222;fill:none}}.mdms{{stroke:#d33;fill:none;stroke-dasharray:4 2}}</style></head>
<body><h1>Scenario {esc(card['scenario'])}: {card['passed']}/{card['points']} points
({card['score'] * 100:.1f} %)</h1>
<table><tr><th>check</th><th>passed</th><th>points</th><th>what</th></tr>{rows}</table>
<h2>Failing days against the truth</h2>
<p>Black: the truth; red, dashed: the MDMS (kWh per interval, sum of its readings).</p>{plots}
<h2>Deductions</h2>
<table><tr><th>site</th><th>day</th><th>check</th><th>detail</th></tr>{deductions}</table>
</body></html>
"""


def _plot(p: dict, checks: list[str], w: int = 480, h: int = 160) -> str:
    n = len(p["ends"])
    top = max([v for v in p["truth"] + p["mdms"] if v is not None] + [1])

    def path(values):
        out, pen = [], "M"
        for i, v in enumerate(values):
            if v is None:
                pen = "M"
                continue
            out.append(f"{pen}{i * (w - 20) / max(1, n - 1) + 10:.1f},"
                       f"{h - 10 - v * (h - 20) / top:.1f}")
            pen = "L"
        return " ".join(out)

    span = f"{len(p['ends'])} intervals ending {_utc(p['ends'][0])} to {_utc(p['ends'][-1])}"
    title = f"{p['site']} {p['day']}: {', '.join(checks)}"
    return (f'<figure><svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            f'role="img" aria-label="{html.escape(title)}">'
            f'<rect width="{w}" height="{h}" fill="#fafafa"/>'
            f'<path class="truth" d="{path(p["truth"])}"/>'
            f'<path class="mdms" d="{path(p["mdms"])}"/></svg>'
            f'<figcaption>{html.escape(title)}<br>{span}, max {top / 1000:.3f} kWh</figcaption>'
            '</figure>')


def _utc(minute: int) -> str:
    return tz.format_local(minute, 0)[:16].replace("T", " ") + "Z"
