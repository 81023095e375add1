# Who lives where: per-country tables the individual households are drawn from.
#
# Every figure is a published national statistic, rounded to whole percent (docs/load-model.md
# names the source of each). A Pico W gets only its own country's table (meter/pico_config.py
# writes this module cut down to it), so keep one country's entry small.
#
# mix: (archetype, occupants, households per 1000). The occupants follow the country's
#   household-size statistic; one- and two-person homes are split between working-age
#   (single, couple, home_office) and 65+ (retired) by the share of older people living alone
#   or as a couple.
# own: percent of households owning (or, for hob/oven/hot_water, cooking or heating water
#   with electricity; space_heater: warming rooms with a plug-in heater on cold days).
#   pool, spa: percent of all households (only houses have one).
# night_water: percent of electric water heaters on an off-peak night block.
# pump: (percent of houses, percent of flats) with a heating circulation pump (or furnace fan)
#   on the household's own meter, and its typical mean draw in watts while heating runs.
# flat_pct: households living in flats; area: median floor area (m2) of (a flat, a house).
# wfh_pct: households whose workers work from home on some weekdays; part_pct: those with a
#   part-time worker (a weekday at home); shift_pct: those with a shift worker.

COUNTRIES = {
    "DE": {
        "mix": (("single", 1, 230), ("home_office", 1, 30), ("retired", 1, 150),
                ("couple", 2, 180), ("home_office", 2, 30), ("retired", 2, 130),
                ("family", 3, 120), ("family", 4, 90), ("family", 5, 30), ("family", 6, 10)),
        "own": {"tumble_dryer": 44, "dishwasher": 74, "freezer": 48, "fridge2": 8, "hob": 95,
                "oven": 96, "hot_water": 25, "pool": 0, "aquarium": 5, "server": 8, "electric_shower": 0,
                "spa": 1, "space_heater": 0},
        "night_water": 0,
        "pump": (80, 5, 35),
        "flat_pct": 55,
        "area": (70, 125),
        "wfh_pct": 24,
        "part_pct": 20,
        "shift_pct": 15,
    },
    "GB": {
        "mix": (("single", 1, 145), ("home_office", 1, 20), ("retired", 1, 135),
                ("couple", 2, 200), ("home_office", 2, 30), ("retired", 2, 120),
                ("family", 3, 160), ("family", 4, 130), ("family", 5, 45), ("family", 6, 15)),
        "own": {"tumble_dryer": 58, "dishwasher": 52, "freezer": 38, "fridge2": 10, "hob": 55,
                "oven": 85, "hot_water": 8, "pool": 0, "aquarium": 4, "server": 8, "electric_shower": 40,
                "spa": 2, "space_heater": 20},
        "night_water": 60,
        "pump": (85, 70, 45),
        "flat_pct": 20,
        "area": (60, 100),
        "wfh_pct": 28,
        "part_pct": 20,
        "shift_pct": 12,
    },
    "NZ": {
        "mix": (("single", 1, 120), ("home_office", 1, 15), ("retired", 1, 95),
                ("couple", 2, 190), ("home_office", 2, 30), ("retired", 2, 110),
                ("family", 3, 160), ("family", 4, 150), ("family", 5, 80), ("family", 6, 50)),
        "own": {"tumble_dryer": 55, "dishwasher": 58, "freezer": 55, "fridge2": 30, "hob": 85,
                "oven": 90, "hot_water": 80, "pool": 5, "aquarium": 5, "server": 8, "electric_shower": 3,
                "spa": 8, "space_heater": 30},
        "night_water": 60,
        "pump": (3, 0, 45),
        "flat_pct": 15,
        "area": (85, 160),
        "wfh_pct": 25,
        "part_pct": 20,
        "shift_pct": 15,
    },
    "AU": {
        "mix": (("single", 1, 140), ("home_office", 1, 20), ("retired", 1, 100),
                ("couple", 2, 200), ("home_office", 2, 30), ("retired", 2, 110),
                ("family", 3, 160), ("family", 4, 150), ("family", 5, 65), ("family", 6, 25)),
        "own": {"tumble_dryer": 56, "dishwasher": 55, "freezer": 37, "fridge2": 34, "hob": 60,
                "oven": 80, "hot_water": 45, "pool": 12, "aquarium": 5, "server": 8, "electric_shower": 2,
                "spa": 5, "space_heater": 20},
        "night_water": 70,
        "pump": (3, 0, 45),
        "flat_pct": 22,
        "area": (100, 200),
        "wfh_pct": 30,
        "part_pct": 22,
        "shift_pct": 16,
    },
    "US": {
        "mix": (("single", 1, 155), ("home_office", 1, 20), ("retired", 1, 115),
                ("couple", 2, 195), ("home_office", 2, 35), ("retired", 2, 120),
                ("family", 3, 150), ("family", 4, 120), ("family", 5, 60), ("family", 6, 30)),
        "own": {"tumble_dryer": 64, "dishwasher": 69, "freezer": 34, "fridge2": 35, "hob": 64,
                "oven": 64, "hot_water": 47, "pool": 8, "aquarium": 6, "server": 10, "electric_shower": 1,
                "spa": 5, "space_heater": 10},
        "night_water": 0,
        "pump": (55, 40, 90),
        "flat_pct": 26,
        "area": (90, 190),
        "wfh_pct": 28,
        "part_pct": 16,
        "shift_pct": 16,
    },
}

# Countries with holiday rules but no table of their own take a neighbour's.
ALIASES = {"AT": "DE", "NL": "DE", "FR": "DE", "IE": "GB"}
DEFAULT = "DE"


def table(country):
    """The table for `country` (a neighbour's, or Germany's where there is none)."""
    got = COUNTRIES.get(country)
    if got is None:
        got = COUNTRIES.get(ALIASES.get(country, DEFAULT))
    if got is None:  # a Pico's cut-down module holds one table: its own country's
        for key in COUNTRIES:
            got = COUNTRIES[key]
    return got


def archetype_shares(country):
    """{archetype: households per 1000} of `country`'s mix, in the mix's order."""
    out = []
    for name, _, share in table(country)["mix"]:
        for i in range(len(out)):
            if out[i][0] == name:
                out[i] = (name, out[i][1] + share)
                break
        else:
            out.append((name, share))
    return out
