"""loadmodel.household for a run of days at once: power on the local-minute grid.

`grid(days)` returns consumption and PV watts as [len(days), 1440] int64 arrays, laid out so
that day k's minute m is row k, column m. Every line mirrors the per-tick model; the comments
name the function it mirrors.
"""

from __future__ import annotations

import numpy as np

from core import civil
from loadmodel import climate, holidays, rng
from loadmodel.fixed import ONE, TURN
from loadmodel.household import (
    COOL_BASE_C10,
    HEAT_BASE_C10,
    SETBACK_WEIGHT,
    WEEKDAY,
    WEEKEND,
    Household,
)
from meter.vector import ints

_MINUTES = np.arange(1440, dtype=np.int64)
_MINUTES32 = _MINUTES.astype(np.int32)


class VectorHousehold:
    def __init__(self, cfg: dict, zone):
        # The per-tick model's constructor does all the per-meter set-up; reuse it.
        self.h = Household(cfg, zone)
        h = self.h
        # activity_at() for every x in [-120, 1560): index x + 120.
        xs = np.arange(-120, 1560, dtype=np.int64)
        act_tab = np.stack([self._activity_table(h.activity[t], xs) for t in (0, 1)])
        # windows[t][k] is the 1440 values starting at x = k - 120: one row per shift.
        self.act_windows = [np.lib.stride_tricks.sliding_window_view(
            act_tab[t].astype(np.int32), 1440) for t in (0, 1)]
        self.cdfs = [(np.array(a[5][0], dtype=np.int64), np.array(a[5][1], dtype=np.int64))
                     for a in h.appliances]
        self.shower_cdfs = (np.array(h.shower_cdfs[0], dtype=np.int64),
                            np.array(h.shower_cdfs[1], dtype=np.int64))
        self.heat_w = np.array(h.heat_weights, dtype=np.int64)  # [2, 48]
        self._tz_starts = np.array(zone.starts, dtype=np.int64)
        self._tz_offsets = np.array(zone.offsets, dtype=np.int64)

    @staticmethod
    def _activity_table(profile, xs):
        prof = np.array(profile, dtype=np.int64)
        y = xs - 30
        h0 = (y // 60) % 24
        f = y % 60
        a0 = prof[h0]
        return a0 + ((prof[(h0 + 1) % 24] - a0) * f) // 60

    # -- per-day quantities (DayPlan) ------------------------------------------------------

    def day_scalars(self, days: np.ndarray) -> dict:
        h = self.h
        seed = h.seed
        away = self._away(days)
        weekend = ((days + 3) % 7) >= 5
        if h.country or h.extra_holidays:
            weekend |= holidays_of(h.country, days, h.extra_holidays)
        dtype = np.where(weekend, WEEKEND, WEEKDAY).astype(np.int64)
        shift = np.where(dtype == WEEKDAY, ints.below(seed, rng.S_DAY, days, 0, 61),
                         ints.below(seed, rng.S_DAY, days, 0, 91)) - 30
        mood = 700 + ints.below(seed, rng.S_DAY, days, 1, 601)
        doy = days - year_start(days)
        temp = self._temps(days, doy)
        # The day's UTC offset at local noon, as Household._make_plan() takes it.
        midnight = days * 1440
        offsets = self._offset_at(midnight + 720 - self._offset_at(midnight))
        sunrise, sunset, noon, geom = self._sun(doy, offsets)
        fridge_on = (h.fridge_period * (300 + temp // 2)) // 1000
        out = {"dtype": dtype, "away": away, "shift": shift, "mood": mood, "temp": temp,
               "sunrise": sunrise, "sunset": sunset, "noon": noon, "geom": geom,
               "fridge_on": fridge_on}
        if h.pv is not None:
            out["cloud"] = self._clouds(days, doy)
        return out

    def _away(self, days):
        # Household.is_away, by marking each year's trips.
        h = self.h
        away = np.zeros(len(days), dtype=bool)
        if h.away_days <= 0:
            return away
        first = civil.civil_from_days(int(days[0]))[0]
        last = civil.civil_from_days(int(days[-1]))[0]
        for year in range(first - 1, last + 1):
            for a, b in h.trips(year):
                away |= (days >= a) & (days < b)
        return away

    def _offset_at(self, utc):
        i = np.searchsorted(self._tz_starts, utc, side="right") - 1
        return self._tz_offsets[np.maximum(i, 0)]

    def _temps(self, days, doy):
        # climate.temp_c10 and climate.normal_temp_c10
        h = self.h
        anomaly = np.zeros(len(days), dtype=np.int64)
        for k in range(6):
            anomaly += climate._WEIGHTS[k] * ints.bell(h.rseed, rng.S_WEATHER, days - k, 0)
        anomaly = (anomaly * 30) // (21 * 8000)
        sdoy = doy + 182 if h.lat < 0 else doy
        normal = h.mean_c10 - (h.amp_c10 * ints.cos_ba(((sdoy - 20) * TURN) // 365)) // 32768
        return normal + anomaly

    def _clouds(self, days, doy):
        # climate.cloud_pct
        h = self.h
        doy = doy + 182 if h.lat < 0 else doy
        seasonal = 55 + (15 * ints.cos_ba(((doy - 10) * TURN) // 365)) // 32768
        total = np.zeros(len(days), dtype=np.int64)
        for k in range(3):
            total += (3 - k) * (ints.u16(h.rseed, rng.S_CLOUD, days - k, 0) - 32768)
        return np.clip(seasonal + (total * 70) // (6 * 32768), 0, 100)

    def _sun(self, doy, offsets):
        # sun.declination, sun.eot_minutes, sun.times, sun.geometry
        h = self.h
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

    # -- events (DayPlan.events / .extra) --------------------------------------------------

    def events(self, days: np.ndarray, s: dict):
        """(day index, start, end, watts) arrays for scaled events, then for extra events."""
        h = self.h
        seed = h.seed
        idx_all, st_all, en_all, w_all = [], [], [], []
        home = ~s["away"]
        di = np.arange(len(days), dtype=np.int64)
        for ai, (_key, spec, wd, we, slots, _cdfs) in enumerate(h.appliances):
            watts, lo, hi, _pref, sens, phases = spec
            uses = np.where(s["dtype"] == WEEKEND, we, wd)
            sf = 1000 + (sens * (150 - s["temp"])) // 25
            lam = (uses * sf) // 1000
            lam = (lam * s["mood"]) // 1000
            threshold = (lam * 65536) // (100 * slots)
            # All slots of the appliance at once: rows are slots, columns days.
            keys = (ai * 16 + np.arange(slots, dtype=np.int64))[:, None]
            hit = (ints.u16(seed, rng.S_EVENT_COUNT, days[None, :], keys) < threshold) & home
            slot_i, day_i = np.nonzero(hit)
            if not len(day_i):
                continue
            key = keys[slot_i, 0]
            d_hit = days[day_i]
            dt = s["dtype"][day_i]
            u = ints.u16(seed, rng.S_EVENT_TIME, d_hit, key)
            q = self._pick_bin(self.cdfs[ai], dt, u)
            start = q * 15 + ints.below(seed, rng.S_EVENT_MINUTE, d_hit, key, 15) + s["shift"][day_i]
            start = np.maximum(start, 0)
            length = lo + ints.below(seed, rng.S_EVENT_LEN, d_hit, key, hi - lo + 1)
            pf = 900 + ints.below(seed, rng.S_EVENT_POWER, d_hit, key, 201)
            rows = di[day_i]
            if phases is None:
                idx_all.append(rows)
                st_all.append(start)
                en_all.append(start + length)
                w_all.append((watts * pf) // 1000)
                continue
            t = start
            end = start + length
            last = len(phases) - 1
            for i, (mins, w) in enumerate(phases):
                stop = end if i == last else np.minimum(t + mins, end)
                keep = stop > t
                idx_all.append(rows[keep])
                st_all.append(t[keep])
                en_all.append(stop[keep])
                w_all.append(((w * pf) // 1000)[keep])
                t = stop
        self._hot_water(days, s, di, home, idx_all, st_all, en_all, w_all)
        scaled = self._cat(idx_all, st_all, en_all, w_all)
        extra = self._ev(days, s, di, home)
        return scaled, extra

    @staticmethod
    def _cat(idx, st, en, w):
        if not idx:
            z = np.zeros(0, dtype=np.int64)
            return z, z, z, z
        return (np.concatenate(idx), np.concatenate(st), np.concatenate(en),
                np.concatenate(w).astype(np.int64))

    @staticmethod
    def _pick_bin(cdfs, dtype, u):
        # household.pick_bin: first bin whose cumulative weight exceeds (u * total) >> 16
        out = np.empty(len(u), dtype=np.int64)
        for t in (0, 1):
            sel = dtype == t
            if sel.any():
                cdf = cdfs[t]
                target = (u[sel] * cdf[95]) >> 16
                out[sel] = np.searchsorted(cdf, target, side="right")
        return out

    def _hot_water(self, days, s, di, home, idx, st, en, w):
        # Household._plan_hot_water
        h = self.h
        if h.hot_water is None or not home.any():
            return
        seed = h.seed
        d = days[home]
        rows = di[home]
        need = (h.occupants * 1800 * s["mood"][home]) // 1000
        need = (need * (1000 + (10 * (150 - s["temp"][home])) // 25)) // 1000
        watts = 3000
        if h.hot_water == "night":
            start = 23 * 60 + ints.below(seed, rng.S_EVENT_TIME, d, 1000, 60)
            idx.append(rows)
            st.append(start)
            en.append(start + (need * 60) // watts + 1)
            w.append(np.full(len(d), watts, dtype=np.int64))
            return
        morning = (need * 45) // 100
        u = ints.u16(seed, rng.S_EVENT_TIME, d, 1001)
        q = self._pick_bin(self.shower_cdfs, s["dtype"][home], u)
        start = q * 15 + ints.below(seed, rng.S_EVENT_MINUTE, d, 1001, 15) + s["shift"][home] + 10
        start = np.maximum(start, 0)
        idx.append(rows)
        st.append(start)
        en.append(start + (morning * 60) // watts + 1)
        w.append(np.full(len(d), watts, dtype=np.int64))
        start = 18 * 60 + ints.below(seed, rng.S_EVENT_TIME, d, 1002, 180)
        idx.append(rows)
        st.append(start)
        en.append(start + ((need - morning) * 60) // watts + 1)
        w.append(np.full(len(d), watts, dtype=np.int64))

    def _ev(self, days, s, di, home):
        # Household._plan_ev
        h = self.h
        ev = h.ev
        if ev is None:
            return self._cat([], [], [], [])
        seed = h.seed
        threshold = (ev["sessions_per_week_x100"] * 65536) // 700
        hit = (ints.u16(seed, rng.S_EV, days, 0) < threshold) & home
        d = days[hit]
        r1 = ints.below(seed, rng.S_EV, d, 1, 120)
        if ev["offpeak"]:
            start = 22 * 60 + r1
        else:
            wk = s["dtype"][hit] == WEEKDAY
            start = np.where(wk, 17 * 60 + ints.below(seed, rng.S_EV, d, 1, 150) + s["shift"][hit],
                             10 * 60 + ints.below(seed, rng.S_EV, d, 1, 600))
        energy = (ev["wh_per_session"] * (700 + ints.below(seed, rng.S_EV, d, 2, 601))) // 1000
        minutes = np.maximum((energy * 60) // ev["watts"], 5)
        return (di[hit], start, start + minutes, np.full(len(d), ev["watts"], dtype=np.int64))

    # -- the grid ------------------------------------------------------------------------

    def grid(self, days: np.ndarray):
        """(consumption W, PV W or None) as [len(days), 1440] arrays; days are consecutive.

        Events of the day before the first one spill into it, as in Household.minute().
        Watts fit int32 (a home draws well under 2 GW), which halves the memory traffic.
        """
        h = self.h
        ext = np.concatenate([[days[0] - 1], days]).astype(np.int64)
        s = self.day_scalars(ext)
        n = len(ext)
        (ei, es, ee, ew), (xi, xs, xe, xw) = self.events(ext, s)
        flat = n * 1440
        base = self._paint(ei, es, ee, ew, flat).reshape(n, 1440)[1:]
        extra = self._paint(xi, xs, xe, xw, flat).reshape(n, 1440)[1:] if len(xi) else None
        s = {k: (v[1:] if isinstance(v, np.ndarray) else v) for k, v in s.items()}
        s["geom"] = (s["geom"][0][1:], s["geom"][1][1:])
        m = _MINUTES32[None, :]
        base += np.int32(h.standby)
        # The fridge compressor: on for fridge_on minutes of every fridge_period (absolute).
        pos = (days[:, None] * 1440 + h.fridge_phase) % h.fridge_period
        cycle = (pos.astype(np.int32) + m) % np.int32(h.fridge_period)
        base += np.where(cycle < s["fridge_on"][:, None].astype(np.int32), np.int32(h.fridge_w),
                         np.int32(0))
        # Lighting: darkness() * activity_at(), at home only.
        sunrise = s["sunrise"][:, None].astype(np.int32)
        sunset = s["sunset"][:, None].astype(np.int32)
        dd = np.maximum(sunrise + 20 - m, m - (sunset - 20))
        dark = np.clip(((dd + 30) * 64) // 60, 0, 64)  # darkness(): same values, one pass
        act = self._activity(s["dtype"], s["shift"])
        light = (np.int32(h.light_w) * act * dark) // 6400
        light[s["away"]] = 0
        base += light
        total = (base.astype(np.int64) * h.scale // 1000).astype(np.int32)
        if extra is not None:
            total += extra
        heat = self._climate(days, s)
        if heat is not None:
            total += heat
        noise = ints.jitter(ints.draw(h.seed, rng.S_MINUTE_NOISE, days, 0)[:, None], m, 81) - 40
        total = (total * (1000 + noise)) // 1000
        pv = self._pv(days, s) if h.pv is not None else None
        return total, pv

    def _activity(self, dtype, shift):
        """activity_at(profile[dtype], m - shift) for every day and minute, by row copies."""
        out = np.empty((len(dtype), 1440), dtype=np.int32)
        for t in (0, 1):
            sel = dtype == t
            if sel.any():
                windows = self.act_windows[t]
                out[sel] = windows[120 - shift[sel]]
        return out

    @staticmethod
    def _paint(idx, st, en, w, flat):
        diff = np.zeros(flat + 1, dtype=np.int32)
        if len(idx):
            a = np.clip(idx * 1440 + st, 0, flat)
            b = np.clip(idx * 1440 + en, 0, flat)
            w = w.astype(np.int32)
            np.add.at(diff, a, w)
            np.add.at(diff, b, -w)
        return np.cumsum(diff[:-1], dtype=np.int32)

    def _climate(self, days, s):
        # Household._plan_climate and the heating term of Household.minute
        h = self.h
        temp = s["temp"]
        need_wh = np.zeros(len(days), dtype=np.int64)
        watts = np.zeros(len(days), dtype=np.int64)
        if h.heating is not None:
            sel = temp < HEAT_BASE_C10
            need_wh = np.where(sel, ((HEAT_BASE_C10 - temp) * h.heating["wh_per_degree_day"]) // 10,
                               need_wh)
            watts = np.where(sel, h.heating["watts"], watts)
        if h.cooling is not None:
            sel = (watts == 0) & (temp > COOL_BASE_C10)
            need_wh = np.where(sel, ((temp - COOL_BASE_C10) * h.cooling["wh_per_degree_day"]) // 10,
                               need_wh)
            watts = np.where(sel, h.cooling["watts"], watts)
        active = (watts > 0) & (need_wh > 0)
        if not active.any():
            return None
        weights = self.heat_w[s["dtype"]]  # [D, 48]
        weights = np.where(s["away"][:, None], SETBACK_WEIGHT, weights)
        total = weights.sum(axis=1)
        need_min = (need_wh * 60) // np.where(watts > 0, watts, 1)
        on = np.minimum((need_min[:, None] * weights) // total[:, None], 30)
        phase = ints.below(h.seed, rng.S_DAY, days, 2, 30)
        m = _MINUTES32[None, :]
        on_m = np.repeat(on.astype(np.int32), 30, axis=1)
        running = ((m - phase[:, None].astype(np.int32)) % 30) < on_m
        return np.where(running & active[:, None], watts[:, None].astype(np.int32), np.int32(0))

    def _pv(self, days, s):
        # Household._pv
        h = self.h
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
