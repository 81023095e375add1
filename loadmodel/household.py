# The household load model: a day plan (who is up when, which appliances run, the weather,
# the sun) and the power drawn in any local minute of it.
#
# Everything is a pure function of (config, seed, day): `plan(day)` draws only from counter-based
# random numbers keyed by the day, so any minute of any day can be recomputed on its own.
# Times here are local clock minutes of a local day (0..1439); events may run past midnight.
# meter/vector/household.py computes the same numbers for many days at once; keep them in step.

from core import civil
from loadmodel import archetypes, climate, holidays, rng, sun
from loadmodel.fixed import ONE

WEEKDAY = 0
WEEKEND = 1
_MAX_SLOTS = 12
# Public: the vector engine (meter/vector/household.py) must use the very same numbers.
HEAT_BASE_C10 = 155  # heating degree days below 15.5 C
COOL_BASE_C10 = 230  # cooling degree days above 23 C
SETBACK_WEIGHT = 35  # heating when asleep or out, relative to 100 when at home


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


def slot_count(uses_wd, uses_we):
    top = uses_wd if uses_wd > uses_we else uses_we
    k = (2 * top + 99) // 100
    if k < 2:
        return 2
    if k > _MAX_SLOTS:
        return _MAX_SLOTS
    return k


def build_cdf(pref, activity):
    """Cumulative start-time weights over 96 quarter hours."""
    cdf = []
    total = 0
    for q in range(96):
        h = q // 4
        total += pref[h] * activity[h]
        cdf.append(total)
    return cdf


def pick_bin(cdf, u):
    """The quarter hour whose cumulative weight first exceeds u (0..65535) of the total."""
    target = (u * cdf[95]) >> 16
    lo = 0
    hi = 95
    while lo < hi:
        mid = (lo + hi) >> 1
        if cdf[mid] > target:
            hi = mid
        else:
            lo = mid + 1
    return lo


class Cdfs:
    """The start-time CDFs of one preference for (weekday, weekend), built when indexed.

    Indexes like the tuple (build_cdf(pref, activity[0]), build_cdf(pref, activity[1])). Kept
    for every appliance they are 2 x 96 integers each, about 12 KiB for a household, which a
    Pico W cannot spare for numbers each day plan reads once.
    """

    def __init__(self, pref, activity):
        self.pref = pref
        self.activity = activity

    def __len__(self):
        return 2

    def __getitem__(self, dtype):
        if dtype != 0 and dtype != 1:
            raise IndexError(dtype)
        return build_cdf(self.pref, self.activity[dtype])


def season_factor(sensitivity, temp_c10):
    """Permille use factor: more use in cold weather for a positive sensitivity (percent)."""
    return 1000 + (sensitivity * (150 - temp_c10)) // 25


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
        self.events = []  # (start, end, watts): scaled with the household
        self.extra = []  # (start, end, watts): EV charging, not scaled
        self.heat_on = None  # 48 half-hour on-minute counts, or None
        self.heat_watts = 0
        self.heat_phase = 0


