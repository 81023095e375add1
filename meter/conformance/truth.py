"""A scenario's ground truth: what each household used and what its meter recorded, interval
by interval, from the meter's own vectorised engine (the numbers `meter truth` prints).

Only the import channel is graded: it is the revenue register every MDMS settles on.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import tz
from meter import config
from meter.vector.engine import F_SPIKE, Q_ESTIMATED, Q_MISSING, VectorMeter

# What the meter did with an interval (the truth's `kind`).
ACTUAL, MISSING, SPIKE, METER_ESTIMATED = "actual", "missing", "spike", "meter_estimated"


@dataclass(frozen=True)
class DayTruth:
    """One meter's local reading day. `ends` are UTC minutes (interval ends); `true` the Wh the
    household used; `recorded` the Wh the meter recorded (None: not recorded); `kinds` one of
    ACTUAL, MISSING, SPIKE, METER_ESTIMATED per interval."""

    serial: str
    day: int
    zone: tz.Zone
    interval: int
    ends: tuple[int, ...]
    true: tuple[int, ...]
    recorded: tuple[int | None, ...]
    kinds: tuple[str, ...]
    outage: bool
    opening_wh: int  # the register at the day's start: it counts what the household used

    @property
    def start(self) -> int:
        return self.ends[0] - self.interval

    @property
    def end(self) -> int:
        return self.ends[-1]


def meter_config(spec: dict) -> config.Config:
    """The meter's config for a scenario meter: a household at 30 minutes (NEM12's common
    length), the scenario's seed, zone and engine faults."""
    return config.from_dict({
        "serial": spec["serial"], "timezone": spec["timezone"], "interval_min": spec["interval"],
        "seed": spec["seed"], "commissioned": spec["commissioned"],
        "archetype": spec.get("archetype", "family"), "faults": spec.get("faults", {})})


def meter_days(spec: dict, first: int, last: int, opening_wh: int = 0) -> list[DayTruth]:
    """Every local day first..last of one scenario meter, in one run of the engine."""
    cfg = meter_config(spec)
    vm = VectorMeter(cfg.model)
    run = vm.run(first, last)
    zone = vm.m.zone
    out = []
    register = opening_wh
    for k in range(len(run.days)):
        sl = run.day_slice(k)
        outage = bool(run.outage[k])
        true = tuple(int(v) for v in run.true[sl, 0])
        kinds, recorded = [], []
        for i in range(sl.start, sl.stop):
            q, faults = int(run.quality[i]), int(run.faults[i])
            if outage or q == Q_MISSING:
                kinds.append(MISSING)
                recorded.append(None)
                continue
            kinds.append(SPIKE if faults & F_SPIKE else METER_ESTIMATED if q == Q_ESTIMATED
                         else ACTUAL)
            recorded.append(int(run.recorded[i, 0]))
        out.append(DayTruth(spec["serial"], int(run.days[k]), zone, spec["interval"],
                            tuple(int(e) for e in run.ends[sl]), true, tuple(recorded),
                            tuple(kinds), outage, register))
        register += sum(true)
    return out
