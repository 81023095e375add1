# Reading the open day's journal back (loadmodel/journal.py has its format): after a reset,
# when a day is sealed, and for readers of the open day. A tick only appends to the journal,
# so this is a module of its own: a Pico loads it for a seal or a replay and unloads it after
# the tick.

from loadmodel.journal import OpenDay


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
