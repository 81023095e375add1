"""The simulated populations the realism tests share (each made once per test session).

A 200-home population per country mix over a year at 30 minutes, and 1000 German homes over a
winter (with variants where every home has a heat pump or an EV), all by the vector engine.
"""

from __future__ import annotations

from functools import cache

from meter import population

YEAR = ("2023-01-01", "2023-12-31")
WINTER = ("2022-12-01", "2023-02-28")
HOMES = 200
ADMD_HOMES = 1000
VARIANT_HOMES = 300
HEAT_PUMP = {"heating": {"type": "heat_pump"}}
EV = {"ev": {"kw": 7.2}}


@cache
def year(country: str) -> population.Population:
    return population.simulate(country, HOMES, *YEAR)


@cache
def winter(variant: str = "") -> population.Population:
    """German homes over a winter: all 1000, or the first 300 of them (the same households,
    from the same seeds) with a heat pump ("heat_pump") or an EV ("ev") each."""
    if not variant:
        return population.simulate("DE", ADMD_HOMES, *WINTER)
    extra = {"heat_pump": HEAT_PUMP, "ev": EV}[variant]
    return population.simulate("DE", VARIANT_HOMES, *WINTER, extra=extra)
