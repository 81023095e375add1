# Calendar arithmetic on day numbers (days since 1970-01-01), integers only.
# Algorithms from Howard Hinnant's "chrono-Compatible Low-Level Date Algorithms".


def days_from_civil(y, m, d):
    if m <= 2:
        y = y - 1
    era = y // 400
    yoe = y - era * 400
    if m > 2:
        mp = m - 3
    else:
        mp = m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z):
    z = z + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    if mp < 10:
        m = mp + 3
    else:
        m = mp - 9
    if m <= 2:
        y = y + 1
    return y, m, d


def weekday(day):
    """0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday)."""
    return (day + 3) % 7


def day_of_year(day):
    """0-based day of the year."""
    y, _, _ = civil_from_days(day)
    return day - days_from_civil(y, 1, 1)


def parse_day(text):
    """'YYYY-MM-DD' to a day number; ValueError if it is not a real date."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise ValueError("not a YYYY-MM-DD date: %r" % (text,))
    y = int(text[0:4])
    m = int(text[5:7])
    d = int(text[8:10])
    n = days_from_civil(y, m, d)
    if civil_from_days(n) != (y, m, d):
        raise ValueError("no such date: %r" % (text,))
    return n


def format_day(day):
    y, m, d = civil_from_days(day)
    return "%04d-%02d-%02d" % (y, m, d)
