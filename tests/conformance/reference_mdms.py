"""Two reference MDMSs the grader is proven on (docs/conformance.md).

`perfect`: reads the truth, so it must score full marks. `naive`: loads the delivery files as
they come, reads every timestamp as local wall time in the meter's zone (the offset, and so
DST, ignored: the first of a repeated hour), fills a missing interval with a zero flagged
actual and keeps every row it is given. Each writes its validated readings as the grader's
CSV (site or serial, interval_end, kwh, quality).
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo


def perfect(scenario: Path, out: Path) -> Path:
    rows = [["site", "interval_end", "kwh", "quality"]]
    with (scenario / "truth" / "intervals.csv").open() as f:
        for r in csv.DictReader(f):
            rows.append([r["site"], r["interval_end"], r["kwh"],
                         "actual" if r["kind"] == "actual" else "estimated"])
    return _write(out, rows)


def naive(scenario: Path, out: Path) -> Path:
    zones = {s["serial"]: ZoneInfo(s["timezone"])
             for s in csv.DictReader((scenario / "sites.csv").open())}
    rows = [["serial", "interval_end", "kwh", "quality"]]
    for path in sorted((scenario / "delivery").glob("*.json")):
        day = json.loads(path.read_text())
        zone = zones[day["serial"]]
        for stamp, kwh, quality in day["readings"]:
            wall = datetime.fromisoformat(stamp[:19]).replace(tzinfo=zone)
            if kwh is None:
                kwh, quality = 0.0, "actual"
            rows.append([day["serial"], wall.isoformat(), f"{kwh:.3f}", quality])
    return _write(out, rows)


def _write(out: Path, rows: list[list[str]]) -> Path:
    with out.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return out
