# The meter's tick: write the intervals that ended since the last tick, seal days as they end.
#
# Shared by the CPython meter (`meter tick`) and the Pico W, so both keep the same folders and
# write the same bytes. File access goes through `fs`, an object with: exists(p),
# read_lines(p) (an iterator of text lines), append(p, text) (durable when it returns),
# truncate(p, size), write_atomic(p, writer, durable=True) (writer(out) writes the text; the
# file appears whole or not at all; durable=False may skip the fsync, for files that can be
# rebuilt), remove(p), rename(a, b), listdir(d), makedirs(d), read_text(p).
#
# Layout under the meter's folder (made by the program, never by hand):
#   data/<day>.journal   the open day, one line per interval (loadmodel/journal.py)
#   data/<day>.json      not kept: the open day's file is built from the journal when a
#                        reader asks for it (sealer.render_open), never rewritten on every tick
#   outbox/<serial>_<day>.json   sealed days waiting for delivery (never edited again)
#   held/                sealed days held back on purpose (late or duplicate delivery faults)
#   sent/, rejected/     what delivery did with them
#   state.json           the registers at the start of the next day to open

import json

from core import civil
from loadmodel import journal

FOLDERS = ("data", "outbox", "held", "sent", "rejected")


class Ticker:
    def __init__(self, model, cfg, fs, root, initial_registers=None, buffer_rows=False,
                 sensors=None):
        """model: a MeterModel; cfg: the normalised config; root: the meter's folder.

        initial_registers(day): the opening registers of the first day this meter records,
        when it has no state yet (CPython sums from commissioning; the Pico starts from its
        configured registers).
        sensors: a sensor meter's sensors (read(end, now) -> a value per measurement channel,
        loadmodel/sensors.py); by default the simulated ones, when the config has any.
        """
        self.model = model
        self.cfg = cfg
        self.fs = fs
        self.root = root
        self.serial = cfg["serial"]
        self.n = cfg["interval"]
        self.initial_registers = initial_registers
        # With memory to spare (CPython), read the journal once per day file instead of once
        # per channel; a Pico streams it from flash each time instead.
        self.buffer_rows = buffer_rows
        self.channels = [(c[0], c[1], c[3]) for c in cfg["channels"]]
        self.measures = cfg.get("sensors") or []
        self.sensors = sensors
        if self.measures and sensors is None:
            from loadmodel.sensors import Simulated

            self.sensors = Simulated(cfg)
        self.cache_open = hasattr(fs, "size")
        self.open_cache = None  # (journal path, its size, OpenDay) after a tick
        for folder in FOLDERS:
            fs.makedirs(root + "/" + folder)

    # -- paths ------------------------------------------------------------------------------

    def path(self, *parts):
        return self.root + "/" + "/".join(parts)

    def sealed_name(self, day):
        return "%s_%s.json" % (self.serial, civil.format_day(day))

    # -- state ------------------------------------------------------------------------------

    def load_state(self):
        p = self.path("state.json")
        if not self.fs.exists(p):
            return None
        try:
            st = json.loads(self.fs.read_text(p))
            return int(st["registers_day"]), [int(v) for v in st["registers"]]
        except (ValueError, KeyError, TypeError):
            return None

    def save_state(self, day, registers):
        text = json.dumps({"registers_day": day, "registers": registers})
        self.fs.write_atomic(self.path("state.json"), lambda out: out.write(text))

    def open_journal(self):
        """The open day from its journal (cutting off a torn last line), or None."""
        for name in sorted(self.fs.listdir(self.path("data"))):
            if not name.endswith(".journal"):
                continue
            p = self.path("data", name)
            # Only after a reset or a seal: the reader is loaded for it (a Pico unloads it
            # after the tick).
            from loadmodel import journal_reader

            od, good = journal_reader.replay(self.fs.read_lines(p))
            if od is None:
                self.fs.remove(p)
                continue
            self.fs.truncate(p, good)
            return od
        return None

    # -- the tick ---------------------------------------------------------------------------

    def tick(self, now, max_intervals=None, write_open=False):
        """Record every interval that ended by UTC minute `now`. Returns a summary dict.

        The journal is the open day's only record: rebuilding its day file on every tick cost
        several times the tick itself, so readers build it from the journal when they ask
        (sealer.render_open). write_open=True also writes data/<day>.json after the tick, for a
        caller that wants the file on disk; sealed days are always written.
        """
        n = self.n
        model = self.model
        limit = (now // n) * n
        summary = {"written": 0, "sealed": [], "skipped_outage": [], "released": [],
                   "open_day": None}
        self.release_held(now, summary)
        od = self.take_cached()
        if od is None:
            od = self.open_journal()
        fresh = False  # a meter's very first tick: nothing recorded, no state yet
        if od is not None:
            day = od.day
            registers = None
        else:
            st = self.load_state()
            if st is None:
                fresh = True
                day = model.zone.reading_day_of_end(limit) if limit else 0
                registers = self.initial_registers(day)
            else:
                day, registers = st
        budget = max_intervals
        while True:
            start, count = model.day_grid(day)
            if start + n > limit:
                break
            if od is None:
                if model.outage(day):
                    if start + count * n > limit:
                        break  # the meter is off today; nothing until the day is over
                    summary["skipped_outage"].append(civil.format_day(day))
                    day += 1
                    self.save_state(day, registers)
                    continue
                od = journal.OpenDay(day, n, registers)
                if fresh:
                    self.save_state(day, registers)  # remember where the meter began
                    fresh = False
                self.fs.append(self.jpath(day), journal.header(day, n, registers))
            i = od.last + 1
            while i < count and start + (i + 1) * n <= limit:
                if budget is not None:
                    if budget <= 0:
                        break
                    budget -= 1
                values, q, _ = model.recorded_interval(day, i, start, count)
                if values is not None and self.measures:
                    from loadmodel import sensors  # only a sensor meter loads it

                    sensors.record(self, day, i, start + (i + 1) * n, now)
                self.fs.append(self.jpath(day), journal.line(i, q, values))
                od.last = i
                if values is not None:
                    for c in range(len(values)):
                        od.totals[c] += values[c]
                summary["written"] += 1
                i += 1
            if od.last == count - 1:
                from loadmodel import sealer  # once a day: a Pico unloads it after the tick

                registers = sealer.seal(self, od, start)
                summary["sealed"].append(civil.format_day(day))
                day += 1
                od = None
                continue
            if write_open and summary["written"]:
                from loadmodel import sealer

                sealer.write_open(self, od, start)
            summary["open_day"] = civil.format_day(day)
            break
        if od is not None and self.cache_open:
            p = self.jpath(od.day)
            self.open_cache = (p, self.fs.size(p), od)
        return summary

    def take_cached(self):
        """The open day as the last tick left it, if its journal is still exactly as that tick
        left it (same name, same size; only the Ticker appends to it). Replaying the whole
        day's journal on every tick costs a Pico W more than computing the interval, and a
        long-running CPython ticker the same. Only with an fs that has size(p); a new process
        per tick (cron) replays once."""
        cached = self.open_cache
        self.open_cache = None  # a tick that fails half-way leaves nothing to trust
        if cached is None:
            return None
        p, size, od = cached
        try:
            if self.fs.size(p) == size:
                return od
        except OSError:
            pass
        return None

    def jpath(self, day):
        return self.path("data", civil.format_day(day) + ".journal")

    # -- once a day: loadmodel/sealer.py, loaded only for it ------------------------------
    # (sealer.seal, sealer.write_open, and for readers sealer.render_open: the open day's
    # file built from its journal)

    def place_sealed(self, day, day_end, write, force=False):
        """Put a sealed day where delivery finds it (sealer.place_sealed)."""
        from loadmodel import sealer

        return sealer.place_sealed(self, day, day_end, write, force)

    # -- faults on delivery -----------------------------------------------------------------

    def release_held(self, now, summary):
        held = self.path("held")
        for name in sorted(self.fs.listdir(held)):
            if not name.endswith(".release"):
                continue
            parts = self.fs.read_text(held + "/" + name).split()
            if len(parts) != 2:
                self.fs.remove(held + "/" + name)
                continue
            release, final = int(parts[0]), parts[1]
            src = held + "/" + name[:-8]
            if now < release or self.fs.exists(self.path("outbox", final)):
                continue
            if self.fs.exists(src):
                self.fs.rename(src, self.path("outbox", final))
                summary["released"].append(final)
            self.fs.remove(held + "/" + name)
