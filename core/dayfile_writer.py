# The day file's byte-exact writer (docs/day-file.md), shared by the CPython meter and the Pico.
#
# It streams: readings come from a callable that yields rows in time order, called once per
# channel, so a Pico never holds a whole day in memory. Keys are written in a fixed order and
# energies as integers of Wh printed with exactly three decimals, so the same day always gives
# the same bytes, and a value can never come out as 0.9309999.

from core import civil, tz

QUALITY_ESTIMATED = "estimated"
QUALITY_MISSING = "missing"


# -- labels: each interval's end, as the file writes it ----------------------------------------
# (here, not in core/tz.py, because only a day file needs them: a Pico loads this module for a
# seal and unloads it after, and core/dayfile_reader.py checks a file's labels with them)


def labeller(zone, start, n):
    """label_of(i) == label(zone, start + (i + 1) * n), for the intervals of one day.

    A day file formats every label once per channel; the date, the offset and the zone entry
    only change at local midnight and at a transition, so each is worked out once per change
    instead of once per label (a seal on a Pico W is several times faster).
    """
    # [local day, "YYYY-MM-DDT", offset, ":00+HH:MM", entry start, next entry start]
    memo = [None, "", None, "", 1, 0]
    starts = zone.starts

    def label_of(i):
        u = start + (i + 1) * n
        if not memo[4] <= u < memo[5]:
            k = zone.index_at(u)
            memo[4] = starts[k] if k else u
            memo[5] = starts[k + 1] if k + 1 < len(starts) else u + 1
            off = zone.offsets[k]
            if off != memo[2]:
                memo[2] = off
                memo[3] = ":00" + tz.format_offset(off)
        off = memo[2]
        local = u + off
        day = local // 1440
        mod = local - day * 1440
        if day != memo[0]:
            y, m, d = civil.civil_from_days(day)
            memo[0] = day
            memo[1] = "%04d-%02d-%02dT" % (y, m, d)
        return "%s%02d:%02d%s" % (memo[1], mod // 60, mod % 60, memo[3])

    return label_of


def kwh(wh):
    """Wh (int) as a kWh string with exactly 3 decimals."""
    if wh < 0:
        return "-" + kwh(-wh)
    return "%d.%03d" % (wh // 1000, wh % 1000)


def fixed(value, decimals):
    """An integer in units of 10**-decimals as text with exactly that many decimals:
    fixed(-5, 1) is "-0.5", fixed(21, 0) is "21" (a measurement, never float noise)."""
    if decimals == 0:
        return "%d" % value
    if value < 0:
        return "-" + fixed(-value, decimals)
    scale = 10 ** decimals
    frac = str(value % scale)
    return "%d.%s%s" % (value // scale, "0" * (decimals - len(frac)), frac)


def _ascii(text):
    """A JSON string's content with every non-ASCII character escaped (the unit "\u00b0C"), so
    the file's bytes are the same whatever encoding the host opens it with."""
    out = ""
    for ch in text:
        out += ch if ord(ch) < 128 else "\\u%04x" % ord(ch)
    return out


def _measurements(out, measures):
    """The measurement channels: their own unit, never in the energy registers."""
    channels, rows = measures
    out.write('"measurements": {')
    for i in range(len(channels)):
        name, unit, decimals, sensor = channels[i]
        out.write('\n"%s": {"role": "measurement", "unit": "%s", "sensor": "%s", "decimals": %d, '
                  '"values": {' % (name, _ascii(unit), sensor, decimals))
        first = True
        for label, values in rows():
            v = values[i]
            if v is None:
                continue
            if not first:
                out.write(", ")
            first = False
            out.write('"%s": %s' % (label, fixed(v, decimals)))
        out.write("}}")
        if i < len(channels) - 1:
            out.write(",")
    out.write("},\n")


def _registers(out, names, values):
    out.write("{")
    first = True
    for i in range(len(names)):
        if not first:
            out.write(", ")
        first = False
        out.write('"%s": %s' % (names[i], kwh(values[i])))
    out.write("}")


def write(out, head, channels, opening, closing, rows, generator_json, metadata_json,
          quality_rows=None, measures=None):
    """Write one day file.

    head: (serial, reading_day, interval, timezone, status)
    channels: list of (name, role, share_text or None) in file order
    opening, closing: register reads in Wh, one per channel
    rows(): iterator of (label, values, quality): values is a list of Wh ints (None where the
        interval is missing); quality is None (actual), QUALITY_ESTIMATED or QUALITY_MISSING.
    generator_json, metadata_json: already-canonical JSON text for those two objects.
    quality_rows(): optional, iterator of (label, quality) for the intervals that are not
        actual only, in time order: lets a slow writer skip formatting every label once more
        per channel (rows() is used when it is not given).
    measures: optional (channels, rows) of a sensor meter's measurement channels: channels a
        list of [name, unit, decimals, sensor]; rows() an iterator of (label, values), values
        integers in units of 10**-decimals (None: no reading). Without it, not a byte changes.
    """
    serial, reading_day, interval, timezone, status = head
    names = [c[0] for c in channels]
    out.write('{"serial": "%s", "reading_day": "%s", "interval": %d, "timezone": "%s", '
              '"status": "%s", "unit": "kWh",\n' % (serial, reading_day, interval, timezone, status))
    out.write('"channels": {')
    for i in range(len(channels)):
        name, role, share = channels[i]
        if i:
            out.write(", ")
        if share is None:
            out.write('"%s": {"role": "%s", "unit": "kWh"}' % (name, role))
        else:
            out.write('"%s": {"role": "%s", "unit": "kWh", "share": %s}' % (name, role, share))
    out.write("},\n")
    out.write('"snapshots": ')
    _registers(out, names, opening)
    out.write(',\n"closing_snapshots": ')
    _registers(out, names, closing)
    out.write(',\n"datastreams": {')
    for i in range(len(names)):
        out.write('\n"%s": {' % names[i])
        first = True
        for label, values, quality in rows():
            v = values[i] if values is not None else None
            if v is None:
                continue
            if not first:
                out.write(", ")
            first = False
            out.write('"%s": %s' % (label, kwh(v)))
        out.write("}")
        if i < len(names) - 1:
            out.write(",")
    out.write('},\n"quality": {')
    for i in range(len(names)):
        if i:
            out.write(", ")
        out.write('"%s": {' % names[i])
        first = True
        if quality_rows is None:
            marked = ((label, quality) for label, _, quality in rows())
        else:
            marked = quality_rows()
        for label, quality in marked:
            if quality is None:
                continue
            if not first:
                out.write(", ")
            first = False
            out.write('"%s": "%s"' % (label, quality))
        out.write("}")
    out.write("},\n")
    if measures is not None and measures[0]:
        _measurements(out, measures)
    out.write('"generator": %s,\n"metadata": %s}\n' % (generator_json, metadata_json))
