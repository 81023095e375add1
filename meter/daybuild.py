"""Whole days from the vectorised engine: sealed day files (backfill, redial) and ground truth.

The day files come out byte for byte as the tick writes them (same writer, same numbers, same
registers), so a backfilled day and a ticked day are indistinguishable.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from core import civil, dayfile_columns, dayfile_writer, tz
from loadmodel.sensors import Simulated
from meter.config import Config
from meter.vector.engine import Q_ACTUAL, Q_MISSING, QUALITY_TEXT, Run, VectorMeter, labels_of

_CHUNK = 31


@dataclass
class BuiltDay:
    day: int
    text: str | None  # the sealed file, or None on an outage day (the meter recorded nothing)
    closing: list[int]


def iter_days(cfg: Config, first: int, last: int, opening: list[int],
              vm: VectorMeter | None = None) -> Iterator[tuple[int, Run, int, list[int]]]:
    """(day, run, k, opening registers) for each day, computed a month at a time."""
    vm = vm or VectorMeter(cfg.model)
    regs = list(opening)
    d = first
    while d <= last:
        stop = min(last, d + _CHUNK - 1)
        run = vm.run(d, stop)
        totals = run.day_totals()
        for k in range(len(run.days)):
            yield int(run.days[k]), run, k, regs
            regs = [regs[c] + int(totals[k, c]) for c in range(len(regs))]
        d = stop + 1


def sealed_text(cfg: Config, run: Run, k: int, opening: list[int]) -> str:
    m = cfg.model
    zone = tz.Zone(m["timezone"], m["tz_rules"])
    sl = run.day_slice(k)
    rec = run.recorded[sl]
    qual = run.quality[sl]
    ends = run.ends[sl]
    missing = qual == Q_MISSING
    closing = [opening[c] + int(v) for c, v in
               enumerate(np.where(missing[:, None], 0, rec).sum(axis=0).tolist())]
    labels, keys = fast_labels(zone, ends)
    head = (m["serial"], civil.format_day(int(run.days[k])), m["interval"], m["timezone"],
            "sealed")
    channels = [(c[0], c[1], c[3]) for c in m["channels"]]
    if not m.get("sensors"):
        # Whole columns at once: the same bytes as the streaming writer below, several
        # times faster (core/dayfile_columns.py).
        marked = qual != Q_ACTUAL
        marks = [(i, QUALITY_TEXT[q]) for i, q in
                 zip(np.flatnonzero(marked).tolist(), qual[marked].tolist(), strict=True)]
        return dayfile_columns.write(head, channels, opening, closing, labels, rec, missing,
                                     marks, m["generator_json"], m["metadata_json"], keys)
    # The writer asks for the rows once per channel: build them once.
    buffered = []
    for i, values in enumerate(rec.tolist()):
        q = QUALITY_TEXT[int(qual[i])]
        buffered.append((labels[i], None if q == "missing" else values, q))
    out = io.StringIO()
    dayfile_writer.write(out, head, channels, opening, closing, lambda: iter(buffered),
                  m["generator_json"], m["metadata_json"], None, _measures(m, buffered, ends))
    return out.getvalue()


def _measures(m: dict, buffered: list, ends: np.ndarray):
    """A sensor meter's measurements for the day, as the Ticker would have recorded them: the
    simulated sensors at every interval with readings (loadmodel/sensors.py)."""
    if not m.get("sensors"):
        return None
    sim = Simulated(m)
    rows = [(label, sim.read(end, end))
            for (label, values, _), end in zip(buffered, ends.tolist(), strict=True)
            if values is not None]
    return m["sensors"], lambda: iter(rows)


# A day grid's labels and datastream keys, kept for the next meter: a backfill goes meter by
# meter through the same days, and a bulk host's meters share their zone and grid. A year of
# 5-minute days of one zone is about 20 MB.
_LABELS: dict[tuple, tuple[list[str], list[str]]] = {}
_LABELS_KEPT = 400
_ZONES: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


def fast_labels(zone: tz.Zone, ends: np.ndarray) -> tuple[list[str], list[str]]:
    """(tz.label of each interval end, dayfile_columns.keys of those) for a day's grid,
    computed for the whole day at once, and kept."""
    key = (zone.name, int(ends[0]), int(ends[-1]), len(ends)) if len(ends) else None
    got = _LABELS.get(key)
    if got is None:
        if len(_LABELS) >= _LABELS_KEPT:
            _LABELS.clear()
        table_key = (zone.name, len(zone.starts), zone.starts[0], zone.starts[-1])
        table = _ZONES.get(table_key)
        if table is None:
            table = _ZONES[table_key] = (np.asarray(zone.starts, dtype=np.int64),
                                         np.asarray(zone.offsets, dtype=np.int64))
        labels = dayfile_columns.labels(*table, ends.astype(np.int64))
        got = _LABELS[key] = (labels, dayfile_columns.keys(labels))
    return got


def build_days(cfg: Config, first: int, last: int, opening: list[int],
               vm: VectorMeter | None = None) -> Iterator[BuiltDay]:
    for day, run, k, regs in iter_days(cfg, first, last, opening, vm):
        if run.outage[k]:
            yield BuiltDay(day, None, list(regs))
            continue
        text = sealed_text(cfg, run, k, regs)
        sl = run.day_slice(k)
        rec = np.where((run.quality[sl] == Q_MISSING)[:, None], 0, run.recorded[sl])
        yield BuiltDay(day, text, [regs[c] + int(rec[:, c].sum()) for c in range(len(regs))])


def truth(cfg: Config, day: int, vm: VectorMeter | None = None) -> dict:
    """The ground truth of one day: what the household used, what the meter recorded, and
    every deliberate fault, labelled."""
    m = cfg.model
    vm = vm or VectorMeter(m)
    run = vm.run(day, day)
    model = vm.m
    zone = model.zone
    names = [c[0] for c in m["channels"]]
    outage = bool(run.outage[0])
    intervals = []
    for i in range(int(run.counts[0])):
        q = QUALITY_TEXT[int(run.quality[i])]
        faults = labels_of(int(run.faults[i]))
        if outage:
            q, faults = "missing", ["outage"]
        recorded = None if q == "missing" else {
            n: dayfile_writer.kwh(int(run.recorded[i, c])) for c, n in enumerate(names)}
        intervals.append({
            "end": tz.label(zone, int(run.ends[i])),
            "true": {n: dayfile_writer.kwh(int(run.true[i, c])) for c, n in enumerate(names)},
            "recorded": recorded,
            "quality": q or "actual",
            "faults": faults,
        })
    return {
        "serial": m["serial"],
        "reading_day": civil.format_day(day),
        "interval": m["interval"],
        "timezone": m["timezone"],
        "unit": "kWh",
        "day_faults": {
            "outage": outage,
            "late_days": model.late_days(day),
            "duplicate_delivery": model.duplicate(day),
            "clock_drift_minutes": model.drift(day),
        },
        "totals": {
            "true": {n: dayfile_writer.kwh(int(run.true[:, c].sum())) for c, n in enumerate(names)},
            "recorded": {n: dayfile_writer.kwh(0 if outage else int(
                np.where(run.quality == Q_MISSING, 0, run.recorded[:, c]).sum()))
                for c, n in enumerate(names)},
        },
        "intervals": intervals,
    }
