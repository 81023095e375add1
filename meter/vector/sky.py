"""The weather, the sun and rooftop PV of a run of days, for meter/vector/household.py.

Each function mirrors the per-tick model's (loadmodel.climate, loadmodel.sun,
loadmodel.household.darkness) for a whole array of days; `h` is the household
(loadmodel.household.Household) they belong to.
"""

from __future__ import annotations

import numpy as np

from core import civil
from loadmodel import climate, holidays, rng
from loadmodel.fixed import ONE, TURN
from meter.vector import ints

_MINUTES = np.arange(1440, dtype=np.int64)
_MINUTES32 = _MINUTES.astype(np.int32)


def temps(h, days, doy):
    # climate.temp_c10 and climate.normal_temp_c10
    anomaly = np.zeros(len(days), dtype=np.int64)
    for k in range(6):
        anomaly += climate._WEIGHTS[k] * ints.bell(h.rseed, rng.S_WEATHER, days - k, 0)
    anomaly = (anomaly * 30) // (21 * 8000)
    sdoy = doy + 182 if h.lat < 0 else doy
    normal = h.mean_c10 - (h.amp_c10 * ints.cos_ba(((sdoy - 20) * TURN) // 365)) // 32768
    return normal + anomaly


def clouds(h, days, doy):
    # climate.cloud_pct
    doy = doy + 182 if h.lat < 0 else doy
    seasonal = 55 + (15 * ints.cos_ba(((doy - 10) * TURN) // 365)) // 32768
    total = np.zeros(len(days), dtype=np.int64)
    for k in range(3):
        total += (3 - k) * (ints.u16(h.rseed, rng.S_CLOUD, days - k, 0) - 32768)
    return np.clip(seasonal + (total * 70) // (6 * 32768), 0, 100)


def sun(h, doy, offsets):
    # sun.declination, sun.eot_minutes, sun.times, sun.geometry
    lam = ((doy - 79) * TURN) // 365
    sd = (13035 * ints.sin_ba(lam)) >> 15
    cd = ints.isqrt(ONE * ONE - sd * sd)
    phi = (h.lat * TURN) // 3600000
    sp = int(ints.sin_ba(phi))
    cp = int(ints.cos_ba(phi))
    b = ((doy - 81) * TURN) // 364
    eot = (987 * ints.sin_ba(2 * b) - 753 * ints.cos_ba(b) - 150 * ints.sin_ba(b)) // (100 * ONE)
    noon = 720 - (h.lon * 4) // 10000 - eot + offsets
    num = -476 * ONE - sp * sd
    den = (cp * cd) >> 15
    safe = np.where(den <= 0, 1, den)
    x = np.where(den <= 0, np.where(num > 0, ONE, -ONE), np.clip(num // safe, -ONE, ONE))
    half = (ints.acos_ba(x) * 1440) // TURN
    geom = ((sp * sd) >> 15, (cp * cd) >> 15)
    return noon - half, noon + half, noon, geom


# darkness(m, sunrise, sunset) is the larger of a ramp down from sunrise and a ramp up to
# sunset, each saturating at 0 and 64: so it is the maximum of two rows, one chosen by the
# sunrise and one by the sunset, from tables made once. Sunrises and sunsets beyond the tables'
# ends give the same row as the end (all 0 or all 64), so they are clipped to them.
_RISE_LO, _RISE_HI = -51, 1450
_SET_LO, _SET_HI = -10, 1489
_DARK_TABLES = None


def _ramp(x):
    return np.clip(((x + 30) * 64) // 60, 0, 64).astype(np.int8)


def dark_tables():
    """(row by sunrise, row by sunset), made on first use and then shared by every meter."""
    global _DARK_TABLES
    if _DARK_TABLES is None:
        rise = np.arange(_RISE_LO, _RISE_HI + 1, dtype=np.int32)[:, None]
        sets = np.arange(_SET_LO, _SET_HI + 1, dtype=np.int32)[:, None]
        _DARK_TABLES = (_ramp(rise + 20 - _MINUTES32[None, :]),
                        _ramp(_MINUTES32[None, :] - sets + 20))
    return _DARK_TABLES


def darkness(sunrise, sunset):
    """darkness() for every day and minute: [D, 1440] int8."""
    by_rise, by_set = dark_tables()
    return np.maximum(by_rise[np.clip(sunrise, _RISE_LO, _RISE_HI) - _RISE_LO],
                      by_set[np.clip(sunset, _SET_LO, _SET_HI) - _SET_LO])


def pv(h, days, s):
    # Household._pv
    m = _MINUTES[None, :]
    a, b = s["geom"]
    t = m - s["noon"][:, None]
    sh = a[:, None] + ((b[:, None] * ints.cos_ba((t * TURN) // 1440)) >> 15)
    up = (m > s["sunrise"][:, None]) & (m < s["sunset"][:, None]) & (sh > 0)
    irr = (sh * (sh + 3277)) // (ONE + 3277)
    q = (days[:, None] * 1440 + m) // 10
    threshold = s["cloud"][:, None] * 655
    f0 = np.where(ints.u16(h.rseed, rng.S_CLOUD, q, 1) < threshold, 30, 100)
    f1 = np.where(ints.u16(h.rseed, rng.S_CLOUD, q + 1, 1) < threshold, 30, 100)
    f = f0 + ((f1 - f0) * (m % 10)) // 10
    out = (h.pv["watts_peak"] * irr * f * 85) // (ONE * 10000)
    return np.where(up, out, 0)


def holidays_of(country: str, days: np.ndarray, extra) -> np.ndarray:
    years = {civil.civil_from_days(int(d))[0] for d in (days[0], days[-1])}
    years = range(min(years), max(years) + 1)
    marked = set(extra or ())
    for y in years:
        marked |= holidays.for_year(country, y)
    return np.isin(days, np.array(sorted(marked), dtype=np.int64))


def year_start(days: np.ndarray) -> np.ndarray:
    """Day number of 1 January of each day's year (civil.day_of_year's base)."""
    first = civil.civil_from_days(int(days.min()))[0] - 1
    last = civil.civil_from_days(int(days.max()))[0] + 1
    starts = np.array([civil.days_from_civil(y, 1, 1) for y in range(first, last + 1)],
                      dtype=np.int64)
    return starts[np.searchsorted(starts, days, side="right") - 1]
