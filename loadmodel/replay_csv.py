# Reading a household's interval CSV for replay (loadmodel/replay.py), in the meter's zone.
#
# Two formats:
#   mercury: the export of Mercury Energy (NZ):
#            TYPE,DATE,START TIME,END TIME,USAGE,UNITS,COST,NOTES
#            Electricity usage,2022-01-01,00:00,00:29,1.65,kWh,$0.32,
#            local start and end of each interval; the interval is END - START + 1 minute.
#   plain:   timestamp,kWh (or timestamp,Wh): the timestamp is the interval's START, ISO 8601
#            local time, with or without a UTC offset (2022-04-03T02:00 or 2022-04-03T02:00+13:00);
#            the interval is the time between the first two rows.
# A local time the zone repeats (the hour after DST ends) appears twice: without an offset
# the first row is the earlier instant and the second the later (in file order); with one,
# the offset decides. Every day must be whole: 46 half hours on a 23-hour day, 50 on a 25-hour
# one. Values are exact decimals (no float): each interval's Wh is rounded so that the day's
# Wh is the day's rounded total, the remainder carried from interval to interval.
#
# Runs on CPython only in practice (the Pico reads slices), but stays integer-only and free
# of CPython-only modules like the rest of loadmodel/.

from core import civil
from loadmodel.replay import MemorySource, ReplayError

MERCURY = "mercury"
PLAIN = "plain"
FORMATS = (MERCURY, PLAIN)
_MERCURY_NEEDS = ("DATE", "START TIME", "END TIME", "USAGE", "UNITS")
_UNIT_MWH = {"KWH": 1000000, "WH": 1000}  # milli-Wh per unit
_cache = {}


class _Bad(Exception):
    def __init__(self, column, message):
        Exception.__init__(self, message)
        self.column = column
        self.message = message


def split_csv(line):
    """A CSV line's fields (double quotes may hold commas; "" is a quote)."""
    if '"' not in line:
        return line.split(",")
    out = []
    field = ""
    quoted = False
    i = 0
    while i < len(line):
        ch = line[i]
        if quoted:
            if ch == '"':
                if i + 1 < len(line) and line[i + 1] == '"':
                    field += '"'
                    i += 1
                else:
                    quoted = False
            else:
                field += ch
        elif ch == '"':
            quoted = True
        elif ch == ",":
            out.append(field)
            field = ""
        else:
            field += ch
        i += 1
    out.append(field)
    return out


def parse_date(text, column):
    t = text.strip()
    try:
        if len(t) == 10 and t[2] == "/" and t[5] == "/":
            t = t[6:10] + "-" + t[3:5] + "-" + t[0:2]  # DD/MM/YYYY, as NZ writes it
        return civil.parse_day(t)
    except (ValueError, IndexError):
        raise _Bad(column, "not a date (YYYY-MM-DD or DD/MM/YYYY): %r" % (text,))


def parse_clock(text, column):
    """'HH:MM' or 'HH:MM:SS' (seconds 00) to minutes of the day."""
    t = text.strip()
    parts = t.split(":")
    try:
        if len(parts) not in (2, 3) or len(parts[1]) != 2:
            raise ValueError
        h = int(parts[0])
        m = int(parts[1])
        s = int(parts[2]) if len(parts) == 3 else 0
    except ValueError:
        raise _Bad(column, "not a time of day (HH:MM): %r" % (text,))
    if not (0 <= h < 24 and 0 <= m < 60) or s != 0:
        raise _Bad(column, "not a whole minute of the day: %r" % (text,))
    return h * 60 + m


def parse_energy(text, per_unit, column):
    """An exact decimal in the file's unit to integer milli-Wh (rounded half up past that)."""
    t = text.strip()
    whole, _, frac = t.partition(".")
    if t.startswith("-"):
        raise _Bad(column, "energy cannot be negative: %r" % (text,))
    if not t or not (whole or frac) or not (whole + frac).isdigit():
        raise _Bad(column, "not a number: %r" % (text,))
    digits = len(frac)
    value = int(whole or "0") * per_unit
    if digits:
        scale = 1
        for _ in range(digits):
            scale *= 10
        value += (int(frac) * per_unit * 2 + scale) // (2 * scale)
    return value


def parse_offset(text, column):
    """'Z', '+HH:MM' or '+HHMM' to minutes east of UTC."""
    if text == "Z":
        return 0
    sign = 1 if text[0] == "+" else -1
    body = text[1:].replace(":", "")
    if len(body) != 4 or not body.isdigit():
        raise _Bad(column, "not a UTC offset: %r" % (text,))
    return sign * (int(body[:2]) * 60 + int(body[2:]))


