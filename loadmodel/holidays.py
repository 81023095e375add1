# Public holidays by country, as rules (no library, so the Pico gets the same days).
# A holiday is lived like a Sunday. Countries not listed have none; a config may add dates.
#
# Rule forms: ("fixed", month, day), ("easter", offset_days), ("nth", month, weekday, n)
# with n = -1 for the last one, ("dates", ((y, m, d), ...)) for holidays set each year by decree.
# "substitute": a holiday on a weekend moves to the next weekday that is not a holiday (NZ, AU, GB
# Mondayisation); "observed": Saturday to Friday, Sunday to Monday (US).

from core import civil

# The rules themselves are data, in their own module: a Pico W loads one country's only
# (meter/pico_config.py writes it that way; a module's constants live as long as it does).
from loadmodel.holiday_rules import RULES

COUNTRIES = tuple(sorted(RULES))

_cache = {}


def easter(y):
    """Day number of Western Easter Sunday (anonymous Gregorian algorithm)."""
    a = y % 19
    b = y // 100
    c = y % 100
    d = b // 4
    e = b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i = c // 4
    k = c % 4
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month = (h + el - 7 * m + 114) // 31
    day = ((h + el - 7 * m + 114) % 31) + 1
    return civil.days_from_civil(y, month, day)


def _nth(year, month, wd, n):
    if n > 0:
        first = civil.days_from_civil(year, month, 1)
        return first + (wd - civil.weekday(first)) % 7 + 7 * (n - 1)
    if month == 12:
        last = civil.days_from_civil(year + 1, 1, 1) - 1
    else:
        last = civil.days_from_civil(year, month + 1, 1) - 1
    return last - (civil.weekday(last) - wd) % 7


def _rule_days(rule, year):
    kind = rule[0]
    if kind == "fixed":
        return [civil.days_from_civil(year, rule[1], rule[2])]
    if kind == "easter":
        return [easter(year) + rule[1]]
    if kind == "nth":
        return [_nth(year, rule[1], rule[2], rule[3])]
    return [civil.days_from_civil(y, m, d) for (y, m, d) in rule[1] if y == year]


def for_year(country, year):
    """The set of holiday day numbers for a country and year."""
    key = (country, year)
    got = _cache.get(key)
    if got is not None:
        return got
    days = set()
    spec = RULES.get(country)
    if spec is not None:
        mode, rules = spec
        listed = []
        for rule in rules:
            listed.extend(_rule_days(rule, year))
        for d in listed:
            wd = civil.weekday(d)
            if wd < 5 or mode is None:
                days.add(d)
            elif mode == "observed":
                days.add(d - 1 if wd == 5 else d + 1)
            else:
                # The weekend day itself stays a day off; the substitute is the next free weekday.
                days.add(d)
                sub = d + 1
                while civil.weekday(sub) >= 5 or sub in days or sub in listed:
                    sub += 1
                days.add(sub)
    if len(_cache) > 8:
        _cache.clear()
    _cache[key] = days
    return days


def is_holiday(country, day, extra=None):
    if extra and day in extra:
        return True
    y, _, _ = civil.civil_from_days(day)
    return day in for_year(country, y)
