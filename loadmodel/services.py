# The loads only some households have: electric hot water, EV charging, space heating and
# cooling. loadmodel/household.py imports this module only for a household that has one of
# them, so a Pico W whose household has none keeps none of this code in its heap.
# meter/vector/household.py mirrors every line.

from loadmodel import rng
from loadmodel.household import COOL_BASE_C10, HEAT_BASE_C10, SETBACK_WEIGHT, WEEKDAY
from loadmodel.timing import build_cdf, pick_bin, season_factor


def heat_weights(activity, dtype):
    """Heating (or cooling) weight of each half hour: full when people are up and at home."""
    prof = activity[dtype]
    return [100 if prof[c // 2] >= 30 else SETBACK_WEIGHT for c in range(48)]


def plan_hot_water(h, p):
    mode = h.hot_water
    if mode is None:
        return
    seed = h.seed
    day = p.day
    need = (h.water_wh * p.mood) // 1000
    need = (need * season_factor(10, p.temp)) // 1000
    watts = 3000
    if mode == "night":
        start = 23 * 60 + rng.below(seed, rng.S_EVENT_TIME, day, 1000, 60)
        p.events.append((start, start + (need * 60) // watts + 1, watts))
        return
    # Reheating after use: the morning showers, the middle of the day, the evening.
    morning = (need * h.water_morning) // 1000
    midday = (need * 20) // 100
    cdf = build_cdf(h.shower_pref, h.activity[p.dtype])
    q = pick_bin(cdf, rng.u16(seed, rng.S_EVENT_TIME, day, 1001))
    start = q * 15 + rng.below(seed, rng.S_EVENT_MINUTE, day, 1001, 15) + p.shift + 10
    if start < 0:
        start = 0
    p.events.append((start, start + (morning * 60) // watts + 1, watts))
    start = 11 * 60 + rng.below(seed, rng.S_EVENT_TIME, day, 1003, 240) + p.shift
    p.events.append((start, start + (midday * 60) // watts + 1, watts))
    start = 18 * 60 + rng.below(seed, rng.S_EVENT_TIME, day, 1002, 360) + p.shift
    p.events.append((start, start + ((need - morning - midday) * 60) // watts + 1, watts))


def plan_ev(h, p):
    ev = h.ev
    if ev is None:
        return
    seed = h.seed
    day = p.day
    threshold = (ev["sessions_per_week_x100"] * 65536) // 700
    if rng.u16(seed, rng.S_EV, day, 0) >= threshold:
        return
    if ev["offpeak"]:
        start = 22 * 60 + rng.below(seed, rng.S_EV, day, 1, 180)
    elif p.dtype == WEEKDAY:
        start = 15 * 60 + rng.below(seed, rng.S_EV, day, 1, 300) + p.shift + ev["arrival"]
    else:
        start = 10 * 60 + rng.below(seed, rng.S_EV, day, 1, 600)
    energy = (ev["wh_per_session"] * (700 + rng.below(seed, rng.S_EV, day, 2, 601))) // 1000
    minutes = (energy * 60) // ev["watts"]
    if minutes < 5:
        minutes = 5
    p.extra.append((start, start + minutes, ev["watts"]))


def plan_climate(h, p):
    """Space heating or cooling as thermostat cycling in half-hour cycles."""
    if h.heat_weights is None:
        return
    spec = None
    need_wh = 0
    weights = h.heat_weights[p.dtype]
    if h.heating is not None and p.temp < HEAT_BASE_C10:
        spec = h.heating
        need_wh = ((HEAT_BASE_C10 - p.temp) * spec["wh_per_degree_day"]) // 10
    elif h.cooling is not None and p.temp > COOL_BASE_C10:
        spec = h.cooling
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
    p.heat_phase = rng.below(h.seed, rng.S_DAY, p.day, 2, 30)