def parse_timestamp(text, column):
    """ISO 8601 local time, offset optional: (day, minute of the day, offset or None)."""
    t = text.strip()
    if len(t) < 16 or t[10] not in "T ":
        raise _Bad(column, "not an ISO 8601 time (YYYY-MM-DDTHH:MM[+HH:MM]): %r" % (text,))
    day = parse_date(t[:10], column)
    rest = t[11:]
    offset = None
    for i in range(len(rest)):
        if rest[i] in "+-Z":
            offset = parse_offset(rest[i:], column)
            rest = rest[:i]
            break
    return day, parse_clock(rest, column), offset


def utc_candidates(zone, local):
    """The UTC minutes whose local time is `local` (none in a gap, two in a repeated hour)."""
    out = []
    for probe in (local - 1440, local, local + 1440):
        off = zone.offset_at(probe)
        u = local - off
        if zone.offset_at(u) == off and u not in out:
            out.append(u)
    out.sort()
    return out


class _Rows:
    """Rows as they are read: (local day, UTC start minute, milli-Wh, line number)."""

    def __init__(self, zone):
        self.zone = zone
        self.rows = []
        self.seen = {}

    def add(self, day, minute, offset, mwh, line, column):
        local = day * 1440 + minute
        if offset is not None:
            u = local - offset
            if self.zone.offset_at(u) != offset:
                raise _Bad(column, "%s is not the UTC offset of %s at that time"
                           % (_fmt_off(offset), self.zone.name))
        else:
            cands = utc_candidates(self.zone, local)
            if not cands:
                raise _Bad(column, "local time %s %02d:%02d does not exist in %s (the clocks "
                           "skip it)" % (civil.format_day(day), minute // 60, minute % 60,
                                         self.zone.name))
            k = self.seen.get(local, 0)
            if k >= len(cands):
                raise _Bad(column, "local time %s %02d:%02d appears more often than %s has it "
                           "(a duplicate row?)"
                           % (civil.format_day(day), minute // 60, minute % 60,
                              self.zone.name))
            self.seen[local] = k + 1
            u = cands[k]
        self.rows.append((day, u, mwh, line))


