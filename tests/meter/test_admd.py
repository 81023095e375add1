"""After-diversity maximum demand: the peak per home of groups of 1 to 1000 homes over a
German winter (2022-12 to 2023-02, 30 minutes), against what the BDEW H0 profile's load factor
puts it at, and what heat pumps and EVs add (docs/load-model.md has the curve and sources).
Figures of a run: `.venv/bin/python -m pytest -q -s tests/meter/test_admd.py`.
"""

import pytest

from meter import population
from tests.meter import populations

pytestmark = [pytest.mark.realism, pytest.mark.slow]
SIZES = (1, 10, 100, 1000)


@pytest.fixture(scope="module")
def winter():
    pop = populations.winter()
    return pop, population.admd(pop, SIZES), population.bdew_profiles(pop)


def test_admd_falls_with_group_size_to_where_h0_puts_it(winter):
    pop, curve, profiles = winter
    mean = float(pop.kw().mean())
    expected = {name: mean / population.load_factor(profiles[name]) for name in ("H0", "H25")}
    print("\nADMD kW per home: " + ", ".join(f"N={n}: {v:.2f}" for n, v in curve.items())
          + f"; mean {mean:.3f} kW; H0's load factor puts it at {expected['H0']:.2f}, "
            f"H25's at {expected['H25']:.2f}")
    values = [curve[n] for n in SIZES]
    assert values == sorted(values, reverse=True) and len(set(values)) == len(values)
    for n in (100, 1000):
        assert abs(curve[n] / expected["H0"] - 1) <= 0.15, n


def _with_and_without(variant: str) -> tuple[float, float, float]:
    """ADMD at N=100 of the same homes without and with it, and of its own load (the
    difference of the two runs: the same households drawn from the same seeds)."""
    pop = populations.winter(variant)
    base = populations.winter().first_homes(len(pop.wh))
    own = pop.with_wh(pop.wh - base.wh)
    return tuple(population.admd(p, (100,))[100] for p in (base, pop, own))


def test_heat_pumps_raise_it_as_the_field_trial_showed():
    base, with_hp, own = _with_and_without("heat_pump")
    print(f"\nADMD at N=100: {base:.2f} kW, with a heat pump in every home {with_hp:.2f} kW; "
          f"the heat pumps' own {own:.2f} kW (Love et al. 2017: 1.7 kW per heat pump)")
    assert with_hp - base >= 0.8
    assert 1.0 <= own <= 2.5


def test_evs_raise_it_as_charging_trials_showed():
    base, with_ev, own = _with_and_without("ev")
    print(f"\nADMD at N=100: {base:.2f} kW, with an EV in every home {with_ev:.2f} kW; the "
          f"EVs' own {own:.2f} kW (FleetCarma 2020: about 1 kW per EV at peak)")
    assert with_ev - base >= 0.5
    assert 0.5 <= own <= 2.0
