# Time zones as transition tables, so the model needs no tz database (the Pico has none).
#
# A zone is a list of [utc_minute, offset_minutes] pairs, sorted, the first covering all time
# before it. CPython builds the table from zoneinfo (core.tzdb); the Pico gets it in its
# rendered config. Reading days are local days; intervals are labelled by their END.

from core import civil


class Zone:
    def __init__(self, name, transitions):
        self.name = name
        self.starts = []
        self.offsets = []
        for t in transitions:  # a loop, not two comprehensions: less code held on a Pico
            self.starts.append(t[0])
            self.offsets.append(t[1])

    @staticmethod
    def from_columns(name, starts, offsets):
        """A Zone from its two columns: a Pico W's config keeps them as two flat lists, as a
        list of pairs costs several times the heap."""
        zone = Zone(name, ())
        zone.starts = starts
        zone.offsets = offsets
        return zone

    def index_at(self, utc_min):
        """Index of the table entry in effect at a UTC minute."""
        starts = self.starts
        lo = 0
        hi = len(starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) >> 1
            if starts[mid] <= utc_min:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def offset_at(self, utc_min):
        """UTC offset in minutes in effect at a UTC minute (the new offset at a transition)."""
        return self.offsets[self.index_at(utc_min)]

    def local_minute(self, utc_min):
        return utc_min + self.offset_at(utc_min)

    def day_start(self, day):
        """The UTC minute at which local day `day` begins (its first instant)."""
        local = day * 1440
        best = None
        for probe in (local - 1440, local + 1440):
            off = self.offset_at(probe)
            u = local - off
            if self.offset_at(u) == off and (best is None or u < best):
                best = u
        if best is not None:
            return best
        # Local midnight falls in a gap (a zone that springs forward at midnight): the day
        # starts at the transition itself.
        u = local - self.offset_at(local + 1440)
        starts = self.starts
        i = 0
        while i < len(starts) and starts[i] <= u:
            i += 1
        return starts[i]

    def day_of(self, utc_min):
        """The local day an instant belongs to."""
        return (utc_min + self.offset_at(utc_min)) // 1440

    def reading_day_of_end(self, end_utc_min):
        """The reading day of the interval that ENDS at this minute (midnight belongs before)."""
        return self.day_of(end_utc_min - 1)


def format_offset(off):
    if off < 0:
        sign = "-"
        off = -off
    else:
        sign = "+"
    return "%s%02d:%02d" % (sign, off // 60, off % 60)


def format_local(utc_min, off):
    """ISO 8601 with offset, to the minute: 2023-05-26T00:05:00+12:00."""
    local = utc_min + off
    day = local // 1440
    mod = local - day * 1440
    y, m, d = civil.civil_from_days(day)
    return "%04d-%02d-%02dT%02d:%02d:00%s" % (y, m, d, mod // 60, mod % 60, format_offset(off))


def label(zone, utc_min):
    return format_local(utc_min, zone.offset_at(utc_min))
