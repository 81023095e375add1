"""A population of households: a country's mix simulated by the vector engine, and measured.

`simulate()` derives N meters from one base config the way `meter --count N --mix` does (each
an individual drawn from its seed, archetypes in the country's household mix), places them in
ten towns of the country and returns every home's interval energy. The measures are the ones
docs/load-model.md reports and tests/meter/test_population.py checks: annual energy per
archetype, every meter's own statistics, mean daily shapes, the after-diversity maximum demand
(ADMD), and the aggregate against the BDEW standard load profiles H0 and H25 (demandlib, a dev
dependency, imported only by `bdew_profiles`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core import civil
from meter.bulk import derive_all
from meter.config import from_dict
from meter.vector.engine import VectorMeter

# Ten towns per country, in one time zone each so that every home's intervals line up.
TOWNS = {
    "DE": ("Europe/Berlin", ((52.52, 13.40), (48.14, 11.58), (53.55, 9.99), (50.94, 6.96),
                             (50.11, 8.68), (51.34, 12.37), (48.78, 9.18), (51.05, 13.74),
                             (54.32, 10.13), (49.45, 11.08))),
    "GB": ("Europe/London", ((51.51, -0.13), (52.49, -1.89), (53.48, -2.24), (53.80, -1.55),
                             (55.86, -4.25), (51.45, -2.59), (51.48, -3.18), (54.98, -1.61),
                             (55.95, -3.19), (52.63, 1.30))),
    "NZ": ("Pacific/Auckland", ((-36.85, 174.76), (-41.29, 174.78), (-43.53, 172.64),
                                (-37.79, 175.28), (-37.69, 176.17), (-45.87, 170.50),
                                (-40.35, 175.61), (-39.49, 176.91), (-41.27, 173.28),
                                (-46.41, 168.35))),
    "AU": ("Australia/Sydney", ((-33.87, 151.21), (-37.81, 144.96), (-35.28, 149.13),
                                (-32.93, 151.78), (-34.42, 150.89), (-38.15, 144.36),
                                (-36.08, 146.92), (-33.28, 149.10), (-30.30, 153.11),
                                (-37.56, 143.85))),
    "US": ("America/Chicago", ((41.88, -87.63), (29.76, -95.37), (32.78, -96.80),
                               (29.42, -98.49), (44.98, -93.27), (39.10, -94.58),
                               (43.04, -87.91), (38.63, -90.20), (29.95, -90.07),
                               (35.47, -97.52))),
}
WINTER_MONTHS = {"north": (12, 1, 2), "south": (6, 7, 8)}
SUMMER_MONTHS = {"north": (6, 7, 8), "south": (12, 1, 2)}


@dataclass
class Population:
    """N homes over consecutive local days: wh[home, interval] is what each home used."""

    country: str
    interval: int
    days: np.ndarray  # [D] local day numbers
    counts: np.ndarray  # [D] intervals per day (DST days have more or fewer)
    ends: np.ndarray  # [I] UTC minute each interval ends
    wh: np.ndarray  # [N, I] Wh
    archetypes: list[str]
    traits: list[dict] = field(default_factory=list)  # each home's drawn traits

    @property
    def first(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)

    def kw(self) -> np.ndarray:
        """[N, I] mean kW in each interval."""
        return self.wh * (60.0 / self.interval / 1000.0)

    def day_of_interval(self) -> np.ndarray:
        return np.repeat(self.days, self.counts)

    def months(self) -> np.ndarray:
        """[I] the local month of each interval."""
        month_of_day = np.array([civil.civil_from_days(int(d))[1] for d in self.days])
        return np.repeat(month_of_day, self.counts)

    def full_days(self) -> np.ndarray:
        """[I] True for intervals of days with the ordinary count (not DST change days)."""
        return np.repeat(self.counts == 1440 // self.interval, self.counts)

    def slot(self) -> np.ndarray:
        """[I] the interval's index within its local day."""
        return np.arange(len(self.ends)) - np.repeat(self.first, self.counts)

    def with_wh(self, wh: np.ndarray) -> Population:
        """The same homes and days with other energies (e.g. a difference of two runs)."""
        return Population(country=self.country, interval=self.interval, days=self.days,
                          counts=self.counts, ends=self.ends, wh=wh,
                          archetypes=self.archetypes[:len(wh)], traits=self.traits[:len(wh)])

    def first_homes(self, n: int) -> Population:
        return self.with_wh(self.wh[:n])

    def annual_kwh(self) -> np.ndarray:
        """[N] each home's energy scaled to 365 days."""
        return self.wh.sum(axis=1) / 1000.0 * 365.0 / len(self.days)


def simulate(country: str, count: int, first: str, last: str, interval: int = 30,
             extra: dict | None = None, serial: str | None = None, progress=None) -> Population:
    """`count` homes of `country`'s mix from local day `first` to `last` (YYYY-MM-DD)."""
    zone, towns = TOWNS[country]
    d0, d1 = civil.parse_day(first), civil.parse_day(last)
    base = {"serial": serial or f"pop-{country.lower()}", "interval_min": interval,
            "timezone": zone, "commissioned": first,
            "location": {"latitude": towns[0][0], "longitude": towns[0][1], "country": country}}
    base.update(extra or {})
    rows, kinds, traits, run = [], [], [], None
    for i, raw in enumerate(derive_all(base, count, mix=True)):
        lat, lon = towns[i % len(towns)]
        raw["location"] = {"latitude": lat, "longitude": lon, "country": country}
        vm = VectorMeter(from_dict(raw).model)
        run = vm.run(d0, d1)
        rows.append(run.true[:, 0].astype(np.int32))
        kinds.append(raw["archetype"])
        traits.append(_traits(vm.load.h))
        if progress:
            progress(1)
    return Population(country=country, interval=interval, days=run.days, counts=run.counts,
                      ends=run.ends, wh=np.stack(rows), archetypes=kinds, traits=traits)


