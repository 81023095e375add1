# The household load model: a day plan (who is up when, which appliances run, the weather,
# the sun) and the power drawn in any local minute of it.
#
# Everything is a pure function of (config, seed, day): `plan(day)` draws only from counter-based
# random numbers keyed by the day, so any minute of any day can be recomputed on its own.
# Times here are local clock minutes of a local day (0..1439); events may run past midnight.
# meter/vector/household.py computes the same numbers for many days at once; keep them in step.
#
# Planning a day (loadmodel/planner.py), and the weather, the sun and the holidays it reads,
# are needed once a day (the sun every minute only with PV): they are imported where they are
# used, so that a Pico can unload them between plans (plan_only_modules,
# picometer/recorder.py).

from core import civil
from loadmodel import rng
from loadmodel.timing import activity_at, darkness

WEEKDAY = 0
WEEKEND = 1
# Public: the vector engine (meter/vector/household.py) must use the very same numbers.
HEAT_BASE_C10 = 155  # heating degree days below 15.5 C
COOL_BASE_C10 = 230  # cooling degree days above 23 C
SETBACK_WEIGHT = 35  # heating when asleep or out, relative to 100 when at home
EARLY_SHIFT = -90  # minutes a shift worker's early-shift day starts before an office day
LATE_SHIFT = 300  # and a late-shift day after it
# The day's shift (rhythm + chronotype + shift work) stays within [-SHIFT_BEFORE, SHIFT_AFTER].
SHIFT_BEFORE = 240
SHIFT_AFTER = 480
POOL_KEY = 3000  # the pool pump's event key (appliances use 4096 and up)


def pump_watts(pump_w, temp):
    """A heating circulation pump's mean draw on a day of mean temperature `temp` (C/10)."""
    if pump_w <= 0 or temp >= HEAT_BASE_C10:
        return 0
    f = 400 + (HEAT_BASE_C10 - temp) * 6
    return (pump_w * (f if f < 1000 else 1000)) // 1000


def spa_watts(spa_w, temp):
    """A spa pool's mean heater draw: it loses more heat the colder it is outside."""
    w = (spa_w * (380 - temp)) // 300
    return w if w > 0 else 0


def pool_minutes(temp):
    """A pool pump's daily run: two hours in cool weather, up to eight in the heat."""
    m = 120 + (temp - 100) * 3
    return 120 if m < 120 else 480 if m > 480 else m


class DayPlan:
    """What one household does on one local day. Plain attributes for speed on a Pico."""

    def __init__(self):
        self.day = 0
        self.dtype = WEEKDAY
        self.away = False
        self.shift = 0
        self.mood = 1000
        self.noise_hash = 0
        self.temp = 0
        self.sunrise = 0
        self.sunset = 0
        self.noon = 0
        self.geometry = (0, 0)
        self.cloud = 0
        self.fridge_on = 0
        self.cold_on = ()  # on-minutes per cycle of each freezer or second fridge
        self.pump = 0  # the heating circulation pump's watts today
        self.events = []  # (start, end, watts): scaled with the household
        self.extra = []  # (start, end, watts): EV charging, not scaled
        self.heat_on = None  # 48 half-hour on-minute counts, or None
        self.heat_watts = 0
        self.heat_phase = 0


class Household:
    """The load model of one meter. `cfg` is a normalised config (meter.config)."""

    def __init__(self, cfg, zone):
        # Once per meter: loadmodel/household_setup.py, which a Pico unloads afterwards.
        from loadmodel import household_setup

        household_setup.setup(self, cfg, zone)

    # -- the day ----------------------------------------------------------------------------

    def plan_only_modules(self):
        """The modules this household reads only when it plans a day: a Pico unloads them
        between plans (the next plan imports them again)."""
        names = ["loadmodel.planner", "loadmodel.holidays", "loadmodel.holiday_rules",
                 "loadmodel.climate"]
        if self.pv is None:
            names.append("loadmodel.sun")
        return names

    def trips(self, year):
        got = self._trip_cache.get(year)
        if got is None:
            start = civil.days_from_civil(year, 1, 1)
            summer = 196 if self.lat >= 0 else 358
            s1 = start + summer - 20 + rng.below(self.seed, rng.S_AWAY, year, 0, 41)
            n1 = (self.away_days * 2) // 3
            s2 = start + 30 + rng.below(self.seed, rng.S_AWAY, year, 1, 280)
            n2 = self.away_days - n1
            got = [(s1, s1 + n1), (s2, s2 + n2)]
            if len(self._trip_cache) > 4:
                self._trip_cache.clear()
            self._trip_cache[year] = got
        return got

    def plan(self, day):
        p = self._plans.get(day)
        if p is not None:
            return p
        # A tick needs the day's plan and the day before's (events run past midnight); each
        # is a few KiB on a Pico W, so no more are kept (at a change of day the day before's
        # is made again, once).
        if len(self._plans) > 1:
            self._plans.clear()
        p = self._make_plan(day)
        self._plans[day] = p
        return p

    def _make_plan(self, day):
        from loadmodel import planner  # once a day: a Pico unloads it between plans

        return planner.make_plan(self, day)

    # -- the minute -------------------------------------------------------------------------

    def minute(self, day, m):
        """(consumption W, PV generation W) at local minute m of local day `day`."""
        p = self.plan(day)
        base = self.standby + p.pump
        t = day * 1440 + m
        if (t + self.fridge_phase) % self.fridge_period < p.fridge_on:
            base += self.fridge_w
        for i in range(len(self.cold)):
            c = self.cold[i]
            if (t + c[2]) % c[1] < p.cold_on[i]:
                base += c[0]
        extra = 0
        if not p.away:
            dark = darkness(m, p.sunrise, p.sunset)
            if dark:
                act = activity_at(self.activity[p.dtype], m - p.shift)
                base += (self.light_w * act * dark) // 6400
        for ev in p.events:
            if ev[0] <= m < ev[1]:
                base += ev[2]
        for ev in p.extra:
            if ev[0] <= m < ev[1]:
                extra += ev[2]
        prev = self.plan(day - 1)
        mm = m + 1440
        for ev in prev.events:
            if ev[0] <= mm < ev[1]:
                base += ev[2]
        for ev in prev.extra:
            if ev[0] <= mm < ev[1]:
                extra += ev[2]
        if p.heat_on is not None:
            if (m - p.heat_phase) % 30 < p.heat_on[m // 30]:
                extra += p.heat_watts
        total = (base * self.scale) // 1000 + extra
        noise = rng.jitter(p.noise_hash, m, 81) - 40
        total = (total * (1000 + noise)) // 1000
        pv = 0
        if self.pv is not None and p.sunrise < m < p.sunset:
            pv = self.pv_watts(self.lat, self.pv["watts_peak"], self.rseed, p, day, m)
        return total, pv
