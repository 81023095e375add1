# The open day's journal: one line per interval, appended as the day goes on.
#
# It is the single record of the open day (the day file is rebuilt from it after every tick),
# so a Pico never keeps a day in memory, and a crash can cost at most a torn last line, which
# the reader drops (the interval is simply recomputed on the next tick: the model is a pure
# function of time, so the value is the same).
#
#   H <day> <interval> <channels> <opening Wh per channel...>
#   <i> A <Wh per channel...>     an actual reading
#   <i> E <Wh per channel...>     an estimated one
#   <i> M                         missing
#
# Reading it back (after a reset, to seal a day) is loadmodel/journal_reader.py: a tick only
# appends, so a Pico loads the reader only for a seal or a replay, and unloads it after the
# tick (picometer/build.py lists what it unloads).


class OpenDay:
    def __init__(self, day, interval, opening):
        self.day = day
        self.interval = interval
        self.opening = list(opening)
        self.totals = [0] * len(opening)
        self.last = -1  # index of the last interval accounted for


def header(day, interval, opening):
    parts = ["H", str(day), str(interval), str(len(opening))]
    for v in opening:
        parts.append(str(v))
    return " ".join(parts) + "\n"


def line(i, quality, values):
    if values is None:
        return "%d M\n" % i
    q = "E" if quality == "estimated" else "A"
    return "%d %s %s\n" % (i, q, " ".join([str(v) for v in values]))
