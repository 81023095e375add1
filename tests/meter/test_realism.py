"""The German population against the BDEW standard load profiles (docs/load-model.md).

200 German households, each an individual, in the German mix, over 2023 at 30 minutes: the
aggregate's mean daily shape against H0 (demandlib) and the 2025 profile H25, month by month,
its winter/summer and weekend/weekday energy, while the homes' own daily shapes differ.
Figures of a run: `.venv/bin/python -m pytest -q -s tests/meter/test_realism.py`.
"""

import numpy as np
import pytest

from core import civil
from loadmodel import holidays
from meter import population
from tests.meter import populations

pytestmark = [pytest.mark.realism, pytest.mark.slow]


@pytest.fixture(scope="module")
def german():
    pop = populations.year("DE")
    return pop, pop.kw().sum(axis=0), population.bdew_profiles(pop)


def test_aggregate_daily_shape_matches_h0_and_h25(german):
    pop, aggregate, profiles = german
    shape = population.daily_shapes(aggregate, pop)
    h0 = population.correlation(shape, population.daily_shapes(profiles["H0"], pop))
    h25 = population.correlation(shape, population.daily_shapes(profiles["H25"], pop))
    print(f"\nmean daily shape: correlation with H0 {h0:.3f}, with H25 {h25:.3f}")
    assert h0 >= 0.9
    assert h25 >= 0.95


def test_every_month_matches_h25(german):
    pop, aggregate, profiles = german
    months = pop.months()
    corr = [population.correlation(population.daily_shapes(aggregate, pop, months == m),
                                   population.daily_shapes(profiles["H25"], pop, months == m))
            for m in range(1, 13)]
    print("\nmonthly correlation with H25: " + " ".join(f"{c:.2f}" for c in corr))
    assert min(corr) >= 0.85


def test_winter_and_summer_energy_follow_h25(german):
    pop, aggregate, profiles = german
    assert not any(t["heating"] for t in pop.traits)  # the check is for homes without it
    ours = population.season_ratio(aggregate, pop)
    h25 = population.season_ratio(profiles["H25"], pop)
    print(f"\nwinter/summer energy: {ours:.3f}, H25 {h25:.3f}")
    assert abs(ours / h25 - 1) <= 0.15


def test_weekends_use_a_little_more(german):
    pop, aggregate, _ = german
    day_of = pop.day_of_interval()
    off = np.array([civil.weekday(int(d)) >= 5 or holidays.is_holiday("DE", int(d))
                    for d in pop.days])
    per_day = np.bincount(np.searchsorted(pop.days, day_of), weights=aggregate)
    ratio = per_day[off].mean() / per_day[~off].mean()
    print(f"\nweekend / weekday daily energy: {ratio:.3f}")
    assert 1.03 <= ratio <= 1.2


def test_homes_have_daily_shapes_of_their_own(german):
    pop, _, _ = german
    shapes = population.daily_shapes(pop.kw(), pop)
    median = population.median_pairwise_correlation(shapes)
    print(f"\nmedian correlation of two homes' mean daily shapes: {median:.3f}")
    assert median < 0.8
