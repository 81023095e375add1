# Setting up a Household (loadmodel/household.py) from its config: the traits drawn once, the
# appliances it owns, the optional loads. Done once per meter, so a module of its own: a Pico
# unloads it once the model is built (picometer/recorder.py), and the constructor's code holds
# no heap for the rest of the run. Household.__init__ calls setup().

from loadmodel import rng
from loadmodel.timing import slot_count


def setup(h, cfg, zone):
    """Give the Household `h` its traits from `cfg` (what Household.__init__ does)."""
    # The archetypes' tables are read here only: imported here, so that a Pico can drop
    # the module (individual.forget) and keep just the rows this household refers to.
    from loadmodel import archetypes

    h.seed = cfg["seed"]
    h.zone = zone
    name = cfg["archetype"]
    arch = archetypes.ARCHETYPES[name]
    # The household's own traits, drawn once (loadmodel/individual.py); only the numbers
    # the day plans and minutes read are kept (on a Pico the draw's code and tables are
    # dropped again at once).
    from loadmodel import individual

    ind = individual.for_config(cfg, arch)
    individual.forget()
    h.occupants = ind["occupants"]
    h.activity = arch["activity"]
    h.standby = ind["standby"]
    h.fridge_w = ind["fridge_w"]
    h.light_w = ind["light_w"]
    h.cold = ind["cold"]
    h.pump_w = ind["pump"]
    h.spa_w = ind["spa"]  # a spa pool's heater, at 8 C outside
    h.pool_w = ind["pool"]
    h.pool_start = ind["pool_start"]
    h.chrono = ind["chrono"]
    h.home_p16 = ind["home_p16"]
    h.shift_p16 = ind["shift_p16"]
    h.efficiency = ind["efficiency"]
    h.scale = cfg["scale_permille"]
    h.lat = cfg["latitude_e4"]
    h.lon = cfg["longitude_e4"]
    h.country = cfg["country"]
    h.extra_holidays = cfg["holidays_extra"]
    h.away_days = arch["away_days"] if cfg["away"] else 0
    from loadmodel import climate

    h.rseed = climate.region_seed(h.lat, h.lon, cfg["weather_seed"])
    clim = cfg["climate"]
    if clim is None:
        clim = climate.default_climate(h.lat)
    h.mean_c10 = clim[0]
    h.amp_c10 = clim[1]
    h.heating = cfg["heating"]
    h.cooling = cfg["cooling"]
    h.hot_water = ind["hot_water"]
    h.water_wh = ind["water_wh"]  # hot water a day at an ordinary mood
    h.water_morning = ind["water_morning"]  # permille of it after the morning showers
    h.ev = ind["ev"]
    h.pv = cfg["pv"]
    h.pv_watts = None
    if h.pv is not None:
        from loadmodel import sun

        h.pv_watts = sun.pv_watts  # every minute of daylight
    h.fridge_period = 40 + rng.below(h.seed, rng.S_FRIDGE, 0, 0, 21)
    h.fridge_phase = rng.below(h.seed, rng.S_FRIDGE, 0, 1, h.fridge_period)
    # Appliances in name order, so their random streams never depend on dict order.
    # Each is (name, spec, uses x100 weekday, weekend, slots, start-time preference, first
    # event key, start offset in minutes): what this household owns, at its own rates and
    # times.
    h.appliances = []
    apps = ind["apps"]
    for key in sorted(apps):
        spec = archetypes.APPLIANCES[key]
        wd, we, offset, akey = apps[key]
        h.appliances.append((key, spec, wd, we, slot_count(wd, we),
                                archetypes.PREFS[spec[3]], akey, offset))
    # Hot water, EV charging, heating and cooling: code a household without them never
    # loads, and one with them only to plan a day (loadmodel/services.py, which the planner
    # imports: a Pico unloads it between plans, like the planner).
    h.services = False
    h.shower_pref = None
    h.heat_weights = None
    if h.hot_water is not None or h.ev is not None or h.heating is not None \
            or h.cooling is not None:
        h.services = True
        if h.hot_water == "element":
            h.shower_pref = archetypes.PREFS["shower"]
        if h.heating is not None or h.cooling is not None:
            from loadmodel import services

            h.heat_weights = (services.heat_weights(h.activity, 0),
                                 services.heat_weights(h.activity, 1))
    h._plans = {}
    h._trip_cache = {}


def compact(h):
    """The Household's hourly tables as bytes, for a Pico W's small heap: the activity
    profiles, the appliances' start-time preferences and the heating weights are whole
    numbers 0..100, so indexing the bytes gives the very same ints, in a tenth of the heap of
    a tuple of 24 (or a list of 48). Not for CPython, whose numpy reads them as sequences of
    numbers (meter/vector/household.py); picometer/build.py calls it."""
    done = {}

    def small(t):
        if t is None:
            return None
        got = done.get(id(t))
        if got is None:
            got = t
            if all(0 <= v < 256 for v in t):
                got = bytes(t)
            done[id(t)] = got
        return got

    h.activity = (small(h.activity[0]), small(h.activity[1]))
    h.appliances = [a[:5] + (small(a[5]),) + a[6:] for a in h.appliances]
    h.shower_pref = small(h.shower_pref)
    if h.heat_weights is not None:
        h.heat_weights = (small(h.heat_weights[0]), small(h.heat_weights[1]))
