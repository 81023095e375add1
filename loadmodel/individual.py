# One household's own traits, drawn once from its seed: who lives there, the dwelling, what
# it owns, how efficient that is, its rhythm and its habits.
#
# The archetype is the skeleton (who is at home when, what they typically switch on); the draw
# makes each home of a kind an individual, from the country's published statistics
# (loadmodel/countries.py). Everything is a pure function of (seed, archetype, country), so
# truth and reproducibility hold. The result is a small dict of integers the household keeps
# in its own fields; this module is not needed after construction.

from loadmodel import countries, rng

# Trait keys for rng.draw(seed, S_INDIVIDUAL, key, sub): one per trait, never renumbered, so
# adding a trait never changes another's draw.
T_OCCUPANTS = 0
T_FLAT = 1
T_AREA = 2
T_OWN = 3
T_STANDBY = 4
T_FRIDGE = 5
T_LED = 6
T_CHRONO = 7
T_WORK = 8
T_HABIT = 9
T_TIMING = 10
T_EFFICIENCY = 11
T_COLD = 12
T_POOL = 13
T_WATER = 14
T_PUMP = 15
T_ALWAYS_ON = 16
T_INTENSITY = 17
T_EV = 18

# exp(k / 8 - 3) * 1000 for k = 0..48: lognormal spreads without floats.
_EXP = (50, 56, 64, 72, 82, 93, 105, 119, 135, 153, 174, 197, 223, 253, 287, 325, 368, 417,
        472, 535, 607, 687, 779, 882, 1000, 1133, 1284, 1455, 1649, 1868, 2117, 2399, 2718,
        3080, 3490, 3955, 4482, 5078, 5755, 6521, 7389, 8373, 9488, 10751, 12182, 13805,
        15643, 17725, 20086)

# The ownership the archetypes' use rates were set for (German households): an owner's rate is
# the archetype's rate over this share, so a country with more dryers uses more dryer.
_REF_OWN = {"tumble_dryer": 70}
# Appliances started around meals, and chores that can be put off.
_MEALS = ("toaster", "microwave", "hob", "oven", "lunch_cooking")
_CHORES = ("washing_machine", "tumble_dryer", "dishwasher", "vacuum", "iron")
# Appliances a household may own beyond its archetype's (a Pico's tables must hold them).
EXTRA_APPLIANCES = ("electric_shower", "space_heater")
_WORKERS = ("single", "couple", "family")
REF_AREA = 90  # m2: the floor area the archetypes' lighting and standby were set for


def forget():
    """On a Pico, drop this module, the country tables and the archetypes' tables once the
    draw is made: the heap holds the household's traits (and the rows of the tables they
    refer to), not the code and tables that drew them."""
    import sys

    if sys.implementation.name != "micropython":
        return
    import loadmodel

    for name in ("individual", "countries", "archetypes"):
        sys.modules.pop("loadmodel." + name, None)
        if name in loadmodel.__dict__:
            delattr(loadmodel, name)


def appliance_key(name):
    """The first of an appliance's 16 event keys: stable whatever else the home owns."""
    return 4096 + (name_key(name) % 2048) * 16


def name_key(name):
    """A stable small integer for a name (the same on every interpreter)."""
    h = 0
    for c in name:
        h = (h * 31 + ord(c)) & 0xFFFF
    return h


def spread(seed, key, sub, sigma_pct):
    """A lognormal-like factor in permille: median 1000, log-sd about sigma_pct / 100."""
    x = rng.draw(seed, rng.S_INDIVIDUAL, key, sub)
    b = (((x >> 16) + (x & 0xFFFF)) >> 1) - 32768  # triangular, sd ~13377, like rng.bell
    lnm = (b * sigma_pct * 10) // 13377  # log of the factor in 1/1000
    if lnm < -2999:
        lnm = -2999
    if lnm > 2999:
        lnm = 2999
    t = lnm + 3000
    i = t // 125
    f = t % 125
    return _EXP[i] + ((_EXP[i + 1] - _EXP[i]) * f) // 125


def chance(seed, key, sub, pct):
    """True with probability pct / 100."""
    return rng.below(seed, rng.S_INDIVIDUAL, key, sub, 100) < pct


def _pick_occupants(seed, name, mix, fallback):
    total = 0
    for row in mix:
        if row[0] == name:
            total += row[2]
    if total <= 0:
        return fallback
    u = rng.below(seed, rng.S_INDIVIDUAL, T_OCCUPANTS, 0, total)
    for row in mix:
        if row[0] == name:
            if u < row[2]:
                return row[1]
            u -= row[2]
    return fallback


def _clip(v, lo, hi):
    if v < lo:
        return lo
    if v > hi:
        return hi
    return v


