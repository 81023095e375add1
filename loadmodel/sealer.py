# Sealing a day and rendering a day file: what the Ticker (loadmodel/ticker.py) does once a
# day, or when a reader asks for the open day's file. A module of its own so that a Pico loads
# its code only for a seal and unloads it after the tick (picometer/recorder.py), as it does the
# day-file writer: between seals it holds no heap. The Ticker keeps thin methods that import
# it; every function here takes the Ticker `t`.

from core import civil
from loadmodel import journal_reader

_DUPLICATE_AFTER_MIN = 360


def measure_rows(t, od, labels):
    """(channels, rows) of the measurements for the writer, or None for an energy meter."""
    if not t.measures:
        return None
    from loadmodel import sensors

    sp = sensors.path(t, od.day)
    n = len(t.measures)

    def rows():
        if not t.fs.exists(sp):
            return iter(())
        return sensors.rows(t.fs.read_lines(sp), n, labels, od.last)

    return t.measures, rows


def write_open(t, od, start=None):
    """Rebuild data/<day>.json from the journal. It can always be rebuilt, so it need not
    be durable: skipping its fsync makes a tick several times cheaper."""
    if start is None:
        start, _ = t.model.day_grid(od.day)
    write_day(t, od, start, "open", t.path("data", civil.format_day(od.day) + ".json"), False)


def closing(t, od):
    return [od.opening[c] + od.totals[c] for c in range(len(od.opening))]


def write_day(t, od, start, status, target, durable=True):
    t.fs.write_atomic(target, lambda out: format_day(t, out, od, start, status), durable)


def format_day(t, out, od, start, status, lines=None):
    """Write the day file of `od` to `out`. lines: the journal's lines already read (a
    reader's snapshot); by default the journal is read from `fs`."""
    cfg = t.cfg
    zone = t.model.zone
    n = t.n
    jp = t.jpath(od.day)
    nch = len(t.channels)

    # Imported here, where a day is sealed (once a day): a Pico unloads the writer
    # between seals (picometer/build.py), so its code is not in the heap all day.
    from core import dayfile_writer

    labels = dayfile_writer.labeller(zone, start, n)

    if lines is None:
        def read():
            return t.fs.read_lines(jp)
    else:
        def read():
            return iter(lines)

    def rows():
        return journal_reader.rows(read(), nch, labels)

    def marked():
        return journal_reader.marked_rows(read(), nch, labels)

    if t.buffer_rows:
        buffered = list(rows())
        marked = None

        def rows():  # noqa: F811 - the buffered variant
            return iter(buffered)

    head = (t.serial, civil.format_day(od.day), n, cfg["timezone"], status)
    close = closing(t, od)
    measures = measure_rows(t, od, labels)
    dayfile_writer.write(out, head, t.channels, od.opening, close, rows,
                         cfg["generator_json"], cfg["metadata_json"], marked, measures)


def render_open(t, out, day=None):
    """Write the open day's file (status "open") to `out`, built from its journal now.
    Returns its day number, or None when no day is open (or the open one is not `day`).

    Only reads, so it is safe beside a tick in another process: the journal is read once,
    a line still being appended (no newline yet) is left out, and a journal sealed away
    in the meantime reads as no open day."""
    try:
        names = sorted(n for n in t.fs.listdir(t.path("data")) if n.endswith(".journal"))
    except OSError:
        return None
    if day is not None:
        names = [n for n in names if n == civil.format_day(day) + ".journal"]
    for name in reversed(names):
        try:
            lines = list(t.fs.read_lines(t.path("data", name)))
        except OSError:
            continue
        od, _ = journal_reader.replay(lines)
        if od is None or od.last < 0:
            continue  # a header alone: a tick died before its first interval
        start, _ = t.model.day_grid(od.day)
        # The header and intervals 0..last: exactly what replay accounted for.
        format_day(t, out, od, start, "open", lines[:od.last + 2])
        return od.day
    return None


def seal(t, od, start):
    """Write the finished day into the outbox (or hold it back), drop the open files."""
    day_end = start + (od.last + 1) * t.n
    # Through the Ticker: a meter with quirks places its sealed day its own way (QuirkyTicker).
    t.place_sealed(od.day, day_end, lambda target: write_day(t, od, start, "sealed", target))
    registers = closing(t, od)
    # State first: if we die after it, the journal left behind is seen as sealed already.
    t.save_state(od.day + 1, registers)
    for suffix in (".journal", ".json", ".sensors"):
        p = t.path("data", civil.format_day(od.day) + suffix)
        if t.fs.exists(p):
            t.fs.remove(p)
    return registers


def place_sealed(t, day, day_end, write, force=False):
    """Put a sealed day where delivery finds it: the outbox, or `held/` when the meter's
    faults say it is delivered late (and a second copy for a duplicate delivery).
    write(target) writes the file. A day already sent is left alone unless `force`."""
    model = t.model
    name = t.sealed_name(day)
    if not force and t.fs.exists(t.path("sent", name)):
        return False
    late = 0 if force else model.late_days(day)
    # The held file first, then its release note: a crash between leaves a held file
    # that the next seal of the same day re-notes, never a note pointing at nothing.
    if late:
        write(t.path("held", name))
        hold(t, name, name, day_end + late * 1440)
    else:
        write(t.path("outbox", name))
    if not force and model.duplicate(day):
        dup = name[:-5] + ".dup.json"
        write(t.path("held", dup))
        hold(t, dup, name, day_end + late * 1440 + _DUPLICATE_AFTER_MIN)
    return True


def hold(t, held_name, final_name, release_min):
    text = "%d %s\n" % (release_min, final_name)
    t.fs.write_atomic(t.path("held", held_name + ".release"), lambda out: out.write(text))
