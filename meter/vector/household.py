"""meter.model.household for a run of days at once: power on the local-minute grid.

`grid(days)` returns consumption and PV watts as [len(days), 1440] int64 arrays, laid out so
that day k's minute m is row k, column m. Every line mirrors the per-tick model; the comments
name the function it mirrors.
"""

from __future__ import annotations

import numpy as np

from meter.model import civil, climate, holidays, rng
from meter.model.fixed import ONE, TURN
from meter.model.household import (
    _COOL_BASE_C10,
    _HEAT_BASE_C10,
    _SETBACK_WEIGHT,
    WEEKDAY,
    WEEKEND,
    Household,
)
from meter.vector import ints

_MINUTES = np.arange(1440, dtype=np.int64)


class VectorHousehold:
    def __init__(self, cfg: dict, zone):
        # The per-tick model's constructor does all the per-meter set-up; reuse it.
        self.h = Household(cfg, zone)
        h = self.h
        # activity_at() for every x in [-120, 1560): index x + 120.
        xs = np.arange(-120, 1560, dtype=np.int64)
        self.act_tab = np.stack([self._activity_table(h.activity[t], xs) for t in (0, 1)])
        self.cdfs = [(np.array(a[5][0], dtype=np.int64), np.array(a[5][1], dtype=np.int64))
                     for a in h.appliances]
        self.shower_cdfs = (np.array(h.shower_cdfs[0], dtype=np.int64),
                            np.array(h.shower_cdfs[1], dtype=np.int64))
        self.heat_w = np.array(h.heat_weights, dtype=np.int64)  # [2, 48]

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
        dtype = np.array([h.daytype(int(d)) for d in days], dtype=np.int64)
        away = np.array([h.is_away(int(d)) for d in days], dtype=bool)
        shift = np.where(dtype == WEEKDAY, ints.below(seed, rng.S_DAY, days, 0, 61),
                         ints.below(seed, rng.S_DAY, days, 0, 91)) - 30
        mood = 700 + ints.below(seed, rng.S_DAY, days, 1, 601)
        temp = self._temps(days)
        offsets = np.array([h.zone.offset_at(int(d) * 1440 + 720 - h.zone.offset_at(int(d) * 1440))
                            for d in days], dtype=np.int64)
        doy = np.array([civil.day_of_year(int(d)) for d in days], dtype=np.int64)
        sunrise, sunset, noon, geom = self._sun(doy, offsets)
        fridge_on = (h.fridge_period * (300 + temp // 2)) // 1000
        out = {"dtype": dtype, "away": away, "shift": shift, "mood": mood, "temp": temp,
               "sunrise": sunrise, "sunset": sunset, "noon": noon, "geom": geom,
               "fridge_on": fridge_on}
        if h.pv is not None:
            out["cloud"] = self._clouds(days, doy)
        return out

    def _temps(self, days):
        # climate.temp_c10
        h = self.h
        anomaly = np.zeros(len(days), dtype=np.int64)
        for k in range(6):
            anomaly += climate._WEIGHTS[k] * ints.bell(h.rseed, rng.S_WEATHER, days - k, 0)
        anomaly = (anomaly * 30) // (21 * 8000)
        normal = np.array([climate.normal_temp_c10(h.lat, int(d), h.mean_c10, h.amp_c10)
                           for d in days], dtype=np.int64)
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
            for k in range(slots):
                key = ai * 16 + k
                hit = (ints.u16(seed, rng.S_EVENT_COUNT, days, key) < threshold) & home
                if not hit.any():
                    continue
                d_hit = days[hit]
                dt = s["dtype"][hit]
                u = ints.u16(seed, rng.S_EVENT_TIME, d_hit, key)
                q = self._pick_bin(self.cdfs[ai], dt, u)
                start = q * 15 + ints.below(seed, rng.S_EVENT_MINUTE, d_hit, key, 15) + s["shift"][hit]
                start = np.maximum(start, 0)
                length = lo + ints.below(seed, rng.S_EVENT_LEN, d_hit, key, hi - lo + 1)
                pf = 900 + ints.below(seed, rng.S_EVENT_POWER, d_hit, key, 201)
                rows = di[hit]
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
        """(consumption W, PV W) as [len(days), 1440] arrays; days must be consecutive.

        Events of the day before the first one spill into it, as in Household.minute().
        """
        h = self.h
        ext = np.concatenate([[days[0] - 1], days]).astype(np.int64)
        s = self.day_scalars(ext)
        n = len(ext)
        (ei, es, ee, ew), (xi, xs, xe, xw) = self.events(ext, s)
        flat = n * 1440
        base = self._paint(ei, es, ee, ew, flat)
        extra = self._paint(xi, xs, xe, xw, flat)
        base = base.reshape(n, 1440)[1:]
        extra = extra.reshape(n, 1440)[1:]
        s = {k: (v[1:] if isinstance(v, np.ndarray) else v) for k, v in s.items()}
        if isinstance(s["geom"], tuple):
            s["geom"] = (s["geom"][0][1:], s["geom"][1][1:])
        d = days[:, None]
        m = _MINUTES[None, :]
        base = base + h.standby
        fridge = ((d * 1440 + m + h.fridge_phase) % h.fridge_period) < s["fridge_on"][:, None]
        base = base + np.where(fridge, h.fridge_w, 0)
        # Lighting: darkness() * activity_at(), at home only.
        dm = s["sunrise"][:, None] + 20 - m
        de = m - (s["sunset"][:, None] - 20)
        dd = np.maximum(dm, de)
        dark = np.where(dd >= 30, 64, np.where(dd <= -30, 0, ((dd + 30) * 64) // 60))
        x = np.clip(m - s["shift"][:, None], -120, 1559) + 120
        act = self.act_tab[s["dtype"][:, None], x]
        light = (h.light_w * act * dark) // 6400
        base = base + np.where(s["away"][:, None], 0, light)
        extra = extra + self._climate(days, s)
        total = (base * h.scale) // 1000 + extra
        noise = ints.below(h.seed, rng.S_MINUTE_NOISE, d, m, 81) - 40
        total = (total * (1000 + noise)) // 1000
        pv = self._pv(days, s) if h.pv is not None else np.zeros_like(total)
        return total, pv

    @staticmethod
    def _paint(idx, st, en, w, flat):
        diff = np.zeros(flat + 1, dtype=np.int64)
        if len(idx):
            a = np.clip(idx * 1440 + st, 0, flat)
            b = np.clip(idx * 1440 + en, 0, flat)
            np.add.at(diff, a, w)
            np.add.at(diff, b, -w)
        return np.cumsum(diff[:-1])

    def _climate(self, days, s):
        # Household._plan_climate and the heating term of Household.minute
        h = self.h
        temp = s["temp"]
        need_wh = np.zeros(len(days), dtype=np.int64)
        watts = np.zeros(len(days), dtype=np.int64)
        if h.heating is not None:
            sel = temp < _HEAT_BASE_C10
            need_wh = np.where(sel, ((_HEAT_BASE_C10 - temp) * h.heating["wh_per_degree_day"]) // 10,
                               need_wh)
            watts = np.where(sel, h.heating["watts"], watts)
        if h.cooling is not None:
            sel = (watts == 0) & (temp > _COOL_BASE_C10)
            need_wh = np.where(sel, ((temp - _COOL_BASE_C10) * h.cooling["wh_per_degree_day"]) // 10,
                               need_wh)
            watts = np.where(sel, h.cooling["watts"], watts)
        active = (watts > 0) & (need_wh > 0)
        if not active.any():
            return 0
        weights = self.heat_w[s["dtype"]]  # [D, 48]
        weights = np.where(s["away"][:, None], _SETBACK_WEIGHT, weights)
        total = weights.sum(axis=1)
        need_min = (need_wh * 60) // np.where(watts > 0, watts, 1)
        on = np.minimum((need_min[:, None] * weights) // total[:, None], 30)
        phase = ints.below(h.seed, rng.S_DAY, days, 2, 30)
        m = _MINUTES[None, :]
        on_m = np.repeat(on, 30, axis=1)
        running = ((m - phase[:, None]) % 30) < on_m
        return np.where(running & active[:, None], watts[:, None], 0)

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
    return np.array([holidays.is_holiday(country, int(d), extra) for d in days], dtype=bool)
