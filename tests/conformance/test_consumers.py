"""Real consumers graded: an MDMS's output as NEM12 (read by the grader's own NEM12 reader),
and Tempest itself as an MDMS: it ingests the scenario's meters' day files, exports NEM12, and
nemreader (an independent reader) reads that back."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import timedelta, timezone

from click.testing import CliRunner
from nemreader import NEMFile

from core import civil
from meter import daybuild, registers
from meter.conformance import grader
from meter.conformance.scenarios import GAPS_AND_ESTIMATES
from meter.conformance.truth import MISSING, SPIKE, meter_config
from tempest.cli import main as tempest_cli
from tests.sinks.sinkhelpers import Store


def nem12_of_truth(folder, out, offset_min: int):
    """The perfect MDMS's readings as NEM12 in market time of a fixed offset: each true
    interval placed in its market day and slot; flags A or S (substituted)."""
    slots: dict = defaultdict(lambda: [("0.000", "N")] * 48)
    with (folder / "truth" / "intervals.csv").open() as f:
        for r in csv.DictReader(f):
            end = grader.mdms_output.instant_of(r["interval_end"], "truth", 0, "end") + offset_min
            day, minute = divmod(end - 1, 1440)
            slots[(r["site"], day)][minute // 30] = (r["kwh"], "A" if r["kind"] == "actual"
                                                     else "S53")
    lines = ["100,NEM12,202411010000,PERFECT,GRADER"]
    for site in sorted({s for s, _ in slots}):
        lines.append(f"200,{site},E1,1,E1,N1,{site},kWh,30,")
        for (s, day), vals in sorted(slots.items()):
            if s != site:
                continue
            lines.append(f"300,{civil.format_day(day).replace('-', '')},"
                         + ",".join(v for v, _ in vals) + ",V,,,20241101000000,")
            for i, (_, q) in enumerate(vals, 1):
                lines.append(f"400,{i},{i},{q},{'' if q[0] != 'S' else '0'},")
    lines.append("900")
    out.write_text("\n".join(lines) + "\n")
    return out


def test_the_perfect_mdms_as_nem12_scores_full_marks(written, tmp_path):
    folder = written("dst-and-clocks")
    card = grader.grade(folder, nem12_of_truth(folder, tmp_path / "p.nem12.csv", 600))
    assert card["deductions"] == [] and card["points"] == 784
    # Another market offset: read with the matching one, full marks; with the wrong, not.
    other = nem12_of_truth(folder, tmp_path / "q.nem12.csv", 60)
    assert grader.grade(folder, other, 60)["deductions"] == []
    assert grader.grade(folder, other, 600)["score"] < 0.5


def test_tempest_and_nemreader_graded_as_an_mdms(written, tmp_path):
    """Tempest keeps every interval on its instant and flags gaps (NEM12 `N`), but it neither
    estimates gaps nor questions spikes: it loses exactly those points."""
    folder = written("gaps-and-estimates")
    meters = [m for m in GAPS_AND_ESTIMATES.meters if not m.quirks]
    files = {}
    first, last = civil.parse_day(GAPS_AND_ESTIMATES.first), civil.parse_day(GAPS_AND_ESTIMATES.last)
    for spec in meters:
        cfg = meter_config(spec.engine_spec())
        for b in daybuild.build_days(cfg, first, last, registers.opening(cfg, first)):
            if b.text:
                files[f"{spec.serial}_{civil.format_day(b.day)}.json"] = b.text
    store = Store(tmp_path / "data")
    try:
        assert set(store.ingest(files)) == {"stored"}
    finally:
        store.close()
    export = tmp_path / "export.nem12.csv"
    result = CliRunner().invoke(tempest_cli, ["export", "nem12", "--data-dir",
                                              str(tmp_path / "data"), "--from", "2024-09-30",
                                              "--to", "2024-10-29", "-o", str(export)])
    assert result.exit_code == 0, result.output

    market = timezone(timedelta(hours=10))
    rows = [["serial", "interval_end", "kwh", "quality"]]
    for nmi, suffixes in NEMFile(str(export), strict=True).nem_data().readings.items():
        for r in suffixes["E1"]:
            q = r.quality_method
            rows.append([nmi, r.t_end.replace(tzinfo=market).isoformat(),
                         "" if q == "N" else f"{r.read_value:.3f}",
                         {"A": "actual", "N": "missing"}.get(q, "estimated")])
    out = tmp_path / "tempest.csv"
    with out.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    card = grader.grade(folder, out)

    truth = grader.load_truth(folder)
    want = set()
    for spec in meters:
        for d in truth.days[spec.site]:
            day = civil.format_day(d.day)
            gap = sum(wh for wh, k in zip(d.wh, d.kinds, strict=True) if k == MISSING)
            if MISSING in d.kinds:
                want.add(("estimates", spec.site, day))
                if gap * 0.75 > 1:
                    want.add(("day_energy", spec.site, day))
            if SPIKE in d.kinds:
                want |= {(c, spec.site, day) for c in ("spikes", "interval_energy", "day_energy")}
    assert want and lost(card, meters) == want

    # Tempest's CSV export, read as it is: the same, except that a day never delivered (an
    # outage) has no rows at all, where NEM12 flags its slots N.
    csv_export = tmp_path / "export.csv"
    result = CliRunner().invoke(tempest_cli, ["export", "csv", "--data-dir", str(tmp_path / "data"),
                                              "--from", GAPS_AND_ESTIMATES.first, "--to",
                                              GAPS_AND_ESTIMATES.last, "-o", str(csv_export)])
    assert result.exit_code == 0, result.output
    outages = {("instants", spec.site, civil.format_day(d.day)) for spec in meters
               for d in truth.days[spec.site] if set(d.kinds) == {MISSING}}
    assert outages and lost(grader.grade(folder, csv_export), meters) == want | outages


def lost(card: dict, meters) -> set:
    return {(d["check"], d["site"], d["day"]) for d in card["deductions"]
            if d["site"] in {m.site for m in meters}}


def nem12_route_mdms(folder, out):
    """An MDMS that takes the NEM12 route with nemreader: files in arrival order, a later 300
    record replacing the market day it names (NEM12's own rule), `N` kept as missing."""
    market = timezone(timedelta(hours=10))
    latest: dict = {}
    for path in sorted((folder / "delivery" / "nem12").glob("*.nem12.csv")):
        for nmi, suffixes in NEMFile(str(path), strict=True).nem_data().readings.items():
            for r in suffixes["E1"]:
                day = (r.t_end - timedelta(minutes=1)).date()
                key = (nmi, day)
                if latest.get(key, (None, None))[0] != path:
                    latest[key] = (path, [])
                latest[key][1].append(r)
    rows = [["site", "interval_end", "kwh", "quality"]]
    for (nmi, _), (_, readings) in sorted(latest.items()):
        for r in readings:
            q = r.quality_method
            rows.append([nmi, r.t_end.replace(tzinfo=market).isoformat(),
                         "" if q == "N" else f"{r.read_value:.3f}",
                         {"A": "actual", "N": "missing"}.get(q, "estimated")])
    with out.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return out


def test_the_nem12_route_read_by_nemreader_gets_revisions_and_duplicates_right(written, tmp_path):
    """Every 300 record replaces its market day, so revised, duplicate and out-of-order days
    come out right by themselves: full marks on late-and-revised."""
    folder = written("late-and-revised")
    card = grader.grade(folder, nem12_route_mdms(folder, tmp_path / "route.csv"))
    assert card["deductions"] == [] and card["points"] == 226


def test_the_nem12_route_of_every_scenario_reads_strictly(written):
    for name in ("dst-and-clocks", "gaps-and-estimates", "meter-exchange"):
        paths = sorted((written(name) / "delivery" / "nem12").glob("*.nem12.csv"))
        assert len(paths) == len(list((written(name) / "delivery").glob("*.json")))
        for path in paths[::7]:
            data = NEMFile(str(path), strict=True).nem_data()
            assert all(len(r) % 48 == 0 for s in data.readings.values() for r in s.values())