def _fmt_off(off):
    sign = "+" if off >= 0 else "-"
    off = abs(off)
    return "%s%02d:%02d" % (sign, off // 60, off % 60)


def _header_index(fields):
    return dict((f.strip().lstrip("\ufeff").upper(), i) for i, f in enumerate(fields))


def _read_mercury(lines, rows):
    head = None
    n = None
    for lineno, line in lines:
        fields = split_csv(line)
        if head is None:
            head = _header_index(fields)
            for need in _MERCURY_NEEDS:
                if need not in head:
                    raise ReplayError("line %d: not a Mercury export header (no %s column; "
                                      "expected TYPE,DATE,START TIME,END TIME,USAGE,UNITS,"
                                      "COST,NOTES)" % (lineno, need))
            names = [f.strip().lstrip("\ufeff").upper() for f in fields]
            continue
        try:
            if len(fields) < len(names):
                raise _Bad(len(fields) + 1, "%d fields, the header has %d"
                           % (len(fields), len(names)))
            col = head["UNITS"]
            unit = fields[col].strip().upper()
            if unit not in _UNIT_MWH:
                raise _Bad(col + 1, "unit %r (kWh or Wh)" % (fields[col],))
            if "TYPE" in head and "USAGE" not in fields[head["TYPE"]].upper():
                raise _Bad(head["TYPE"] + 1, "not a usage row: %r" % (fields[head["TYPE"]],))
            day = parse_date(fields[head["DATE"]], head["DATE"] + 1)
            start = parse_clock(fields[head["START TIME"]], head["START TIME"] + 1)
            end = parse_clock(fields[head["END TIME"]], head["END TIME"] + 1)
            length = (end - start) % 1440 + 1
            if n is None:
                n = length
            elif length != n:
                raise _Bad(head["END TIME"] + 1, "a %d-minute interval; the file's first is %d"
                           % (length, n))
            mwh = parse_energy(fields[head["USAGE"]], _UNIT_MWH[unit], head["USAGE"] + 1)
            rows.add(day, start, None, mwh, lineno, head["START TIME"] + 1)
        except _Bad as bad:
            name = names[bad.column - 1] if 0 < bad.column <= len(names) else ""
            raise ReplayError("line %d, column %d%s: %s" % (
                lineno, bad.column, " (%s)" % name if name else "", bad.message))
    return n


def _read_plain(lines, rows):
    head = None
    per_unit = None
    for lineno, line in lines:
        fields = split_csv(line)
        if head is None:
            names = [f.strip().lstrip("\ufeff").upper() for f in fields]
            if len(names) < 2 or names[0] != "TIMESTAMP" or names[1] not in _UNIT_MWH:
                raise ReplayError("line %d: the header must be timestamp,kWh (or "
                                  "timestamp,Wh)" % lineno)
            head = names
            per_unit = _UNIT_MWH[names[1]]
            continue
        try:
            if len(fields) < 2:
                raise _Bad(len(fields) + 1, "a row is timestamp,energy")
            day, minute, offset = parse_timestamp(fields[0], 1)
            mwh = parse_energy(fields[1], per_unit, 2)
            rows.add(day, minute, offset, mwh, lineno, 1)
        except _Bad as bad:
            raise ReplayError("line %d, column %d (%s): %s" % (
                lineno, bad.column, head[bad.column - 1] if bad.column <= 2 else "",
                bad.message))
    if len(rows.rows) < 2:
        return None
    return rows.rows[1][1] - rows.rows[0][1]


def parse(lines, fmt, zone):
    """A MemorySource from the file's text lines (ReplayError naming line and column)."""
    numbered = []
    lineno = 0
    for line in lines:
        lineno += 1
        line = line.rstrip("\r\n")
        if line.strip():
            numbered.append((lineno, line))
    rows = _Rows(zone)
    if fmt == MERCURY:
        n = _read_mercury(numbered, rows)
    elif fmt == PLAIN:
        n = _read_plain(numbered, rows)
    else:
        raise ReplayError("unknown format %r (mercury or plain)" % (fmt,))
    if not rows.rows:
        raise ReplayError("no intervals in the file")
    if n is None or n <= 0 or 1440 % n:
        raise ReplayError("line %d: an interval of %s minutes (it must divide a day)"
                          % (rows.rows[-1][3], n))
    return MemorySource(_days(rows.rows, n, zone))


def _days(rows, n, zone):
    by_day = {}
    for r in rows:
        by_day.setdefault(r[0], []).append(r)
    out = {}
    for day in sorted(by_day):
        got = sorted(by_day[day], key=lambda r: r[1])
        start = zone.day_start(day)
        count = (zone.day_start(day + 1) - start) // n
        have = {}
        for _, u, _, line in got:
            if u in have:
                raise ReplayError("line %d: the same interval as line %d" % (line, have[u]))
            if (u - start) % n or not start <= u < start + count * n:
                raise ReplayError("line %d: an interval at %s is not one of day %s's %d "
                                  "intervals of %d minutes in %s" % (
                                      line, _local(zone, u), civil.format_day(day), count, n,
                                      zone.name))
            have[u] = line
        if len(got) != count:
            i = 0
            while start + i * n in have:
                i += 1
            raise ReplayError("day %s: %d of its %d intervals of %d minutes in %s; the one at "
                              "%s is missing (a day must be whole)" % (
                                  civil.format_day(day), len(got), count, n, zone.name,
                                  _local(zone, start + i * n)))
        cum = 0
        done = 0
        whs = []
        for r in got:
            cum += r[2]
            rounded = (cum + 500) // 1000
            whs.append(rounded - done)
            done = rounded
        out[day] = (n, whs)
    return out


def _local(zone, u):
    off = zone.offset_at(u)
    local = u + off
    return "%s %02d:%02d%s" % (civil.format_day(local // 1440), (local % 1440) // 60,
                               local % 60, _fmt_off(off))


def load(path, fmt, zone):
    """The file at `path` as a MemorySource; errors name the file, its line and column."""
    import os

    try:
        st = os.stat(path)
        key = (path, fmt, zone.name, st[8], st[6])  # mtime, size
    except OSError:
        raise ReplayError("%s: no such file" % (path,))
    if key in _cache:
        return _cache[key]
    try:
        with open(path, encoding="utf-8") as f:
            src = parse(f, fmt, zone)
    except UnicodeError:
        raise ReplayError("%s: not UTF-8 text" % (path,))
    except ReplayError as exc:
        raise ReplayError("%s: %s" % (path, exc))
    _cache.clear()
    _cache[key] = src
    return src
