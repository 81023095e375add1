"""Write a scenario's folder: what the meters send (in arrival order), the site master data an
MDMS is given, and, apart, the truth to grade against.

    OUT/scenario.json          name, summary, days, meters (serial, site, zone, interval)
    OUT/sites.csv              the MDMS's master data: serial, site, timezone, interval, multiplier
    OUT/delivery/NNNN_<serial>_<day>.json   one file per send, NNNN the arrival order
    OUT/delivery/nem12/NNNN_<serial>_<day>.nem12.csv   the same send by the NEM12 route
    OUT/delivery/manifest.csv  seq, file, NEM12 file, arrival time (UTC)
    OUT/truth/intervals.csv    site, local day, interval end (UTC), true kWh, kind
    OUT/truth/labels.json      every quirk with what a correct MDMS concludes, the revised days,
                               and the points the naive reference MDMS loses

A delivery file is the day file's header with its readings as a list of
[timestamp, kWh or null, quality] in the meter's order: a list, because a meter whose
timestamps carry no offset writes the same one twice on the day clocks go back.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from core import civil, tz, tzdb
from core.durable import write_atomic
from meter.conformance import nem12, quirks
from meter.conformance.scenarios import (
    ALL,
    FILE_GAP_DAYS,
    GAP_DAYS,
    OUTAGE_DAYS,
    SPIKE_DAYS,
    MeterSpec,
    Scenario,
    day_set,
)
from meter.conformance.truth import MISSING, SPIKE, DayTruth, meter_days

FORMAT = "meters-conformance/1"


def build(sc: Scenario) -> tuple[dict[str, list[DayTruth]], list[quirks.Send]]:
    """Every meter's truth, and every send in arrival order."""
    first, last = sc.days[0], sc.days[-1]
    truths, sends = {}, []
    for spec in sc.meters:
        days = meter_days(spec.engine_spec(), first, last)
        truths[spec.serial] = days
        for day in days:
            out = quirks.as_recorded(day)
            for q in spec.quirks:
                if q.days == ALL or day.day in day_set(q.days, sc.first, sc.last):
                    out = quirks.DATA[q.name](out, day, **_params(q, spec, days))
            sends.extend(out)
    sends.sort(key=lambda s: (s.arrives, s.serial, s.day))
    return truths, sends


