# Replay of a real home: the meter plays back a household's interval energy from a file.
#
# A source holds whole local days: for each, the source interval (minutes) and integer Wh per
# interval, in time order (a 23-hour day has fewer, a 25-hour day more). A meter day takes the
# energy of one source day (`source_day`: the same date if the file has it, else the same month
# and day of the nearest year that has it, so the meter runs forever). Within the day, energy
# is cumulative: at elapsed minute t of the meter's day, floor(energy the source had used by
# then), the source's intervals spread evenly over their minutes. An interval's Wh is the
# difference of two such points, so any interval length (5, 15, 30, 60 min) adds up exactly to
# the source day's Wh, with no float and no rounding drift. A meter day as long as its source
# day (the usual case) follows the source minute for minute; a day of another length (a DST day
# played on a plain day, years apart) is stretched evenly so its energy is still the source's.
#
# MicroPython-safe (the Pico replays from slice files, see `SliceSource`): integers only.

from core import civil

FORMAT_SLICES = "slices"
SLICE_INDEX = "days.txt"


class ReplayError(ValueError):
    """A replay source that cannot be used; the message names the file, line and column."""


def month_name(day):
    y, m, _ = civil.civil_from_days(day)
    return "%04d-%02d" % (y, m)


class MemorySource:
    """Days held in memory: {day number: (interval minutes, [Wh, ...])}."""

    def __init__(self, days):
        self.days = days
        self.ranges = ranges_of(sorted(days))

    def day(self, d):
        return self.days[d]


class SliceSource:
    """Days read from slice files (`meter replay-slice`): `days.txt` says "per month" or "per
    day" and lists the days held as ranges of day numbers ("first last" a line); each slice
    (`YYYY-MM.txt` or `YYYY-MM-DD.txt`) holds one line per day, "YYYY-MM-DD interval Wh Wh
    ...". Only the slice of the day asked for is opened, and only that day's line kept."""

    def __init__(self, folder):
        self.folder = folder
        self.per_day = False
        self.ranges = []
        with open(folder + "/" + SLICE_INDEX) as f:
            for line in f:
                parts = line.split()
                if not parts or parts[0][0] == "#":
                    continue
                if parts[0] == "per":
                    self.per_day = parts[1] == "day"
                else:
                    self.ranges.append((int(parts[0]), int(parts[1])))

    def slice_name(self, d):
        return (civil.format_day(d) if self.per_day else month_name(d)) + ".txt"

    def day(self, d):
        key = civil.format_day(d)
        name = self.slice_name(d)
        with open(self.folder + "/" + name) as f:
            for line in f:
                if line.startswith(key):
                    parts = line.split()
                    return int(parts[1]), [int(v) for v in parts[2:]]
        raise ReplayError("%s: no line for %s in %s" % (self.folder, key, name))


def slice_line(day, n, whs):
    """One day of a slice file (SliceSource reads it)."""
    return "%s %d %s\n" % (civil.format_day(day), n, " ".join([str(v) for v in whs]))


def ranges_of(days):
    """Sorted day numbers to [(first, last), ...] of consecutive runs."""
    out = []
    for d in days:
        if out and out[-1][1] == d - 1:
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def _has(ranges, d):
    for a, b in ranges:
        if a <= d <= b:
            return True
    return False


def _valid(y, m, d):
    return civil.civil_from_days(civil.days_from_civil(y, m, d)) == (y, m, d)


def source_day(ranges, day):
    """The source day a meter day plays: the same date; else the same month and day (29 Feb:
    else 28 Feb) of the nearest year that has it (the earlier of two as near); else the day
    whose place in the year is nearest (the file does not cover that time of year)."""
    if _has(ranges, day):
        return day
    y, m, d = civil.civil_from_days(day)
    years = []
    for a, b in ranges:
        for yy in range(civil.civil_from_days(a)[0], civil.civil_from_days(b)[0] + 1):
            if yy not in years:
                years.append(yy)
    years.sort(key=lambda yy: (abs(yy - y), yy))
    wanted = [(m, d)]
    if (m, d) == (2, 29):
        wanted.append((2, 28))
    for mm, dd in wanted:
        for yy in years:
            if _valid(yy, mm, dd):
                cand = civil.days_from_civil(yy, mm, dd)
                if _has(ranges, cand):
                    return cand
    target = civil.day_of_year(day)
    best = None
    best_dist = 0
    for a, b in ranges:
        for cand in range(a, b + 1):
            diff = abs(civil.day_of_year(cand) - target)
            dist = min(diff, 366 - diff)
            if best is None or dist < best_dist:
                best = cand
                best_dist = dist
    return best


class ReplayLoad:
    """The load model of a replay meter: exact Wh over any span of UTC minutes."""

    def __init__(self, cfg, zone, source=None):
        self.zone = zone
        if source is None:
            source = open_source(cfg["replay"], zone)
        self.source = source
        self.cached = None  # (meter day, its UTC start, its length, interval, prefix sums)

    def day_table(self, day):
        c = self.cached
        if c is not None and c[0] == day:
            return c
        start = self.zone.day_start(day)
        length = self.zone.day_start(day + 1) - start
        n, whs = self.source.day(source_day(self.source.ranges, day))
        prefix = [0]
        acc = 0
        for v in whs:
            acc += v
            prefix.append(acc)
        c = (day, start, length, n, prefix)
        self.cached = c
        return c

    @staticmethod
    def cumulative(length, n, prefix, t):
        """Wh used by elapsed minute t (0..length) of a meter day `length` minutes long."""
        count = len(prefix) - 1
        src_len = n * count
        x = t * src_len  # the source minute t maps to, times `length`
        k = x // (n * length)
        if k >= count:
            return prefix[count]
        return prefix[k] + ((prefix[k + 1] - prefix[k]) * (x - k * n * length)) // (n * length)

    def energy(self, start, end):
        """Wh over UTC minutes [start, end)."""
        total = 0
        while start < end:
            day, ds, length, n, prefix = self.day_table(self.zone.day_of(start))
            stop = ds + length
            if stop > end:
                stop = end
            total += (self.cumulative(length, n, prefix, stop - ds)
                      - self.cumulative(length, n, prefix, start - ds))
            start = stop
        return total

    def minute(self, day, m):
        # Only for an engine that walks local minutes; MeterModel asks `energy` instead.
        raise ReplayError("a replay meter's energy is taken by UTC span (ReplayLoad.energy)")


def open_source(spec, zone):
    """The source a config's `replay` names: {"path", "format"} (mercury, plain or slices)."""
    if spec["format"] == FORMAT_SLICES:
        return SliceSource(spec["path"])
    from loadmodel import replay_csv

    return replay_csv.load(spec["path"], spec["format"], zone)
