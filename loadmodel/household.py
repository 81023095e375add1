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

from loadmodel import rng

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


def activity_at(profile, x):
    """Activity 0..100 at local minute x, interpolated between the hourly values (at :30)."""
    y = x - 30
    h0 = (y // 60) % 24
    f = y % 60
    a0 = profile[h0]
    return a0 + ((profile[(h0 + 1) % 24] - a0) * f) // 60


def darkness(m, sunrise, sunset):
    """0..64: how much light a home needs at local minute m (ramps around dusk and dawn)."""
    dm = sunrise + 20 - m
    de = m - (sunset - 20)
    d = dm if dm > de else de
    if d >= 30:
        return 64
    if d <= -30:
        return 0
    return ((d + 30) * 64) // 60


class DayPlan:
    """What one household does on one local day. Plain attributes for speed on a Pico.

    The defaults are the class's: an instance holds only what its day's planning set (a
    household without PV or heating never sets geometry, cloud or heat_*), which keeps each of
    the two plans a Pico caches smaller."""

    day = 0
    dtype = WEEKDAY
    away = False
    shift = 0
    mood = 1000
    noise_hash = 0
    temp = 0
    sunrise = 0
    sunset = 0
    noon = 0
    geometry = (0, 0)
    cloud = 0
    fridge_on = 0
    cold_on = ()  # on-minutes per cycle of each freezer or second fridge
    pump = 0  # the heating circulation pump's watts today
    heat_on = None  # 48 half-hour on-minute counts, or None
    heat_watts = 0
    heat_phase = 0

    def __init__(self):
        self.events = []  # (start, end, watts): scaled with the household
        self.extra = []  # (start, end, watts): EV charging, not scaled


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
                 "loadmodel.climate", "loadmodel.services", "loadmodel.timing"]
        if self.pv is None:
            names.append("loadmodel.sun")
        return names

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
