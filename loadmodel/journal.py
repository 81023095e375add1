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


def parse_header(text):
    parts = text.split()
    if len(parts) < 4 or parts[0] != "H":
        raise ValueError("not a journal header")
    n = int(parts[3])
    opening = [int(x) for x in parts[4:4 + n]]
    if len(opening) != n:
        raise ValueError("journal header has %d registers, expected %d" % (len(opening), n))
    return OpenDay(int(parts[1]), int(parts[2]), opening)


def parse_line(text, n):
    """(i, quality, values) or None for a torn or garbled line."""
    parts = text.split()
    if len(parts) < 2:
        return None
    try:
        i = int(parts[0])
    except ValueError:
        return None
    if parts[1] == "M" and len(parts) == 2:
        return i, "missing", None
    if parts[1] not in ("A", "E") or len(parts) != 2 + n:
        return None
    try:
        values = [int(x) for x in parts[2:]]
    except ValueError:
        return None
    return i, ("estimated" if parts[1] == "E" else None), values


def replay(lines):
    """An OpenDay from the journal's lines (an iterator of text lines, each ending in \\n).

    A line without its newline was torn by a crash and is ignored, as is anything out of order.
    Returns (open_day, good_bytes) so the caller can cut a torn tail off the file.
    """
    od = None
    good = 0
    for text in lines:
        if not text.endswith("\n"):
            break
        if od is None:
            od = parse_header(text)
            good += len(text)
            continue
        rec = parse_line(text, len(od.opening))
        if rec is None or rec[0] != od.last + 1:
            break
        i, q, values = rec
        od.last = i
        if values is not None:
            for c in range(len(values)):
                od.totals[c] += values[c]
        good += len(text)
    return od, good


def records(lines, n):
    """(index, quality, values) of each interval line after the journal's header, up to the
    first line that does not parse (a torn last write)."""
    first = True
    for text in lines:
        if first:
            first = False
            continue
        rec = parse_line(text, n)
        if rec is None:
            break
        yield rec


def rows(lines, n, labels):
    """Writer rows (label, values, quality) from journal lines; `labels(i)` gives each end."""
    for i, q, values in records(lines, n):
        yield labels(i), values, q


def marked_rows(lines, n, labels):
    """(label, quality) of the intervals that are not actual, from the journal's lines: the
    quality section of a day file without formatting a label for every interval."""
    for i, q, _ in records(lines, n):
        if q is not None:
            yield labels(i), q
