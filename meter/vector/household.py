"""loadmodel.household for a run of days at once: power on the local-minute grid.

`grid(days)` returns consumption and PV watts as [len(days), 1440] int64 arrays, laid out so
that day k's minute m is row k, column m. Every line mirrors the per-tick model; the comments
name the function it mirrors.
"""

from __future__ import annotations

import numpy as np

from core import civil
from loadmodel import planner, rng
from loadmodel.household import (
    COOL_BASE_C10,
    EARLY_SHIFT,
    HEAT_BASE_C10,
    LATE_SHIFT,
    SETBACK_WEIGHT,
    SHIFT_AFTER,
    SHIFT_BEFORE,
    WEEKDAY,
    WEEKEND,
    Household,
)
from loadmodel.timing import build_cdf
from meter.vector import ints, sky

_MINUTES = np.arange(1440, dtype=np.int64)
_MINUTES32 = _MINUTES.astype(np.int32)


class VectorHousehold:
    def __init__(self, cfg: dict, zone):
        # The per-tick model's constructor does all the per-meter set-up; reuse it.
        self.h = Household(cfg, zone)
        h = self.h
        # activity_at() for every x in [-SHIFT_AFTER, 1440 + SHIFT_BEFORE): index x + SHIFT_AFTER.
        xs = np.arange(-SHIFT_AFTER, 1440 + SHIFT_BEFORE, dtype=np.int64)
        act_tab = np.concatenate([self._activity_table(h.activity[t], xs) for t in (0, 1)])
        # Row t * len(xs) + k is the 1440 values of day type t starting at x = k - SHIFT_AFTER:
        # one row per type and shift, so a year's activity is one row gather.
        self._act_len = len(xs)
        self.act_windows = np.lib.stride_tricks.sliding_window_view(
            act_tab.astype(np.int32), 1440)
        self.cdfs = [(np.array(build_cdf(a[5], h.activity[0]), dtype=np.int64),
                      np.array(build_cdf(a[5], h.activity[1]), dtype=np.int64))
                     for a in h.appliances]
        self._apps = self._appliance_table() if h.appliances else None
        self.shower_cdfs = None if h.shower_pref is None else tuple(
            np.array(build_cdf(h.shower_pref, h.activity[t]), dtype=np.int64) for t in (0, 1))
        self.heat_w = None if h.heat_weights is None else np.array(h.heat_weights, dtype=np.int64)
        # (phase + m) % period for every phase and minute of a compressor's cycle: a row
        # gather per day instead of a modulo per minute.
        self._cycles = {p: ((np.arange(p)[:, None] + _MINUTES[None, :]) % p).astype(np.int16)
                        for p in {h.fridge_period, *(c[1] for c in h.cold)}}
        sky.dark_tables()
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
            weekend |= sky.holidays_of(h.country, days, h.extra_holidays)
        # Household._make_plan: weekdays at home, shift work, the household's chronotype.
        workday = ~weekend
        extra = np.full(len(days), h.chrono, dtype=np.int64)
        home = np.zeros(len(days), dtype=bool)
        if h.home_p16:
            home = workday & (ints.u16(seed, rng.S_HOME, days, 0) < h.home_p16)
            weekend = weekend | home
        if h.shift_p16:
            on_shift = workday & ~home & (ints.u16(seed, rng.S_HOME, days, 1) < h.shift_p16)
            early = ints.u16(seed, rng.S_HOME, days, 2) < 32768
            extra += np.where(on_shift, np.where(early, EARLY_SHIFT, LATE_SHIFT), 0)
        dtype = np.where(weekend, WEEKEND, WEEKDAY).astype(np.int64)
        shift = np.where(dtype == WEEKDAY, ints.below(seed, rng.S_DAY, days, 0, 61),
                         ints.below(seed, rng.S_DAY, days, 0, 91)) - 30 + extra
        shift = np.clip(shift, -SHIFT_BEFORE, SHIFT_AFTER)
        mood = 700 + ints.below(seed, rng.S_DAY, days, 1, 601)
        doy = days - sky.year_start(days)
        temp = sky.temps(h, days, doy)
        # The day's UTC offset at local noon, as Household._make_plan() takes it.
        midnight = days * 1440
        offsets = self._offset_at(midnight + 720 - self._offset_at(midnight))
        sunrise, sunset, noon, geom = sky.sun(h, doy, offsets)
        fridge_on = (h.fridge_period * (300 + temp // 2)) // 1000
        cold_on = [(c[1] * (c[3] + temp // 2)) // 1000 for c in h.cold]
        pump = np.zeros(len(days), dtype=np.int64)
        if h.pump_w > 0:  # planner.pump_watts
            f = np.minimum(400 + (HEAT_BASE_C10 - temp) * 6, 1000)
            pump = np.where(temp < HEAT_BASE_C10, (h.pump_w * f) // 1000, 0)
        if h.spa_w > 0:  # planner.spa_watts
            pump = pump + np.maximum((h.spa_w * (380 - temp)) // 300, 0)
        out = {"dtype": dtype, "away": away, "shift": shift, "mood": mood, "temp": temp,
               "sunrise": sunrise, "sunset": sunset, "noon": noon, "geom": geom,
               "fridge_on": fridge_on, "cold_on": cold_on, "pump": pump}
        if h.pv is not None:
            out["cloud"] = sky.clouds(h, days, doy)
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
            for a, b in planner.trips(h, year):
                away |= (days >= a) & (days < b)
        return away

    def _offset_at(self, utc):
        i = np.searchsorted(self._tz_starts, utc, side="right") - 1
        return self._tz_offsets[np.maximum(i, 0)]

    # -- events (DayPlan.events / .extra) --------------------------------------------------

    def events(self, days: np.ndarray, s: dict):
        """(day index, start, end, watts) arrays for scaled events, then for extra events.

        Every appliance's slots are drawn in one go (rows are all appliances' slots, columns
        days), and every hit's time, length and power likewise: the draws are the same as one
        appliance at a time (keyed by day and slot), in fewer, larger array operations."""
        h = self.h
        seed = h.seed
        idx_all, st_all, en_all, w_all = [], [], [], []
        home = ~s["away"]
        di = np.arange(len(days), dtype=np.int64)
        if h.appliances:
            a = self._apps
            weekend = (s["dtype"] == WEEKEND)[None, :]
            uses = np.where(weekend, a["we"][:, None], a["wd"][:, None])
            sf = 1000 + (a["sens"][:, None] * (150 - s["temp"][None, :])) // 25
            lam = (uses * sf) // 1000
            lam = (lam * s["mood"][None, :]) // 1000
            threshold = (lam * 65536) // (100 * a["slots"][:, None])  # [appliances, days]
            keys = a["keys"][:, None]
            hit = (ints.u16(seed, rng.S_EVENT_COUNT, days[None, :], keys)
                   < threshold[a["app_of_key"]]) & home
            slot_i, day_i = np.nonzero(hit)
            app = a["app_of_key"][slot_i]
            key = a["keys"][slot_i]
            d_hit = days[day_i]
            u = ints.u16(seed, rng.S_EVENT_TIME, d_hit, key)
            q = self._pick_bins(app * 2 + s["dtype"][day_i], u)
            start = (q * 15 + ints.below(seed, rng.S_EVENT_MINUTE, d_hit, key, 15)
                     + s["shift"][day_i] + a["offset"][app])
            start = np.maximum(start, 0)
            length = a["lo"][app] + ints.below(seed, rng.S_EVENT_LEN, d_hit, key, a["span"][app])
            pf = ((900 + ints.below(seed, rng.S_EVENT_POWER, d_hit, key, 201)) * h.efficiency) // 1000
            simple = a["simple"][app]
            idx_all.append(day_i[simple])
            st_all.append(start[simple])
            en_all.append((start + length)[simple])
            w_all.append(((a["watts"][app] * pf) // 1000)[simple])
            for ai in a["phased"]:  # appliances whose power changes through a cycle
                sel = app == ai
                t = start[sel]
                end = t + length[sel]
                rows = day_i[sel]
                pfs = pf[sel]
                phases = h.appliances[ai][1][5]
                last = len(phases) - 1
                for i, (mins, w) in enumerate(phases):
                    stop = end if i == last else np.minimum(t + mins, end)
                    keep = stop > t
                    idx_all.append(rows[keep])
                    st_all.append(t[keep])
                    en_all.append(stop[keep])
                    w_all.append(((w * pfs) // 1000)[keep])
                    t = stop
        if h.pool_w:  # Household._make_plan: the pool pump's timer runs, home or away
            run = np.clip(120 + (s["temp"] - 100) * 3, 120, 480)
            idx_all.append(di)
            st_all.append(np.full(len(days), h.pool_start, dtype=np.int64))
            en_all.append(h.pool_start + run)
            w_all.append(np.full(len(days), h.pool_w, dtype=np.int64))
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

    def _pick_bins(self, seg, u):
        """_pick_bin for many appliances at once: hit k uses cdf number seg[k] (appliance * 2
        + day type). The cdfs are laid end to end, each lifted above the one before, so one
        search in the whole row finds the same bin as a search in its own cdf."""
        top = self._apps["top"][seg]
        lifted = ((u * top) >> 16) + seg * self._apps["lift"]
        return np.searchsorted(self._apps["cdf_row"], lifted, side="right") - seg * 96

    def _appliance_table(self) -> dict:
        """The appliances' parameters as arrays, for events()."""
        apps = self.h.appliances
        col = lambda f: np.array([f(x) for x in apps], dtype=np.int64)  # noqa: E731
        slots = col(lambda x: x[4])
        cdfs = [c for pair in self.cdfs for c in pair]
        lift = max([int(c[-1]) for c in cdfs] + [0]) + 1
        return {
            "wd": col(lambda x: x[2]), "we": col(lambda x: x[3]), "slots": slots,
            "sens": col(lambda x: x[1][4]), "offset": col(lambda x: x[7]),
            "watts": col(lambda x: x[1][0]), "lo": col(lambda x: x[1][1]),
            "span": col(lambda x: x[1][2] - x[1][1] + 1),
            "simple": np.array([x[1][5] is None for x in apps], dtype=bool),
            "phased": [ai for ai, x in enumerate(apps) if x[1][5] is not None],
            "keys": np.concatenate([x[6] + np.arange(x[4], dtype=np.int64) for x in apps]),
            "app_of_key": np.repeat(np.arange(len(apps)), slots),
            "top": np.array([int(c[95]) for c in cdfs], dtype=np.int64),
            "lift": lift,
            "cdf_row": np.concatenate([c + k * lift for k, c in enumerate(cdfs)]),
        }

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
        # services.plan_hot_water
        h = self.h
        if h.hot_water is None or not home.any():
            return
        seed = h.seed
        d = days[home]
        rows = di[home]
        need = (h.water_wh * s["mood"][home]) // 1000
        need = (need * (1000 + (10 * (150 - s["temp"][home])) // 25)) // 1000
        watts = 3000
        if h.hot_water == "night":
            start = 23 * 60 + ints.below(seed, rng.S_EVENT_TIME, d, 1000, 60)
            idx.append(rows)
            st.append(start)
            en.append(start + (need * 60) // watts + 1)
            w.append(np.full(len(d), watts, dtype=np.int64))
            return
        morning = (need * h.water_morning) // 1000
        midday = (need * 20) // 100
        shift = s["shift"][home]
        u = ints.u16(seed, rng.S_EVENT_TIME, d, 1001)
        q = self._pick_bin(self.shower_cdfs, s["dtype"][home], u)
        start = q * 15 + ints.below(seed, rng.S_EVENT_MINUTE, d, 1001, 15) + shift + 10
        blocks = ((np.maximum(start, 0), morning),
                  (11 * 60 + ints.below(seed, rng.S_EVENT_TIME, d, 1003, 240) + shift, midday),
                  (18 * 60 + ints.below(seed, rng.S_EVENT_TIME, d, 1002, 360) + shift,
                   need - morning - midday))
        for start, wh in blocks:
            idx.append(rows)
            st.append(start)
            en.append(start + (wh * 60) // watts + 1)
            w.append(np.full(len(d), watts, dtype=np.int64))

    def _ev(self, days, s, di, home):
        # services.plan_ev
        h = self.h
        ev = h.ev
        if ev is None:
            return self._cat([], [], [], [])
        seed = h.seed
        threshold = (ev["sessions_per_week_x100"] * 65536) // 700
        hit = (ints.u16(seed, rng.S_EV, days, 0) < threshold) & home
        d = days[hit]
        if ev["offpeak"]:
            start = 22 * 60 + ints.below(seed, rng.S_EV, d, 1, 180)
        else:
            wk = s["dtype"][hit] == WEEKDAY
            start = np.where(wk, 15 * 60 + ints.below(seed, rng.S_EV, d, 1, 300) + s["shift"][hit]
                             + ev["arrival"], 10 * 60 + ints.below(seed, rng.S_EV, d, 1, 600))
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
        s["cold_on"] = [on[1:] for on in s["cold_on"]]
        s["geom"] = (s["geom"][0][1:], s["geom"][1][1:])
        m = _MINUTES32[None, :]
        base += (h.standby + s["pump"]).astype(np.int32)[:, None]
        # The fridge compressor: on for fridge_on minutes of every fridge_period (absolute);
        # a freezer or second fridge likewise.
        cycles = [(h.fridge_w, h.fridge_period, h.fridge_phase, s["fridge_on"])]
        cycles += [(c[0], c[1], c[2], on) for c, on in zip(h.cold, s["cold_on"], strict=True)]
        for watts, period, phase, on in cycles:
            cycle = self._cycles[period][(days * 1440 + phase) % period]
            np.add(base, np.int32(watts), out=base, where=cycle < on[:, None].astype(np.int16))
        # Lighting: darkness() * activity_at(), at home only; products made in place.
        light = self._activity(s["dtype"], s["shift"])
        light *= np.int32(h.light_w)
        light *= sky.darkness(s["sunrise"], s["sunset"])
        light //= 6400
        light[s["away"]] = 0
        base += light
        total = base if h.scale == 1000 else (base.astype(np.int64) * h.scale // 1000).astype(np.int32)
        if extra is not None:
            total += extra
        heat = self._climate(days, s)
        if heat is not None:
            total += heat
        # total * (1000 + noise) // 1000 with noise = jitter - 40, in the jitter's own array.
        scaled = ints.jitter(ints.draw(h.seed, rng.S_MINUTE_NOISE, days, 0)[:, None], m, 81)
        scaled += np.int32(960)
        scaled *= total
        scaled //= 1000
        total = scaled
        pv = sky.pv(h, days, s) if h.pv is not None else None
        return total, pv

    def _activity(self, dtype, shift):
        """activity_at(profile[dtype], m - shift) for every day and minute, by row copies."""
        return self.act_windows[dtype * self._act_len + SHIFT_AFTER - shift]

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
        # services.plan_climate and the heating term of Household.minute
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

