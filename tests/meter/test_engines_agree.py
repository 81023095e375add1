"""The per-tick engine (plain Python, runs on the Pico) and the vectorised engine (numpy) must
give the same Wh, interval for interval, fault for fault, on ordinary and DST days."""

import pytest

from core import civil
from loadmodel.engine import MeterModel
from meter.bulk import derive_all
from meter.vector.engine import QUALITY_TEXT, VectorMeter, labels_of
from tests.meter.configs import AUCKLAND, BERLIN, SEED_KILI, cfg_of

FAULTS = {"missing_intervals": 0.01, "missing_run_max": 4, "estimated": 0.01, "spikes": 0.01,
          "clock_drift_s_per_day": 45, "clock_resync_days": 9, "outage_days": 0.05}

CASES = [
    # Europe/Berlin spring forward (2024-03-31, 23 h) and fall back (2024-10-27, 25 h)
    ({"serial": "a", "archetype": "family", "timezone": "Europe/Berlin", "location": BERLIN,
      "channels": {"Total": 1, "Main": 0.6, "Sub1": 0.4}, "pv": {"kwp": 6.5}},
     "2024-03-30", "2024-04-01"),
    ({"serial": "b", "archetype": "single", "timezone": "Europe/Berlin", "location": BERLIN,
      "interval_min": 15, "faults": FAULTS, "heating": {"type": "heat_pump"},
      "ev": {"kw": 11, "sessions_per_week": 5}, "hot_water": "element"},
     "2024-10-26", "2024-10-28"),
    # Pacific/Auckland: DST ends 2024-04-07, starts 2024-09-29; southern-hemisphere seasons
    ({"serial": "c", "archetype": "retired", "timezone": "Pacific/Auckland", "location": AUCKLAND,
      "interval_min": 30, "cooling": {"type": "ac"}, "hot_water": "night",
      "faults": {"missing_intervals": 0.03, "spikes": 0.02}},
     "2024-04-06", "2024-04-08"),
    ({"serial": "d", "archetype": "home_office", "timezone": "Pacific/Auckland",
      "location": AUCKLAND, "interval_min": 1, "ev": {"offpeak": True},
      "channels": [{"name": "Total"}, {"name": "Office", "role": "sub", "share": 0.3},
                   {"name": "Rest", "role": "sub", "share": 0.7}]},
     "2024-09-29", "2024-09-29"),
    ({**SEED_KILI, "timezone": "Pacific/Auckland", "missing_data": 0.02,
      "excessive_data": 0.01}, "2024-01-05", "2024-01-06"),
]


@pytest.mark.parametrize("raw,first,last", CASES, ids=[c[0]["serial"] for c in CASES])
def test_per_tick_and_vector_engines_agree(raw, first, last):
    cfg = cfg_of(raw)
    run = VectorMeter(cfg.model).run(civil.parse_day(first), civil.parse_day(last))
    model = MeterModel(cfg.model)
    checked = 0
    for k, day in enumerate(run.days):
        day = int(day)
        start, count = model.day_grid(day)
        assert count == run.counts[k]
        sl = run.day_slice(k)
        for i in range(count):
            values, quality, labels = model.recorded_interval(day, i, start, count)
            at = sl.start + i
            vq = QUALITY_TEXT[int(run.quality[at])]
            assert quality == vq, (day, i)
            assert labels == labels_of(int(run.faults[at])), (day, i)
            if quality != "missing":
                assert values == [int(v) for v in run.recorded[at]], (day, i)
            assert model.true_interval(day, i) == [int(v) for v in run.true[at]], (day, i)
            checked += 1
        assert model.outage(day) == bool(run.outage[k])
    assert checked == int(run.counts.sum())


def test_the_fault_cases_really_contain_faults():
    cfg = cfg_of(CASES[1][0])
    run = VectorMeter(cfg.model).run(civil.parse_day("2024-10-01"), civil.parse_day("2024-10-31"))
    seen = set()
    for bits in run.faults:
        seen.update(labels_of(int(bits)))
    assert {"missing", "estimated", "spike", "clock_drift"} <= seen


def test_engines_agree_on_individual_households_of_every_country():
    """Households drawn from their seeds in five countries' mixes (pools, spa pools, shift
    work, days at home, freezers, pumps, hot water, electric showers, plug-in heaters): the
    true Wh of two winter and summer days agree interval for interval."""
    from meter.population import TOWNS

    seen = set()
    for country, (zone, towns) in sorted(TOWNS.items()):
        base = {"serial": f"ind-{country.lower()}", "interval_min": 30, "timezone": zone,
                "location": {"latitude": towns[0][0], "longitude": towns[0][1],
                             "country": country}, "commissioned": "2024-01-01"}
        for raw in derive_all(base, 12, mix=True):
            cfg = cfg_of(raw)
            model = MeterModel(cfg.model)
            h = model.load
            seen.update(k for k, on in (("pool", h.pool_w), ("spa", h.spa_w),
                                        ("shift work", h.shift_p16), ("days at home", h.home_p16),
                                        ("freezer", h.cold), ("pump", h.pump_w),
                                        ("hot water", h.hot_water)) if on)
            seen.update(a[0] for a in h.appliances)
            for first in ("2024-01-16", "2024-07-16"):
                d0 = civil.parse_day(first)
                run = VectorMeter(cfg.model).run(d0, d0 + 1)
                for k, day in enumerate(run.days):
                    sl = run.day_slice(k)
                    for i in range(int(run.counts[k])):
                        assert model.true_interval(int(day), i) == \
                            [int(v) for v in run.true[sl.start + i]], (raw["serial"], day, i)
    assert {"pool", "spa", "shift work", "days at home", "freezer", "pump", "hot water",
            "electric_shower", "space_heater", "tumble_dryer"} <= seen, seen
