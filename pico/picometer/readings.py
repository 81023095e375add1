# The readings of each tick, as the Ticker writes them: FlashFS.tap passes every line appended
# to a journal here, so nothing is read back from the flash to show or chart them.
#
# After each tick, flush() hands the new intervals to the display's history (charts) and, in
# demo mode, prints them to the USB console, one line per interval, as `meter run` does on a
# Pi:
#
#   pico-1 2024-06-10T23:05+02:00  Total 412  Main 206  Sub1 124  Sub2 82 Wh

from micropython import const

from core import civil, tz

_SHOWN_PER_TICK = const(12)


class Readings:
    def __init__(self, serial, names, zone, interval, echo=False, history=None):
        self.serial = serial
        self.names = names
        self.zone = zone
        self.n = interval
        self.echo = echo
        self.history = history
        self.rows = []  # (UTC minute the interval ended, Wh per channel or None) since flush
        self.shown = 0  # intervals printed (demo mode)
        self._path = None
        self._day_start = 0

    def tap(self, path, text):
        """A line the Ticker appended to `path`, a day's journal (loadmodel/journal.py)."""
        if text.startswith("H"):
            return
        if path != self._path:
            name = path[path.rfind("/") + 1:]
            self._day_start = self.zone.day_start(civil.parse_day(name[:10]))
            self._path = path
        # Imported here: the recorder unloads the journal's reader after every tick.
        from loadmodel import journal_reader

        got = journal_reader.parse_line(text, len(self.names))
        if got is not None:
            self.rows.append((self._day_start + (got[0] + 1) * self.n, got[2]))

    def flush(self, crash):
        """Chart and print what the last tick recorded. A failure here (a full flash) is
        logged and never fails the tick."""
        rows = self.rows
        if not rows:
            return
        self.rows = []
        if self.history is not None:
            try:
                self.history.add(rows)
            except Exception as e:  # noqa: BLE001 - the charts must never stop the meter
                crash.record(e, "display")
        if self.echo:
            if len(rows) > _SHOWN_PER_TICK:
                print("%s (%d earlier intervals recorded)" % (self.serial,
                                                               len(rows) - _SHOWN_PER_TICK))
                rows = rows[-_SHOWN_PER_TICK:]
            for end, values in rows:
                print(self.line(end, values))
                self.shown += 1

    def line(self, end, values):
        label = tz.label(self.zone, end)
        when = label[:16] + label[19:]
        if values is None:
            return "%s %s  missing" % (self.serial, when)
        parts = []
        for i in range(len(values)):
            parts.append("%s %d" % (self.names[i], values[i]))
        return "%s %s  %s Wh" % (self.serial, when, "  ".join(parts))