def _params(q, spec: MeterSpec, days: list[DayTruth]) -> dict:
    """Parameters that depend on the truth: where a register rolls over, where an exchanged
    meter's register starts from zero."""
    p = dict(q.params)
    by_day = {d.day: d for d in days}
    if q.name == "register_rollover":
        d = by_day[civil.parse_day(p.pop("on"))]
        p["base_wh"] = quirks.REGISTER_WRAP_WH - (d.opening_wh + sum(d.true) // 2)
    if q.name == "renamed":
        ex = next(x for x in spec.quirks if x.name == "meter_exchange")
        d = by_day[civil.parse_day(ex.days[0])]
        p["opening_wh"] = d.opening_wh + sum(d.true[:ex.params["at"]])
    return p


def serial_specs(sc: Scenario) -> dict[str, MeterSpec]:
    """Every serial that sends in the scenario, with its meter's spec (an exchanged meter's
    new serial shares its site's)."""
    out = {m.serial: m for m in sc.meters}
    for serial, (site, _, _) in sc.extra_serials.items():
        out[serial] = next(m for m in sc.meters if m.site == site)
    return out


def write(sc: Scenario, out: Path) -> dict:
    out = Path(out)
    truths, sends = build(sc)
    by_serial = serial_specs(sc)
    (out / "delivery").mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    (out / "delivery" / "nem12").mkdir(exist_ok=True)
    nem12_texts = nem12.files(sends, {s: m.site for s, m in by_serial.items()},
                              {s: m.interval for s, m in by_serial.items()})
    manifest = [["seq", "file", "nem12_file", "arrives"]]
    for seq, (send, nem) in enumerate(zip(sends, nem12_texts, strict=True), 1):
        name = f"{seq:04d}_{send.serial}_{civil.format_day(send.day)}"
        # durable=False: a scenario folder is made again after a crash, not repaired.
        write_atomic(out / "delivery" / f"{name}.json",
                     send_text(send, by_serial[send.serial]).encode(), durable=False)
        write_atomic(out / "delivery" / "nem12" / f"{name}.nem12.csv", nem.encode(),
                     durable=False)
        manifest.append([str(seq), f"{name}.json", f"nem12/{name}.nem12.csv",
                         tz.format_local(send.arrives, 0)[:-6] + "Z"])
    _write_csv(out / "delivery" / "manifest.csv", manifest)
    _write_csv(out / "sites.csv", [["serial", "site", "timezone", "interval_min", "multiplier"]]
               + [[serial, spec.site, spec.timezone, str(spec.interval), spec.multiplier]
                  for serial, spec in by_serial.items()])
    public = {"format": FORMAT, "name": sc.name, "summary": sc.summary, "first_day": sc.first,
              "last_day": sc.last, "meters": [
                  {"serial": m.serial, "site": m.site, "timezone": m.timezone,
                   "interval_min": m.interval} for m in sc.meters]}
    write_atomic(out / "scenario.json", (json.dumps(public, indent=1) + "\n").encode())
    _write_truth(sc, truths, out / "truth")
    return {"scenario": sc.name, "files": len(sends), "meters": len(sc.meters),
            "days": len(sc.days), "out": str(out)}


def _kwh_text(wh: int | None) -> str:
    return "null" if wh is None else f"{wh // 1000}.{wh % 1000:03d}"


def send_text(send: quirks.Send, spec: MeterSpec) -> str:
    clock = quirks.CLOCKS[spec.clock]
    zone = meter_zone(spec)
    head = {"serial": send.serial, "reading_day": civil.format_day(send.day),
            "interval": spec.interval, "timezone": spec.timezone, "status": send.status,
            "unit": "kWh", "channels": {"Total": {"role": "import", "unit": "kWh"}},
            "snapshots": {"Total": "@open"}, "closing_snapshots": {"Total": "@close"}}
    rows = [f'[{json.dumps(clock(r.end, zone, spec.interval))}, {_kwh_text(r.wh)}, '
            f'"{r.quality}"]' for r in send.rows]
    text = json.dumps(head).replace('"@open"', _kwh_text(send.opening_wh))
    text = text.replace('"@close"', _kwh_text(send.closing_wh))
    return text[:-1] + ', "readings": [\n' + ",\n".join(rows) + "]}\n"


def meter_zone(spec: MeterSpec) -> tz.Zone:
    return tz.Zone(spec.timezone, [list(t) for t in tzdb.transitions(spec.timezone)])


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    write_atomic(path, buf.getvalue().encode())


def resolve_days(rule, sc: Scenario, days: list[DayTruth]) -> set[int]:
    got = day_set(rule, sc.first, sc.last)
    if not isinstance(got, str):
        return got
    if got == GAP_DAYS:
        return {d.day for d in days if MISSING in d.kinds}
    if got == FILE_GAP_DAYS:
        return {d.day for d in days if MISSING in d.kinds and not d.outage}
    if got == SPIKE_DAYS:
        return {d.day for d in days if SPIKE in d.kinds}
    if got == OUTAGE_DAYS:
        return {d.day for d in days if d.outage}
    raise ValueError(f"unknown day rule {rule!r}")


def _write_truth(sc: Scenario, truths: dict[str, list[DayTruth]], folder: Path) -> None:
    rows = [["site", "local_day", "interval_end", "kwh", "kind"]]
    for spec in sc.meters:
        for d in truths[spec.serial]:
            for end, wh, kind in zip(d.ends, d.true, d.kinds, strict=True):
                rows.append([spec.site, civil.format_day(d.day), tz.format_local(end, 0)[:-6] + "Z",
                             _kwh_text(wh), kind])
    _write_csv(folder / "intervals.csv", rows)
    site_days = {spec.site: truths[spec.serial] for spec in sc.meters}
    labels = []
    for spec in sc.meters:
        labels.append({"serial": spec.serial, "site": spec.site, "quirk": spec.clock,
                       "days": "all", "conclusion": quirks.CONCLUSIONS[spec.clock]})
        for q in spec.quirks:
            labels.append({"serial": spec.serial, "site": spec.site, "quirk": q.name,
                           "days": q.days if isinstance(q.days, str) else list(q.days),
                           "params": q.params, "conclusion": quirks.CONCLUSIONS[q.name]})
    revised = {spec.site: sorted(civil.format_day(d) for q in spec.quirks if q.name == "revised"
                                 for d in day_set(q.days, sc.first, sc.last))
               for spec in sc.meters}
    naive = sorted({(check, site, civil.format_day(day)) for check, site, rule in sc.naive_loses
                    for day in resolve_days(rule, sc, site_days[site])})
    doc = {"format": FORMAT, "scenario": sc.name, "labels": labels,
           "revised_days": {k: v for k, v in revised.items() if v},
           "naive_loses": [list(x) for x in naive]}
    write_atomic(folder / "labels.json", (json.dumps(doc, indent=1) + "\n").encode())
