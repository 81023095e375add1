"""core/dayfile_columns.py against the streaming writer: the same bytes for every day, over DST
changes (23- and 25-hour days), missing and estimated intervals, PV export, a negative and an
oversized reading, 5- and 30-minute intervals and zones on both sides of UTC."""

import io

import numpy as np
import pytest

from core import civil, dayfile_columns, dayfile_writer, tz
from meter import daybuild, registers
from meter.vector.engine import Q_ESTIMATED, Q_MISSING, QUALITY_TEXT, VectorMeter
from tests.meter.configs import AUCKLAND, SEED_KILI, cfg_of, family

FAULTS = {"missing_intervals": 0.02, "estimated": 0.02, "spikes": 0.005, "outage_days": 0.1}
CASES = {
    # Berlin across the spring change (2024-03-31: 23 hours) and autumn (2024-10-27: 25).
    "berlin-spring": (family(faults=FAULTS), "2024-03-29", "2024-04-02"),
    "berlin-autumn": (family(faults=FAULTS, pv={"kwp": 5}), "2024-10-25", "2024-10-29"),
    "auckland-30min": (family(serial="nz-1", timezone="Pacific/Auckland", location=AUCKLAND,
                              interval_min=30, faults=FAULTS,
                              ev={"kw": 7.2, "kwh_per_session": 18, "sessions_per_week": 4}),
                       "2024-04-05", "2024-04-09"),
    "seed-kili": (dict(SEED_KILI, timezone="America/New_York", commissioned="2024-03-01",
                       faults=FAULTS),
                  "2024-03-09", "2024-03-11"),
}


def streamed(cfg, run, k, opening, recorded=None) -> str:
    """The day through core.dayfile_writer, row by row (the tick's and the Pico's writer)."""
    m = cfg.model
    zone = tz.Zone(m["timezone"], m["tz_rules"])
    sl = run.day_slice(k)
    rec = run.recorded[sl] if recorded is None else recorded
    qual = run.quality[sl]
    rows = []
    for i, (end, values) in enumerate(zip(run.ends[sl].tolist(), rec.tolist(), strict=True)):
        q = QUALITY_TEXT[int(qual[i])]
        rows.append((tz.label(zone, end), None if q == "missing" else values, q))
    closing = [opening[c] + sum(r[1][c] for r in rows if r[1] is not None)
               for c in range(rec.shape[1])]
    out = io.StringIO()
    head = (m["serial"], civil.format_day(int(run.days[k])), m["interval"], m["timezone"],
            "sealed")
    dayfile_writer.write(out, head, [(c[0], c[1], c[3]) for c in m["channels"]], opening,
                         closing, lambda: iter(rows), m["generator_json"], m["metadata_json"])
    return out.getvalue()


@pytest.mark.parametrize("case", sorted(CASES))
def test_columns_write_the_streaming_writers_bytes(case):
    raw, first, last = CASES[case]
    cfg = cfg_of(raw)
    f, la = civil.parse_day(first), civil.parse_day(last)
    run = VectorMeter(cfg.model).run(f, la)
    opening = registers.opening(cfg, f)
    lengths, marked = set(), 0
    for k in range(len(run.days)):
        expected = streamed(cfg, run, k, opening)
        assert daybuild.sealed_text(cfg, run, k, opening) == expected, civil.format_day(
            int(run.days[k]))
        lengths.add(int(run.counts[k]))
        marked += int((run.quality[run.day_slice(k)] != 0).sum())
    assert marked, "the case should have missing or estimated intervals"
    if case.startswith("berlin") or case == "seed-kili":
        assert len(lengths) == 2, "the range should hold a DST change"


def test_readings_outside_the_table_are_formatted_one_by_one():
    cfg = cfg_of(family())
    run = VectorMeter(cfg.model).run(civil.parse_day("2024-06-01"), civil.parse_day("2024-06-01"))
    rec = run.recorded.copy()
    rec[3, 0], rec[7, 1] = 123_456, -42  # 123.456 kWh in 5 minutes; an export's negative
    opening = [1000, 2000, 3000]
    expected = streamed(cfg, run, 0, opening, rec)
    m = cfg.model
    qual = run.quality
    marks = [(i, QUALITY_TEXT[int(q)]) for i, q in enumerate(qual.tolist())
             if q in (Q_ESTIMATED, Q_MISSING)]
    missing = qual == Q_MISSING
    closing = [opening[c] + int(np.where(missing, 0, rec[:, c]).sum()) for c in range(3)]
    labels, _ = daybuild.fast_labels(tz.Zone(m["timezone"], m["tz_rules"]), run.ends)
    got = dayfile_columns.write((m["serial"], "2024-06-01", m["interval"], m["timezone"],
                                 "sealed"), [(c[0], c[1], c[3]) for c in m["channels"]],
                                opening, closing, labels, rec, missing, marks,
                                m["generator_json"], m["metadata_json"])
    assert got == expected
    assert '"123.456"' not in got and ": 123.456" in got and ": -0.042" in got


def test_labels_match_tz_label_on_both_dst_changes():
    cfg = cfg_of(family())
    zone = tz.Zone(cfg.model["timezone"], cfg.model["tz_rules"])
    for day in ("2024-03-31", "2024-10-27"):
        start = zone.day_start(civil.parse_day(day))
        ends = np.arange(start + 5, start + 25 * 60 + 5, 5, dtype=np.int64)
        got = dayfile_columns.labels(np.array(zone.starts), np.array(zone.offsets), ends)
        assert got == [tz.label(zone, int(e)) for e in ends.tolist()], day
