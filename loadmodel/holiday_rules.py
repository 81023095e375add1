# Public holiday rules by country (loadmodel/holidays.py reads them; its header explains the
# forms). Data only, so that a Pico W can be given its own country's rules alone.

_MATARIKI = ((2022, 6, 24), (2023, 7, 14), (2024, 6, 28), (2025, 6, 20), (2026, 7, 10),
             (2027, 6, 25), (2028, 7, 14), (2029, 7, 6), (2030, 6, 21), (2031, 7, 11),
             (2032, 7, 2), (2033, 6, 24), (2034, 7, 7), (2035, 6, 29))

RULES = {
    "DE": (None, (("fixed", 1, 1), ("easter", -2), ("easter", 1), ("fixed", 5, 1),
                  ("easter", 39), ("easter", 50), ("fixed", 10, 3), ("fixed", 12, 25),
                  ("fixed", 12, 26))),
    "AT": (None, (("fixed", 1, 1), ("fixed", 1, 6), ("easter", 1), ("fixed", 5, 1),
                  ("easter", 39), ("easter", 50), ("easter", 60), ("fixed", 8, 15),
                  ("fixed", 10, 26), ("fixed", 11, 1), ("fixed", 12, 8), ("fixed", 12, 25),
                  ("fixed", 12, 26))),
    "NL": (None, (("fixed", 1, 1), ("easter", 1), ("fixed", 4, 27), ("easter", 39),
                  ("easter", 50), ("fixed", 12, 25), ("fixed", 12, 26))),
    "FR": (None, (("fixed", 1, 1), ("easter", 1), ("fixed", 5, 1), ("fixed", 5, 8),
                  ("easter", 39), ("easter", 50), ("fixed", 7, 14), ("fixed", 8, 15),
                  ("fixed", 11, 1), ("fixed", 11, 11), ("fixed", 12, 25))),
    "GB": ("substitute", (("fixed", 1, 1), ("easter", -2), ("easter", 1), ("nth", 5, 0, 1),
                          ("nth", 5, 0, -1), ("nth", 8, 0, -1), ("fixed", 12, 25),
                          ("fixed", 12, 26))),
    "IE": ("substitute", (("fixed", 1, 1), ("nth", 2, 0, 1), ("fixed", 3, 17), ("easter", 1),
                          ("nth", 5, 0, 1), ("nth", 6, 0, 1), ("nth", 8, 0, 1),
                          ("nth", 10, 0, -1), ("fixed", 12, 25), ("fixed", 12, 26))),
    "US": ("observed", (("fixed", 1, 1), ("nth", 1, 0, 3), ("nth", 2, 0, 3), ("nth", 5, 0, -1),
                        ("fixed", 6, 19), ("fixed", 7, 4), ("nth", 9, 0, 1), ("nth", 10, 0, 2),
                        ("fixed", 11, 11), ("nth", 11, 3, 4), ("fixed", 12, 25))),
    "NZ": ("substitute", (("fixed", 1, 1), ("fixed", 1, 2), ("fixed", 2, 6), ("easter", -2),
                          ("easter", 1), ("fixed", 4, 25), ("nth", 6, 0, 1),
                          ("dates", _MATARIKI), ("nth", 10, 0, 4), ("fixed", 12, 25),
                          ("fixed", 12, 26))),
    "AU": ("substitute", (("fixed", 1, 1), ("fixed", 1, 26), ("easter", -2), ("easter", -1),
                          ("easter", 1), ("fixed", 4, 25), ("nth", 6, 0, 2), ("fixed", 12, 25),
                          ("fixed", 12, 26))),
}