class Household:
    """The load model of one meter. `cfg` is a normalised config (meter.config)."""

    def __init__(self, cfg, zone):
        self.seed = cfg["seed"]
        self.zone = zone
        name = cfg["archetype"]
        arch = archetypes.ARCHETYPES[name]
        self.occupants = arch["occupants"]
        self.activity = arch["activity"]
        self.standby = arch["standby_w"]
        self.fridge_w = arch["fridge_w"]
        self.light_w = arch["light_w"]
        self.scale = cfg["scale_permille"]
        self.lat = cfg["latitude_e4"]
        self.lon = cfg["longitude_e4"]
        self.country = cfg["country"]
        self.extra_holidays = cfg["holidays_extra"]
        self.away_days = arch["away_days"] if cfg["away"] else 0
        self.rseed = climate.region_seed(self.lat, self.lon, cfg["weather_seed"])
        clim = cfg["climate"]
        if clim is None:
            clim = climate.default_climate(self.lat)
        self.mean_c10 = clim[0]
        self.amp_c10 = clim[1]
        self.heating = cfg["heating"]
        self.cooling = cfg["cooling"]
        self.hot_water = cfg["hot_water"]
        self.ev = cfg["ev"]
        self.pv = cfg["pv"]
        self.fridge_period = 40 + rng.below(self.seed, rng.S_FRIDGE, 0, 0, 21)
        self.fridge_phase = rng.below(self.seed, rng.S_FRIDGE, 0, 1, self.fridge_period)
        # Appliances in name order, so their random streams never depend on dict order.
        self.appliances = []
        uses = arch["uses"]
        for key in sorted(uses):
            spec = archetypes.APPLIANCES[key]
            wd, we = uses[key]
            cdfs = Cdfs(archetypes.PREFS[spec[3]], arch["activity"])
            self.appliances.append((key, spec, wd, we, slot_count(wd, we), cdfs))
        self.shower_cdfs = Cdfs(archetypes.PREFS["shower"], arch["activity"])
        self.heat_weights = (self._heat_weights(0), self._heat_weights(1))
        self._plans = {}
        self._trip_cache = {}

    def _heat_weights(self, dtype):
        prof = self.activity[dtype]
        return [100 if prof[c // 2] >= 30 else SETBACK_WEIGHT for c in range(48)]

    # -- the day ----------------------------------------------------------------------------

    def daytype(self, day):
        if civil.weekday(day) >= 5 or holidays.is_holiday(self.country, day, self.extra_holidays):
            return WEEKEND
        return WEEKDAY

    def is_away(self, day):
        """Holidays away from home: one long summer trip and one short one a year."""
        if self.away_days <= 0:
            return False
        y, _, _ = civil.civil_from_days(day)
        for a, b in self.trips(y - 1) + self.trips(y):
            if a <= day < b:
                return True
        return False

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
        seed = self.seed
        p = DayPlan()
        p.day = day
        p.dtype = self.daytype(day)
        p.away = self.is_away(day)
        if p.dtype == WEEKDAY:
            p.shift = rng.below(seed, rng.S_DAY, day, 0, 61) - 30
        else:
            p.shift = rng.below(seed, rng.S_DAY, day, 0, 91) - 30
        p.mood = 700 + rng.below(seed, rng.S_DAY, day, 1, 601)
        p.noise_hash = rng.draw(seed, rng.S_MINUTE_NOISE, day, 0)
        p.temp = climate.temp_c10(self.rseed, self.lat, day, self.mean_c10, self.amp_c10)
        offset = self.zone.offset_at(day * 1440 + 720 - self.zone.offset_at(day * 1440))
        p.sunrise, p.sunset, p.noon = sun.times(self.lat, self.lon, day, offset)
        duty = 300 + p.temp // 2
        p.fridge_on = (self.fridge_period * duty) // 1000
        if self.pv is not None:
            p.geometry = sun.geometry(self.lat, day)
            p.cloud = climate.cloud_pct(self.rseed, self.lat, day)
        if not p.away:
            self._plan_appliances(p)
            self._plan_hot_water(p)
            self._plan_ev(p)
        self._plan_climate(p)
        return p

    def _plan_appliances(self, p):
        seed = self.seed
        day = p.day
        for ai in range(len(self.appliances)):
            key, spec, wd, we, slots, cdfs = self.appliances[ai]
            watts, lo, hi, pref, sens, phases = spec
            uses = we if p.dtype == WEEKEND else wd
            lam = (uses * season_factor(sens, p.temp)) // 1000
            lam = (lam * p.mood) // 1000
            threshold = (lam * 65536) // (100 * slots)
            cdf = None  # built on the first event of the day, then reused for the others
            for k in range(slots):
                key_k = ai * 16 + k
                if rng.u16(seed, rng.S_EVENT_COUNT, day, key_k) >= threshold:
                    continue
                if cdf is None:
                    cdf = cdfs[p.dtype]
                q = pick_bin(cdf, rng.u16(seed, rng.S_EVENT_TIME, day, key_k))
                start = q * 15 + rng.below(seed, rng.S_EVENT_MINUTE, day, key_k, 15) + p.shift
                if start < 0:
                    start = 0
                length = lo + rng.below(seed, rng.S_EVENT_LEN, day, key_k, hi - lo + 1)
                pf = 900 + rng.below(seed, rng.S_EVENT_POWER, day, key_k, 201)
                if phases is None:
                    p.events.append((start, start + length, (watts * pf) // 1000))
                    continue
                t = start
                end = start + length
                last = len(phases) - 1
                for i in range(len(phases)):
                    mins, w = phases[i]
                    stop = end if i == last else t + mins
                    if stop > end:
                        stop = end
                    if stop > t:
                        p.events.append((t, stop, (w * pf) // 1000))
                    t = stop

    def _plan_hot_water(self, p):
        mode = self.hot_water
        if mode is None:
            return
        seed = self.seed
        day = p.day
        need = (self.occupants * 1800 * p.mood) // 1000
        need = (need * season_factor(10, p.temp)) // 1000
        watts = 3000
        if mode == "night":
            start = 23 * 60 + rng.below(seed, rng.S_EVENT_TIME, day, 1000, 60)
            p.events.append((start, start + (need * 60) // watts + 1, watts))
            return
        morning = (need * 45) // 100
        q = pick_bin(self.shower_cdfs[p.dtype], rng.u16(seed, rng.S_EVENT_TIME, day, 1001))
        start = q * 15 + rng.below(seed, rng.S_EVENT_MINUTE, day, 1001, 15) + p.shift + 10
        if start < 0:
            start = 0
        p.events.append((start, start + (morning * 60) // watts + 1, watts))
        start = 18 * 60 + rng.below(seed, rng.S_EVENT_TIME, day, 1002, 180)
        p.events.append((start, start + ((need - morning) * 60) // watts + 1, watts))

    def _plan_ev(self, p):
        ev = self.ev
        if ev is None:
            return
        seed = self.seed
        day = p.day
        threshold = (ev["sessions_per_week_x100"] * 65536) // 700
        if rng.u16(seed, rng.S_EV, day, 0) >= threshold:
            return
        if ev["offpeak"]:
            start = 22 * 60 + rng.below(seed, rng.S_EV, day, 1, 120)
        elif p.dtype == WEEKDAY:
            start = 17 * 60 + rng.below(seed, rng.S_EV, day, 1, 150) + p.shift
        else:
            start = 10 * 60 + rng.below(seed, rng.S_EV, day, 1, 600)
        energy = (ev["wh_per_session"] * (700 + rng.below(seed, rng.S_EV, day, 2, 601))) // 1000
        minutes = (energy * 60) // ev["watts"]
        if minutes < 5:
            minutes = 5
        p.extra.append((start, start + minutes, ev["watts"]))

    def _plan_climate(self, p):
        """Space heating or cooling as thermostat cycling in half-hour cycles."""
        spec = None
        need_wh = 0
        weights = self.heat_weights[p.dtype]
        if self.heating is not None and p.temp < HEAT_BASE_C10:
            spec = self.heating
            need_wh = ((HEAT_BASE_C10 - p.temp) * spec["wh_per_degree_day"]) // 10
        elif self.cooling is not None and p.temp > COOL_BASE_C10:
            spec = self.cooling
            need_wh = ((p.temp - COOL_BASE_C10) * spec["wh_per_degree_day"]) // 10
        if spec is None or need_wh <= 0:
            return
        if p.away:
            weights = [SETBACK_WEIGHT] * 48
        total = 0
        for w in weights:
            total += w
        need_min = (need_wh * 60) // spec["watts"]
        on = []
        for c in range(48):
            n = (need_min * weights[c]) // total
            on.append(30 if n > 30 else n)
        p.heat_on = on
        p.heat_watts = spec["watts"]
        p.heat_phase = rng.below(self.seed, rng.S_DAY, p.day, 2, 30)

    # -- the minute -------------------------------------------------------------------------

    def minute(self, day, m):
        """(consumption W, PV generation W) at local minute m of local day `day`."""
        p = self.plan(day)
        base = self.standby
        if (day * 1440 + m + self.fridge_phase) % self.fridge_period < p.fridge_on:
            base += self.fridge_w
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
            pv = self._pv(p, day, m)
        return total, pv

    def _pv(self, p, day, m):
        s = sun.height(self.lat, p.geometry, m - p.noon)
        if s <= 0:
            return 0
        irr = (s * (s + 3277)) // (ONE + 3277)
        # Cloud: every 10 minutes the sun is either out or behind a cloud (more often on a
        # cloudy day), blended between those knots so output ramps rather than steps.
        q = (day * 1440 + m) // 10
        threshold = p.cloud * 655
        f0 = 30 if rng.u16(self.rseed, rng.S_CLOUD, q, 1) < threshold else 100
        f1 = 30 if rng.u16(self.rseed, rng.S_CLOUD, q + 1, 1) < threshold else 100
        f = f0 + ((f1 - f0) * (m % 10)) // 10
        return (self.pv["watts_peak"] * irr * f * 85) // (ONE * 10000)
