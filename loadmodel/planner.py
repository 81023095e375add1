# Planning a household's day (loadmodel/household.py): the day type, holidays away, the
# day's rhythm, weather, sun and appliance events. Done once a day per household, so a module
# of its own that a Pico loads to plan and unloads after the tick (Household.plan_only_modules,
# picometer/recorder.py), like the weather, sun and holiday modules it reads. Every function
# takes the Household `h`; meter/vector/household.py computes the same for many days at once.

from core import civil
from loadmodel import rng
from loadmodel.household import (
    EARLY_SHIFT,
    HEAT_BASE_C10,
    LATE_SHIFT,
    SHIFT_AFTER,
    SHIFT_BEFORE,
    WEEKDAY,
    WEEKEND,
    DayPlan,
)
from loadmodel.timing import build_cdf, pick_bin, season_factor


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


def trips(h, year):
    """The year's two trips away: [(first day, day after the last)], cached per Household."""
    got = h._trip_cache.get(year)
    if got is None:
        start = civil.days_from_civil(year, 1, 1)
        summer = 196 if h.lat >= 0 else 358
        s1 = start + summer - 20 + rng.below(h.seed, rng.S_AWAY, year, 0, 41)
        n1 = (h.away_days * 2) // 3
        s2 = start + 30 + rng.below(h.seed, rng.S_AWAY, year, 1, 280)
        n2 = h.away_days - n1
        got = [(s1, s1 + n1), (s2, s2 + n2)]
        if len(h._trip_cache) > 4:
            h._trip_cache.clear()
        h._trip_cache[year] = got
    return got


def daytype(h, day):
    from loadmodel import holidays

    if civil.weekday(day) >= 5 or holidays.is_holiday(h.country, day, h.extra_holidays):
        return WEEKEND
    return WEEKDAY



def is_away(h, day):
    """Holidays away from home: one long summer trip and one short one a year."""
    if h.away_days <= 0:
        return False
    y, _, _ = civil.civil_from_days(day)
    for a, b in trips(h, y - 1) + trips(h, y):
        if a <= day < b:
            return True
    return False



def make_plan(h, day):
    from loadmodel import climate, sun

    seed = h.seed
    p = DayPlan()
    p.day = day
    p.dtype = daytype(h, day)
    p.away = is_away(h, day)
    # A weekday at home (working from home, a part-time day off) is lived like a weekend
    # day; a shift worker's early or late shift moves the whole day.
    extra = h.chrono
    if p.dtype == WEEKDAY:
        if h.home_p16 and rng.u16(seed, rng.S_HOME, day, 0) < h.home_p16:
            p.dtype = WEEKEND
        elif h.shift_p16 and rng.u16(seed, rng.S_HOME, day, 1) < h.shift_p16:
            if rng.u16(seed, rng.S_HOME, day, 2) < 32768:
                extra += EARLY_SHIFT
            else:
                extra += LATE_SHIFT
    if p.dtype == WEEKDAY:
        shift = rng.below(seed, rng.S_DAY, day, 0, 61) - 30 + extra
    else:
        shift = rng.below(seed, rng.S_DAY, day, 0, 91) - 30 + extra
    if shift < -SHIFT_BEFORE:
        shift = -SHIFT_BEFORE
    elif shift > SHIFT_AFTER:
        shift = SHIFT_AFTER
    p.shift = shift
    p.mood = 700 + rng.below(seed, rng.S_DAY, day, 1, 601)
    p.noise_hash = rng.draw(seed, rng.S_MINUTE_NOISE, day, 0)
    p.temp = climate.temp_c10(h.rseed, h.lat, day, h.mean_c10, h.amp_c10)
    offset = h.zone.offset_at(day * 1440 + 720 - h.zone.offset_at(day * 1440))
    p.sunrise, p.sunset, p.noon = sun.times(h.lat, h.lon, day, offset)
    duty = 300 + p.temp // 2
    p.fridge_on = (h.fridge_period * duty) // 1000
    if h.cold:
        p.cold_on = [(c[1] * (c[3] + p.temp // 2)) // 1000 for c in h.cold]
    p.pump = pump_watts(h.pump_w, p.temp) + spa_watts(h.spa_w, p.temp)
    if h.pool_w:
        p.events.append((h.pool_start, h.pool_start + pool_minutes(p.temp), h.pool_w))
    if h.pv is not None:
        p.geometry = sun.geometry(h.lat, day)
        p.cloud = climate.cloud_pct(h.rseed, h.lat, day)
    if not p.away:
        plan_appliances(h, p)
    if h.services:
        from loadmodel import services

        if not p.away:
            services.plan_hot_water(h, p)
            services.plan_ev(h, p)
        services.plan_climate(h, p)
    return p


def plan_appliances(h, p):
    seed = h.seed
    day = p.day
    for ai in range(len(h.appliances)):
        key, spec, wd, we, slots, pref_tab, akey, offset = h.appliances[ai]
        watts, lo, hi, pref, sens, phases = spec
        uses = we if p.dtype == WEEKEND else wd
        lam = (uses * season_factor(sens, p.temp)) // 1000
        lam = (lam * p.mood) // 1000
        threshold = (lam * 65536) // (100 * slots)
        cdf = None  # built on the first event of the day, then reused for the others
        for k in range(slots):
            key_k = akey + k
            if rng.u16(seed, rng.S_EVENT_COUNT, day, key_k) >= threshold:
                continue
            if cdf is None:
                cdf = build_cdf(pref_tab, h.activity[p.dtype])
            q = pick_bin(cdf, rng.u16(seed, rng.S_EVENT_TIME, day, key_k))
            start = (q * 15 + rng.below(seed, rng.S_EVENT_MINUTE, day, key_k, 15) + p.shift
                     + offset)
            if start < 0:
                start = 0
            length = lo + rng.below(seed, rng.S_EVENT_LEN, day, key_k, hi - lo + 1)
            # this use's power (+-10%) times the household's appliance efficiency
            pf = ((900 + rng.below(seed, rng.S_EVENT_POWER, day, key_k, 201))
                  * h.efficiency) // 1000
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