def _traits(h) -> dict:
    return {"occupants": h.occupants, "heating": h.heating is not None,
            "hot_water": h.hot_water, "pool": bool(h.pool_w),
            "pump": bool(h.pump_w), "cold": len(h.cold), "shift": bool(h.shift_p16),
            "home_days": round(h.home_p16 * 5 / 65536), "chrono": h.chrono,
            "appliances": [a[0] for a in h.appliances]}


# -- measures ------------------------------------------------------------------------------------

def skewness(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    d = x - x.mean()
    return float((d ** 3).mean() / (d ** 2).mean() ** 1.5)


def cv(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(x.std() / x.mean())


def autocorr(x: np.ndarray, lag: int) -> float:
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean()
    return float((x[:-lag] * x[lag:]).sum() / (x * x).sum())


def per_meter(pop: Population) -> dict[str, np.ndarray]:
    """Each home's interval statistics: coefficient of variation, lag-1 and lag-one-day
    autocorrelation, peak over mean."""
    per_day = 1440 // pop.interval
    out = {"cv": [], "lag1": [], "lag_day": [], "peak_mean": []}
    for row in pop.wh:
        out["cv"].append(cv(row))
        out["lag1"].append(autocorr(row, 1))
        out["lag_day"].append(autocorr(row, per_day))
        out["peak_mean"].append(float(row.max() / row.mean()))
    return {k: np.array(v) for k, v in out.items()}


def daily_shapes(values: np.ndarray, pop: Population, mask: np.ndarray | None = None) -> np.ndarray:
    """Mean daily shape(s) over ordinary-length days: [..., intervals per day]."""
    per_day = 1440 // pop.interval
    keep = pop.full_days() if mask is None else pop.full_days() & mask
    slot = pop.slot()[keep]
    sums = np.zeros(values.shape[:-1] + (per_day,))
    np.add.at(sums.T, slot, np.moveaxis(values[..., keep], -1, 0))
    return sums / np.bincount(slot, minlength=per_day)


def median_pairwise_correlation(shapes: np.ndarray) -> float:
    c = np.corrcoef(shapes)
    return float(np.median(c[np.triu_indices(len(shapes), 1)]))


def hemisphere(country: str) -> str:
    return "south" if TOWNS[country][1][0][0] < 0 else "north"


def season_ratio(values: np.ndarray, pop: Population) -> float:
    """Mean winter demand over mean summer demand (the country's own seasons)."""
    months = pop.months()
    half = hemisphere(pop.country)
    winter = np.isin(months, WINTER_MONTHS[half])
    summer = np.isin(months, SUMMER_MONTHS[half])
    return float(values[..., winter].mean() / values[..., summer].mean())


def admd(pop: Population, sizes=(1, 10, 100, 1000), groups: int = 30,
         seed: int = 1) -> dict[int, float]:
    """After-diversity maximum demand (kW per home): for groups of N homes drawn from the
    population, the peak of the group's summed demand divided by N, averaged over groups."""
    kw = pop.kw()
    rnd = np.random.default_rng(seed)
    out = {}
    for n in sizes:
        if n > len(kw):
            continue
        reps = 1 if n == len(kw) else groups
        peaks = [kw[rnd.choice(len(kw), n, replace=False)].sum(axis=0).max() / n
                 for _ in range(reps)]
        out[n] = float(np.mean(peaks))
    return out


# -- the BDEW standard load profiles ---------------------------------------------------------

def bdew_profiles(pop: Population) -> dict[str, np.ndarray]:
    """{"H0": [I], "H25": [I]}: each profile's value at every interval of the population
    (read at the interval's local start time; H25 with its dynamisation), German holidays."""
    import datetime

    import demandlib.bdew as bdew
    import pandas as pd

    from loadmodel import holidays

    first = civil.civil_from_days(int(pop.days[0]))[0]
    last = civil.civil_from_days(int(pop.days[-1]))[0]
    h0_parts, h25_parts = [], []
    for year in range(first, last + 1):
        hol = [datetime.date(*civil.civil_from_days(d)) for d in sorted(holidays.for_year("DE", year))]
        index = pd.date_range(f"{year}-01-01", f"{year}-12-31 23:45", freq="15min")
        h0 = bdew.ElecSlp(year, holidays=hol).get_scaled_profiles({"h0": 1000})["h0"]
        h0_parts.append(pd.Series(h0.to_numpy()[:len(index)], index=index))
        h25_parts.append(pd.Series(bdew.H25(index, holidays=hol).to_numpy(), index=index))
    starts = _local_starts(pop)
    out = {}
    for name, parts in (("H0", h0_parts), ("H25", h25_parts)):
        series = pd.concat(parts).resample(f"{pop.interval}min").mean()
        out[name] = series.reindex(starts).to_numpy()
    return out


def _local_starts(pop: Population):
    import pandas as pd

    zone = TOWNS[pop.country][0]
    ends = pd.to_datetime(pop.ends * 60, unit="s", utc=True).tz_convert(zone)
    return (ends - pd.Timedelta(minutes=pop.interval)).tz_localize(None)


def load_factor(values: np.ndarray) -> float:
    return float(np.nanmean(values) / np.nanmax(values))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])
