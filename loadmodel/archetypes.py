# Household archetypes: who is at home when, and what they switch on. They are the skeleton
# of a population: each household of a kind is an individual drawn from its seed around them
# (loadmodel/individual.py: occupants, dwelling, what it owns, efficiency, rhythm, habits).
#
# Numbers are integers (watts, minutes, uses per day x100, percent) so every engine agrees.
# Activity is the share (0..100) of the household awake and at home in each local hour; an
# appliance's start times follow activity times its own hourly preference.

# Hourly preferences (0..100) of when an appliance is started.
PREFS = {
    "kettle": (2, 1, 0, 0, 1, 12, 80, 100, 80, 50, 40, 35, 40, 30, 30, 40, 40, 35, 30, 30, 30, 25, 12, 4),
    "breakfast": (0, 0, 0, 0, 0, 10, 70, 100, 90, 60, 30, 10, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    "lunch": (0, 0, 0, 0, 0, 0, 0, 0, 5, 15, 45, 90, 100, 70, 25, 5, 0, 0, 0, 0, 0, 0, 0, 0),
    "dinner": (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 15, 20, 15, 15, 25, 45, 75, 100, 90, 60, 30, 8, 0),
    "snack": (1, 0, 0, 0, 0, 0, 20, 50, 40, 20, 20, 30, 70, 40, 20, 20, 30, 50, 70, 50, 30, 25, 10, 3),
    "chores": (0, 0, 0, 0, 0, 0, 5, 20, 60, 90, 100, 90, 60, 50, 55, 50, 40, 30, 25, 20, 15, 8, 0, 0),
    "after_dinner": (20, 8, 2, 0, 0, 0, 5, 15, 20, 15, 10, 10, 15, 15, 10, 10, 10, 15, 25, 50, 80, 100, 80, 45),
    "screen": (25, 8, 2, 0, 0, 0, 5, 10, 15, 20, 20, 20, 25, 25, 25, 30, 40, 55, 70, 85, 95, 95, 70, 45),
    "work": (0, 0, 0, 0, 0, 0, 0, 10, 80, 100, 100, 100, 60, 90, 100, 100, 90, 50, 10, 5, 5, 5, 0, 0),
    "shower": (0, 0, 0, 0, 0, 20, 90, 100, 60, 30, 15, 10, 10, 5, 5, 5, 10, 20, 30, 40, 40, 30, 10, 0),
}

# Appliances: name, watts, (shortest, longest) minutes, uses per day x100 on
# (weekday, weekend), preference, seasonal sensitivity in percent (more use in winter when > 0),
# phases ((minutes, watts), ...) or None for a flat draw. The last phase takes what is left.
APPLIANCES = {
    "kettle": (2400, 2, 4, "kettle", 5, None),
    "toaster": (1100, 2, 4, "breakfast", 0, None),
    "microwave": (1000, 2, 7, "snack", 5, None),
    "hob": (1500, 10, 40, "dinner", 15, None),
    "oven": (2200, 25, 60, "dinner", 25, ((12, 2400), (6, 600), (6, 2000), (6, 500))),
    "lunch_cooking": (1600, 10, 30, "lunch", 10, None),
    "washing_machine": (2000, 60, 120, "chores", 0, ((18, 2000), (40, 220), (12, 500))),
    "tumble_dryer": (2400, 45, 90, "chores", 60, ((40, 2400), (20, 1200))),
    "dishwasher": (1900, 90, 150, "after_dinner", 0, ((10, 90), (18, 1900), (45, 90), (14, 1900), (10, 60))),
    "vacuum": (1400, 10, 35, "chores", 0, None),
    "iron": (1200, 15, 40, "chores", 0, ((3, 1200), (3, 400))),
    "tv": (100, 45, 210, "screen", 15, None),
    "games": (250, 40, 150, "screen", 15, None),
    "computer": (90, 30, 180, "screen", 5, None),
    "office_pc": (130, 180, 300, "work", 0, None),
    "hair_dryer": (1800, 3, 8, "shower", 5, None),
    "electric_shower": (9000, 5, 10, "shower", 0, None),
    "space_heater": (2000, 60, 180, "screen", 400, None),
}

# Archetypes. activity: (weekday, weekend) 24 hourly values. uses: appliance -> (weekday,
# weekend) uses per day x100 of an owner at the archetype's occupants. typical_kwh: the median
# annual consumption of this kind of household in the German mix (measured, for reference:
# a household uses what its traits make it use unless its config sets annual_kwh).
ARCHETYPES = {
    "single": {
        "occupants": 1,
        "typical_kwh": 2000,
        "standby_w": 70,
        "fridge_w": 95,
        "light_w": 85,
        "activity": (
            (6, 3, 2, 1, 1, 6, 38, 62, 42, 30, 28, 28, 32, 30, 28, 30, 35, 48, 60, 64, 64, 58, 42, 18),
            (12, 6, 3, 1, 1, 1, 5, 18, 45, 62, 64, 62, 66, 56, 48, 46, 48, 55, 64, 68, 68, 64, 48, 28),
        ),
        "uses": {
            "kettle": (250, 330), "toaster": (30, 40), "microwave": (90, 100), "hob": (50, 60),
            "oven": (10, 20), "lunch_cooking": (15, 45), "washing_machine": (22, 40),
            "tumble_dryer": (5, 8), "dishwasher": (25, 30), "vacuum": (5, 25), "iron": (3, 8),
            "tv": (100, 130), "computer": (90, 110), "hair_dryer": (40, 50),
        },
        "away_days": 14,
    },
    "couple": {
        "occupants": 2,
        "typical_kwh": 2700,
        "standby_w": 65,
        "fridge_w": 100,
        "light_w": 120,
        "activity": (
            (6, 3, 2, 1, 2, 9, 48, 70, 50, 38, 36, 36, 40, 36, 36, 38, 42, 55, 64, 68, 68, 62, 42, 20),
            (14, 7, 3, 1, 1, 2, 7, 22, 50, 66, 68, 68, 72, 60, 52, 50, 52, 60, 68, 72, 72, 66, 50, 30),
        ),
        "uses": {
            "kettle": (300, 420), "toaster": (45, 60), "microwave": (80, 100), "hob": (75, 85),
            "oven": (25, 45), "lunch_cooking": (20, 65), "washing_machine": (40, 65),
            "tumble_dryer": (15, 25), "dishwasher": (50, 65), "vacuum": (10, 40), "iron": (8, 15),
            "tv": (130, 170), "computer": (100, 120), "hair_dryer": (55, 70),
        },
        "away_days": 18,
    },
    "family": {
        "occupants": 4,
        "typical_kwh": 4200,
        "standby_w": 75,
        "fridge_w": 110,
        "light_w": 170,
        "activity": (
            (7, 3, 2, 2, 3, 13, 62, 82, 58, 46, 44, 46, 52, 50, 52, 60, 64, 70, 74, 74, 70, 56, 32, 14),
            (12, 6, 3, 2, 2, 4, 16, 48, 72, 80, 80, 80, 84, 76, 68, 66, 68, 74, 80, 80, 76, 64, 42, 22),
        ),
        "uses": {
            "kettle": (330, 450), "toaster": (80, 110), "microwave": (160, 180), "hob": (95, 100),
            "oven": (45, 60), "lunch_cooking": (40, 90), "washing_machine": (75, 95),
            "tumble_dryer": (35, 45), "dishwasher": (85, 100), "vacuum": (20, 50), "iron": (15, 30),
            "tv": (170, 220), "games": (60, 120), "computer": (150, 180), "hair_dryer": (90, 110),
        },
        "away_days": 16,
    },
    "retired": {
        "occupants": 2,
        "typical_kwh": 2100,
        "standby_w": 60,
        "fridge_w": 100,
        "light_w": 120,
        "activity": (
            (4, 2, 1, 1, 1, 2, 10, 45, 70, 70, 65, 65, 75, 65, 55, 55, 60, 70, 80, 80, 75, 60, 35, 12),
            (4, 2, 1, 1, 1, 2, 8, 40, 70, 72, 68, 68, 78, 65, 55, 55, 60, 70, 80, 80, 75, 60, 35, 12),
        ),
        "uses": {
            "kettle": (420, 430), "toaster": (50, 50), "microwave": (70, 70), "hob": (70, 75),
            "oven": (35, 45), "lunch_cooking": (70, 70), "washing_machine": (45, 40),
            "tumble_dryer": (10, 10), "dishwasher": (40, 45), "vacuum": (25, 20), "iron": (10, 8),
            "tv": (200, 210), "computer": (50, 50), "hair_dryer": (40, 40),
        },
        "away_days": 21,
    },
    "home_office": {
        "occupants": 2,
        "typical_kwh": 3100,
        "standby_w": 75,
        "fridge_w": 100,
        "light_w": 130,
        "activity": (
            (5, 2, 1, 1, 1, 5, 35, 70, 75, 75, 70, 70, 80, 70, 70, 70, 65, 65, 80, 85, 85, 75, 50, 20),
            (14, 7, 3, 1, 1, 2, 7, 22, 50, 66, 68, 68, 72, 60, 52, 50, 52, 60, 68, 72, 72, 66, 50, 30),
        ),
        "uses": {
            "kettle": (520, 420), "toaster": (45, 60), "microwave": (110, 100), "hob": (75, 85),
            "oven": (25, 45), "lunch_cooking": (85, 60), "washing_machine": (45, 65),
            "tumble_dryer": (15, 25), "dishwasher": (60, 65), "vacuum": (15, 40), "iron": (8, 15),
            "tv": (120, 170), "computer": (60, 120), "office_pc": (190, 10), "hair_dryer": (55, 70),
        },
        "away_days": 14,
    },
}

NAMES = ("single", "couple", "family", "retired", "home_office")
