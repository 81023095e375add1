"""The load model against published references (docs/load-model.md lists the figures).

A population of 200 households placed in Germany, in the German mix of household types, over
a year: the aggregate's mean daily shape against the BDEW H0 standard load profile (from
demandlib), weekend/weekday and winter/summer energy; and every meter's own statistics at
30-minute resolution against the ranges real smart-meter data shows.
"""

import numpy as np
import pytest

from core import civil
from loadmodel import holidays
from meter.bulk import derive_all
from meter.config import from_dict
from meter.vector.engine import VectorMeter

pytestmark = pytest.mark.realism

YEAR = 2023
TOWNS = [(52.52, 13.40), (48.14, 11.58), (53.55, 9.99), (50.94, 6.96), (50.11, 8.68),
         (51.34, 12.37), (48.78, 9.18), (51.05, 13.74), (54.32, 10.13), (49.45, 11.08)]
N = 200


def autocorr(x: np.ndarray, lag: int) -> float:
    x = x - x.mean()
    return float((x[:-lag] * x[lag:]).sum() / (x * x).sum())


@pytest.fixture(scope="module")
def population():
    base = {"serial": "de", "interval_min": 30, "timezone": "Europe/Berlin",
            "commissioned": "2023-01-01"}
    d0, d1 = civil.days_from_civil(YEAR, 1, 1), civil.days_from_civil(YEAR, 12, 31)
    aggregate = None
    per_meter = []
    run = None
    for i, raw in enumerate(derive_all(base, N, mix=True)):
        lat, lon = TOWNS[i % len(TOWNS)]
        raw["location"] = {"latitude": lat, "longitude": lon, "country": "DE"}
        run = VectorMeter(from_dict(raw).model).run(d0, d1)
        series = run.recorded[:, 0].astype(np.float64)
        aggregate = series if aggregate is None else aggregate + series
        per_meter.append((raw["archetype"], series))
    return run, aggregate, per_meter


def test_aggregate_daily_shape_matches_bdew_h0(population):
    import demandlib.bdew as bdew

    run, aggregate, _ = population
    shape = np.zeros(48)
    days = 0
    for k in range(len(run.days)):
        sl = run.day_slice(k)
        if sl.stop - sl.start == 48:  # DST days have 46 or 50 half hours: leave them out
            shape += aggregate[sl]
            days += 1
    shape /= days
    h0 = bdew.ElecSlp(YEAR).get_scaled_profiles({"h0": 1000})["h0"].to_numpy()
    h0_shape = h0.reshape(-1, 96).mean(axis=0).reshape(48, 2).sum(axis=1)
    corr = float(np.corrcoef(shape, h0_shape)[0, 1])
    print(f"\nH0 correlation of the mean daily shape: {corr:.3f}")
    assert corr >= 0.9


def test_weekend_and_winter_ratios(population):
    run, aggregate, _ = population
    weekday, weekend, winter, summer = [], [], [], []
    for k, day in enumerate(run.days):
        energy = aggregate[run.day_slice(k)].sum()
        day = int(day)
        off = civil.weekday(day) >= 5 or holidays.is_holiday("DE", day)
        (weekend if off else weekday).append(energy)
        month = civil.civil_from_days(day)[1]
        if month in (12, 1, 2):
            winter.append(energy)
        elif month in (6, 7, 8):
            summer.append(energy)
    we_wd = np.mean(weekend) / np.mean(weekday)
    w_s = np.mean(winter) / np.mean(summer)
    print(f"\nweekend/weekday {we_wd:.3f}, winter/summer {w_s:.3f}")
    assert 1.03 <= we_wd <= 1.2
    assert w_s > 1.1


def test_every_meter_looks_like_a_real_household(population):
    _, _, per_meter = population
    rows = []
    for archetype, series in per_meter:
        mean = series.mean()
        rows.append((archetype, series.std() / mean, autocorr(series, 1), autocorr(series, 48),
                     series.max() / mean))
    stats = np.array([r[1:] for r in rows])
    lo, hi = stats.min(axis=0), stats.max(axis=0)
    print(f"\nper meter (min-max): CV {lo[0]:.2f}-{hi[0]:.2f}, lag-1 {lo[1]:.2f}-{hi[1]:.2f}, "
          f"lag-24h {lo[2]:.2f}-{hi[2]:.2f}, peak/mean {lo[3]:.1f}-{hi[3]:.1f}")
    for archetype, cv, ac1, ac48, peak in rows:
        assert 1.0 <= cv <= 2.2, (archetype, cv)
        assert 0.25 <= ac1 <= 0.8, (archetype, ac1)
        assert 0.05 <= ac48 <= 0.3, (archetype, ac48)
        assert 6 <= peak <= 25, (archetype, peak)


def test_annual_energy_follows_the_archetype_target(population):
    from loadmodel.archetypes import ARCHETYPES

    _, _, per_meter = population
    by_type: dict[str, list[float]] = {}
    for archetype, series in per_meter:
        by_type.setdefault(archetype, []).append(series.sum() / 1000)
    for archetype, totals in by_type.items():
        target = ARCHETYPES[archetype]["typical_kwh"]
        assert abs(np.mean(totals) / target - 1) < 0.1, (archetype, np.mean(totals), target)
