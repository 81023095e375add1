"""The named scenarios: a small fleet over four weeks of October 2024, which crosses both DST
changes (Sydney springs forward on the 6th, Berlin falls back on the 27th), each with a chosen
set of quirks. Same name, same files, on any host: every number comes from the seeds.

Each scenario also says which points the naive reference MDMS loses (`naive_loses`): it loads
files as they come, reads every timestamp as local wall time (ignoring its offset, so DST
too), fills gaps with zeros flagged actual, and keeps every row it is given. The tests grade
that MDMS and assert exactly these deductions (tests/conformance/).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core import civil

FIRST, LAST = "2024-10-01", "2024-10-28"
SYDNEY, BERLIN = "Australia/Sydney", "Europe/Berlin"
SYD_SPRING, BER_FALL = "2024-10-06", "2024-10-27"

# Day rules a scenario's expectations use besides plain dates.
# gap-days: the meter recorded nothing for some interval; file-gap-days: of those, the days it
# still sent a file for (not an outage: an MDMS given no file has no zeros to mistake).
ALL, GAP_DAYS, FILE_GAP_DAYS = "all", "gap-days", "file-gap-days"
SPIKE_DAYS, OUTAGE_DAYS = "spike-days", "outage-days"


@dataclass(frozen=True)
class Quirk:
    name: str  # a data quirk of meter/conformance/quirks.py
    days: tuple[str, ...] | str = ALL  # the dates it applies on, or ALL
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class MeterSpec:
    serial: str
    site: str  # the site's NMI: what an MDMS keys readings on
    timezone: str
    seed: int
    clock: str = "local_dst"
    quirks: tuple[Quirk, ...] = ()
    faults: dict = field(default_factory=dict)  # the meter engine's own faults (docs/faults.md)
    multiplier: str = "1"  # what the site's master data tells the MDMS to apply
    interval: int = 30
    commissioned: str = "2024-01-01"

    def engine_spec(self) -> dict:
        return {"serial": self.serial, "timezone": self.timezone, "seed": self.seed,
                "interval": self.interval, "commissioned": self.commissioned,
                "faults": self.faults}


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    meters: tuple[MeterSpec, ...]
    # (check, site, days): the points the naive MDMS loses; days a rule or dates.
    naive_loses: tuple[tuple[str, str, str | tuple[str, ...]], ...]
    first: str = FIRST
    last: str = LAST
    # serial -> (site, first day, last day) for a serial that is not its spec's all along.
    extra_serials: dict = field(default_factory=dict)

    @property
    def days(self) -> range:
        return range(civil.parse_day(self.first), civil.parse_day(self.last) + 1)


_CLOCK_MISREAD = ("instants", "duplicates", "interval_energy")
_GAP_LOSSES = (("estimates", GAP_DAYS), ("day_energy", GAP_DAYS), ("zeros", FILE_GAP_DAYS),
               ("interval_energy", FILE_GAP_DAYS))
_SPIKE_LOSSES = ("spikes", "interval_energy", "day_energy")

DST_AND_CLOCKS = Scenario(
    "dst-and-clocks",
    "Seven meters, no faults, one clock convention each, over both DST changes.",
    (
        MeterSpec("syd-dst", "CONF000101", SYDNEY, 101),
        MeterSpec("ber-dst", "CONF000102", BERLIN, 102),
        MeterSpec("ber-utc", "CONF000103", BERLIN, 103, clock="utc_all_year"),
        MeterSpec("syd-std", "CONF000104", SYDNEY, 104, clock="local_standard_all_year"),
        MeterSpec("ber-nooffset", "CONF000105", BERLIN, 105, clock="no_offset"),
        MeterSpec("syd-start", "CONF000106", SYDNEY, 106, clock="interval_start"),
        MeterSpec("ber-dlms", "CONF000107", BERLIN, 107, clock="dlms_deviation_wrong_sign"),
    ),
    (
        *((c, "CONF000102", (BER_FALL,)) for c in _CLOCK_MISREAD),
        ("interval_energy", "CONF000103", ALL), ("day_energy", "CONF000103", ALL),
        ("instants", "CONF000103", (BER_FALL, LAST)),
        ("interval_energy", "CONF000104", "2024-10-06..2024-10-28"),
        ("day_energy", "CONF000104", "2024-10-06..2024-10-28"),
        ("instants", "CONF000104", (LAST,)),
        # The spring-forward day: 02:00 and 03:00 standard wall time are one instant in DST.
        ("duplicates", "CONF000104", (SYD_SPRING,)),
        *((c, "CONF000105", (BER_FALL,)) for c in _CLOCK_MISREAD),
        ("interval_energy", "CONF000106", ALL), ("day_energy", "CONF000106", ALL),
        ("instants", "CONF000106", (LAST,)),
        # The wall clock is right (only the sign of the offset is not): as for CONF000102.
        *((c, "CONF000107", (BER_FALL,)) for c in _CLOCK_MISREAD),
    ),
)

GAPS_AND_ESTIMATES = Scenario(
    "gaps-and-estimates",
    "Missing runs, the meter's own estimates, spikes and whole-day outages; one meter sends "
    "zeros for what it did not record.",
    (
        MeterSpec("syd-gaps", "CONF000201", SYDNEY, 201, faults={
            "missing_intervals": 0.01, "estimated": 0.01, "spikes": 0.004, "outage_days": 0.05}),
        MeterSpec("ber-gaps", "CONF000202", BERLIN, 202, faults={
            "missing_intervals": 0.01, "estimated": 0.01, "spikes": 0.004}),
        MeterSpec("ber-zeros", "CONF000203", BERLIN, 203, faults={"missing_intervals": 0.01},
                  quirks=(Quirk("zeros_for_missing"),)),
    ),
    (
        *((c, site, days) for site in ("CONF000201", "CONF000202", "CONF000203")
          for c, days in _GAP_LOSSES),
        *((c, site, SPIKE_DAYS) for site in ("CONF000201", "CONF000202") for c in _SPIKE_LOSSES),
        ("instants", "CONF000201", OUTAGE_DAYS),
        *((c, site, (BER_FALL,)) for site in ("CONF000202", "CONF000203")
          for c in _CLOCK_MISREAD),
    ),
)

LATE_AND_REVISED = Scenario(
    "late-and-revised",
    "Days revised days later (estimates, then actual readings), days out of order, and a day "
    "sent twice with different content.",
    (
        MeterSpec("syd-late-1", "CONF000301", SYDNEY, 301, quirks=(
            Quirk("revised", ("2024-10-08", "2024-10-15"), {"first": 16, "last": 31}),
            Quirk("out_of_order", ("2024-10-10", "2024-10-20")),
        )),
        MeterSpec("syd-late-2", "CONF000302", SYDNEY, 302, quirks=(
            Quirk("duplicate_different", ("2024-10-12", "2024-10-22")),
            Quirk("out_of_order", ("2024-10-03",)),
        )),
    ),
    (
        *((c, "CONF000301", ("2024-10-08", "2024-10-15"))
          for c in ("revised", "duplicates", "interval_energy", "day_energy")),
        *((c, "CONF000302", ("2024-10-12", "2024-10-22"))
          for c in ("duplicates", "interval_energy", "day_energy")),
    ),
)

METER_EXCHANGE = Scenario(
    "meter-exchange",
    "A meter exchanged mid-day (new serial, register from zero), a CT-ratio error and a "
    "register that rolls over at 99,999.999 kWh.",
    (
        MeterSpec("syd-old", "CONF000401", SYDNEY, 401, quirks=(
            Quirk("meter_exchange", ("2024-10-16",), {"new_serial": "syd-new", "at": 20}),
            Quirk("renamed", "2024-10-17..2024-10-28", {"serial": "syd-new"}),
        )),
        MeterSpec("syd-ct", "CONF000402", SYDNEY, 402, multiplier="0.5",
                  quirks=(Quirk("multiplier", ALL, {"factor": 2}),)),
        MeterSpec("syd-roll", "CONF000403", SYDNEY, 403,
                  quirks=(Quirk("register_rollover", ALL, {"on": "2024-10-20"}),)),
    ),
    (
        ("duplicates", "CONF000401", ("2024-10-16",)),
        ("interval_energy", "CONF000402", ALL), ("day_energy", "CONF000402", ALL),
    ),
    extra_serials={"syd-new": ("CONF000401", "2024-10-16", LAST)},
)

SCENARIOS = {s.name: s for s in (DST_AND_CLOCKS, GAPS_AND_ESTIMATES, LATE_AND_REVISED,
                                 METER_EXCHANGE)}


def day_set(rule, first: str, last: str) -> set[int] | str:
    """Dates of a rule: ALL, a tuple of dates, or 'A..B'; other rules come back as they are
    (the truth resolves them)."""
    if rule == ALL:
        return set(range(civil.parse_day(first), civil.parse_day(last) + 1))
    if isinstance(rule, str) and ".." in rule:
        a, b = rule.split("..")
        return set(range(civil.parse_day(a), civil.parse_day(b) + 1))
    if isinstance(rule, str):
        return rule
    return {civil.parse_day(d) for d in rule}