def for_config(cfg, arch):
    """The traits of the household of a normalised meter config (meter/config.py)."""
    return draw(cfg["seed"], cfg["archetype"], arch, cfg["country"], cfg["hot_water"],
                cfg["heating"] is not None, cfg["ev"])


def draw(seed, name, arch, country, hot_water, heated, cfg_ev=None):
    """The household's traits. `hot_water` is the config's ("auto" draws it); `heated` says
    the config has electric space heating (which brings its own pumps); `cfg_ev` is the
    config's EV charging, whose unset habits are drawn here."""
    tab = countries.table(country)
    own = tab["own"]
    base_occ = arch["occupants"]
    occ = _pick_occupants(seed, name, tab["mix"], base_occ)
    # How much a home does of everything (lifestyle, income), and of each thing; median 0.86,
    # so that its mean, like a lognormal's, is about 1.
    intensity = (spread(seed, T_INTENSITY, 0, 55) * 86) // 100
    # Dwelling: small households live in flats more often, families in houses.
    flat_pct = tab["flat_pct"]
    mine = (flat_pct * 13) // 10 if occ == 1 else (flat_pct * 6) // 10 if occ >= 3 else flat_pct
    flat = chance(seed, T_FLAT, 0, _clip(mine, 0, 95))
    area = tab["area"][0 if flat else 1] * (90 + 10 * occ) // 110
    area = (area * spread(seed, T_AREA, 0, 30)) // 1000
    area = (area * (700 + (300 * intensity) // 1000)) // 1000  # who does more, lives larger
    # Ownership: a bigger household owns the big appliances more often, and so does one that
    # does more of everything (income: Destatis finds ownership rising with it), keeping the
    # national rate on average.
    size_adj = -12 if occ == 1 else 12 if occ >= 3 else 0
    own_f = 600 + (400 * intensity) // 1000
    owned = {}
    i = 0
    for key in ("tumble_dryer", "dishwasher", "freezer", "fridge2", "hob", "oven", "aquarium",
                "server", "electric_shower", "space_heater"):
        pct = own[key]
        if key in ("tumble_dryer", "dishwasher", "freezer"):
            pct = pct + size_adj
        if key not in ("hob", "oven"):
            pct = (pct * own_f) // 1000
        owned[key] = chance(seed, T_OWN, i, _clip(pct, 0, 100))
        i += 1
    pool = 0
    if not flat and own["pool"] > 0:
        pool_pct = (own["pool"] * 100) // (100 - flat_pct) if flat_pct < 100 else 0
        if chance(seed, T_POOL, 0, pool_pct):
            pool = (1100 * spread(seed, T_POOL, 1, 30)) // 1000
    pool_start = 480 + rng.below(seed, rng.S_INDIVIDUAL, T_POOL, 2, 240)
    spa = 0
    if not flat and own["spa"] > 0 and flat_pct < 100:
        if chance(seed, T_POOL, 3, (own["spa"] * 100) // (100 - flat_pct)):
            spa = (220 * spread(seed, T_POOL, 4, 30)) // 1000
    if hot_water == "auto":
        hot_water = None
        if chance(seed, T_WATER, 0, own["hot_water"]):
            hot_water = "night" if chance(seed, T_WATER, 1, tab["night_water"]) else "element"
    pump = 0
    pump_pct = tab["pump"][1] if flat else tab["pump"][0]
    if not heated and chance(seed, T_PUMP, 0, pump_pct):
        pump = (tab["pump"][2] * spread(seed, T_PUMP, 1, 50)) // 1000
    # Standby grows with the home; an aquarium or an always-on computer adds to it.
    standby = (arch["standby_w"] * spread(seed, T_STANDBY, 0, 60)) // 1000
    standby = (standby * (300 + (intensity * 7) // 10)) // 1000
    standby = (standby * (area + 2 * REF_AREA)) // (3 * REF_AREA)
    if owned["aquarium"]:
        standby += (70 * spread(seed, T_ALWAYS_ON, 0, 40)) // 1000
    if owned["server"]:
        standby += (35 * spread(seed, T_ALWAYS_ON, 1, 50)) // 1000
    fridge_w = (arch["fridge_w"] * spread(seed, T_FRIDGE, 0, 40)) // 1000
    led = 10 + rng.below(seed, rng.S_INDIVIDUAL, T_LED, 0, 91)
    light_w = (arch["light_w"] * (1450 - 8 * led)) // 1000
    light_w = (light_w * (area + REF_AREA)) // (2 * REF_AREA)
    light_w = (light_w * (occ + 2)) // (base_occ + 2)
    light_w = (light_w * spread(seed, T_INTENSITY, 1, 25)) // 1000
    light_w = (light_w * (300 + (intensity * 7) // 10)) // 1000
    cold = []
    if owned["freezer"]:
        cold.append(_cold(seed, 0, 90, 380))
    if owned["fridge2"]:
        cold.append(_cold(seed, 1, 120, 300))
    # Rhythm: early risers and night owls; weekdays at home; shift work.
    x = rng.draw(seed, rng.S_INDIVIDUAL, T_CHRONO, 0)
    chrono = ((((x >> 16) + (x & 0xFFFF)) >> 1) - 32768) * 50 // 13377
    home_days = 0
    shift_p16 = 0
    if name in _WORKERS:
        if chance(seed, T_WORK, 0, tab["wfh_pct"]):
            home_days += 1 + rng.below(seed, rng.S_INDIVIDUAL, T_WORK, 1, 3)
        if chance(seed, T_WORK, 2, tab["part_pct"]):
            home_days += 1
        if chance(seed, T_WORK, 3, tab["shift_pct"]):
            shift_p16 = (65536 * 3) // 5
    # Habits: how often each appliance is used, and when meals and chores happen.
    occ_f = (((occ + 1) * 1000) // (base_occ + 1) * intensity) // 1000
    meal = _bell(seed, T_TIMING, 0, 45)
    chores = _bell(seed, T_TIMING, 1, 90)
    late_dishes = chance(seed, T_TIMING, 2, 30)
    apps = {}
    wanted = dict(arch["uses"])
    if owned["electric_shower"] and hot_water is None:
        # An instantaneous shower heater: most of the household's showers, most days.
        wanted["electric_shower"] = (occ * 70, occ * 70)
    if owned["space_heater"] and not heated:
        # A plug-in heater on cold evenings (its use follows the temperature).
        wanted["space_heater"] = (35, 50)
    for key in wanted:
        if key in owned and not owned[key]:
            continue
        if key == "lunch_cooking" and not owned["hob"]:
            continue
        wd, we = wanted[key]
        f = (spread(seed, T_HABIT, name_key(key), 45) * occ_f) // 1000
        if key in _REF_OWN:
            f = (f * 100) // _REF_OWN[key]
        off = 0
        if key in _MEALS:
            off = meal
        elif key in _CHORES:
            off = chores
            if key == "dishwasher" and late_dishes:
                off += 150
        apps[key] = ((wd * f) // 1000, (we * f) // 1000, off, appliance_key(key))
    # Hot water: 1.6 kWh a person a day, more or less by habit; morning or evening showers.
    water_wh = (occ * 1600 * spread(seed, T_WATER, 2, 35)) // 1000
    water_wh = (water_wh * intensity) // 1000
    water_morning = 250 + rng.below(seed, rng.S_INDIVIDUAL, T_WATER, 3, 451)
    return {"ev": _ev(seed, cfg_ev), "water_wh": water_wh, "water_morning": water_morning,
            "occupants": occ, "standby": standby,
            "fridge_w": fridge_w, "light_w": light_w, "cold": cold, "pump": pump,
            "pool": pool, "pool_start": pool_start, "spa": spa, "hot_water": hot_water, "chrono": chrono,
            "home_p16": (home_days * 65536) // 5 if home_days < 5 else 65535,
            "shift_p16": shift_p16, "apps": apps,
            "efficiency": spread(seed, T_EFFICIENCY, 0, 12)}


def _bell(seed, key, sub, sd_min):
    x = rng.draw(seed, rng.S_INDIVIDUAL, key, sub)
    return ((((x >> 16) + (x & 0xFFFF)) >> 1) - 32768) * sd_min // 13377


def _ev(seed, ev):
    """The config's EV with this household's habits: how often and how much it charges (when
    the config leaves them open), whether on an off-peak timer, when it comes home."""
    if ev is None:
        return None
    out = {}
    for key in ev:
        out[key] = ev[key]
    if ev.get("habits"):
        out["sessions_per_week_x100"] = (ev["sessions_per_week_x100"]
                                         * spread(seed, T_EV, 0, 45) * 86) // 100000
        out["wh_per_session"] = (ev["wh_per_session"] * spread(seed, T_EV, 1, 30)) // 1000
    if ev.get("offpeak") is None:
        out["offpeak"] = chance(seed, T_EV, 2, 30)
    out["arrival"] = _bell(seed, T_EV, 3, 75)
    return out


def _cold(seed, k, watts, duty):
    """A freezer or second fridge: (watts, cycle minutes, phase, duty permille at 0 C)."""
    w = (watts * spread(seed, T_COLD, k * 4, 25)) // 1000
    period = 35 + rng.below(seed, rng.S_INDIVIDUAL, T_COLD, k * 4 + 1, 36)
    phase = rng.below(seed, rng.S_INDIVIDUAL, T_COLD, k * 4 + 2, period)
    return (w, period, phase, duty)
