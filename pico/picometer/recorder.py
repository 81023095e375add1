# The meter itself: the shared load model and Ticker (loadmodel/, the very code the Pi runs,
# copied to /loadmodel/ and /core/ on the flash) writing to the flash through FlashFS.
#
# Memory (docs/pico.md has the figures): the model is built once, its zone table from two flat
# lists; the Ticker streams each day file from the journal on flash, so no day is ever held in
# memory, and keeps the open day (a few numbers) between ticks instead of replaying it. The
# modules the household reads only to plan a day (weather, sun, holidays) are unloaded after
# every tick: a day is planned once, and the next plan loads them again from the flash.
#
# Time: tick(minute) records at most `max_intervals` intervals per call, so a catch-up after
# hours or days without power proceeds a slice per main-loop pass, between watchdog feeds.

import gc

from micropython import const

from picometer import forget

REGISTERS = "/registers.txt"
_TICKER_KEYS = ("serial", "interval", "channels", "timezone", "generator_json", "metadata_json")
_ENOSPC = const(28)


class Recorder:
    def __init__(self, cfg, tz_columns, fs, root="", max_intervals=12, write_open=False,
                 feed=None):
        from core.tz import Zone

        zone = Zone.from_columns(cfg["timezone"], tz_columns[0], tz_columns[1])
        from loadmodel.engine import MeterModel

        self.model = MeterModel(cfg, zone)
        gc.collect()
        if feed:
            feed()
        from loadmodel.ticker import Ticker

        self.cfg = cfg
        self.fs = fs
        self.root = root
        self.n = cfg["interval"]
        self.fallback = cfg["initial_registers_wh"]
        # buffer_rows=False: each day file streams from the journal on flash, once per channel
        # (with tz.labeller that is as fast as buffering, and holds no day in memory).
        sensors = None
        if cfg.get("sensors"):
            from picometer.sensors import Sensors  # only a sensor meter holds it in its heap

            sensors = Sensors(cfg)
        self.ticker = Ticker(self.model, cfg, fs, root, self.opening, buffer_rows=False,
                             sensors=sensors)
        # Not on a sensor meter: its sensors (loadmodel/sensors.py) hold the weather's and the
        # fixed-point code for good, and an unloaded module would be loaded twice.
        # The sealer and the day-file writer are needed only to seal a day (the Ticker
        # imports them there), the household's setup only to build it.
        names = ["loadmodel.sealer", "core.dayfile_writer", "loadmodel.household_setup"]
        plan_only = getattr(self.model.load, "plan_only_modules", None)
        if plan_only is not None and sensors is None:
            names.extend(plan_only())
            if "loadmodel.sun" in names and "loadmodel.climate" in names:
                names.append("loadmodel.fixed")  # only they import it
        self.unload = tuple(names)
        forget(*self.unload)
        # The model has read what it needs; the Ticker keeps reading only these few keys.
        for key in list(cfg):
            if key not in _TICKER_KEYS:
                del cfg[key]
        self.max_intervals = max_intervals
        self.write_open = write_open
        self.pending = True  # work may be left from before the reset: tick at once
        self.done = None  # the UTC minute up to which every interval is accounted for
        self.fails = 0
        for folder in ("", "/data", "/outbox", "/held", "/sent", "/rejected"):
            fs.clean_tmp(root + folder if root + folder else "/")

    def opening(self, day):
        """Opening registers (Wh) of `day` for a meter with no state yet: from the table the
        deploy rendered with the vectorised engine (meter/pico_config.py), so they are the
        registers the Pi meter would have; past its end, its last row."""
        best = None
        try:
            for line in self.fs.read_lines(REGISTERS):
                parts = line.split()
                if not parts or parts[0].startswith("#"):
                    continue
                d = int(parts[0])
                if d > day and best is not None:
                    break
                best = [int(v) for v in parts[1:]]
                if d >= day:
                    break
        except (OSError, ValueError):
            best = None
        if best is None or len(best) != len(self.fallback):
            return list(self.fallback)
        return best

    def due(self, minute):
        if self.pending:
            return True
        return self.done is None or (minute // self.n) * self.n > self.done

    def tick(self, minute):
        """Record what ended by UTC minute `minute` (at most max_intervals intervals)."""
        try:
            s = self.ticker.tick(minute, max_intervals=self.max_intervals,
                                 write_open=self.write_open)
        finally:
            forget(*self.unload)
        self.fails = 0
        self.pending = s["written"] >= self.max_intervals
        if not self.pending:
            self.done = (minute // self.n) * self.n
        return s

    def last_tick(self):
        """The end of the last interval accounted for, ISO 8601 with its offset."""
        if self.done is None:
            return None
        from core import tz

        return tz.label(self.model.zone, self.done)

    # -- recovery ---------------------------------------------------------------------------

    def failed(self, exc, outbox, log):
        """After a failed tick: make room on a full flash; set aside files that fail the same
        way twice in a row (a corrupt journal or release note). Nothing sealed is deleted: a
        journal is rebuilt from state.json by the model (a pure function of time), and a held
        day goes to the outbox at once."""
        self.pending = True
        self.fails += 1
        if isinstance(exc, OSError) and exc.args and exc.args[0] == _ENOSPC:
            freed = outbox.prune("sent", 0) + outbox.prune("rejected", 1)
            log.note("flash full: removed %d delivered or rejected day files" % freed)
            return
        if isinstance(exc, ValueError) and self.fails >= 2:
            from picometer import recover  # rarely needed: not kept in the heap

            recover.set_aside(self.fs, self.root, log)
            self.fails = 0
