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


from picometer import forget


class Recorder:
    def __init__(self, cfg, tz_columns, fs, root="", max_intervals=12, write_open=False,
                 feed=None):
        # Once per boot: picometer/build.py, which the App unloads once it is built.
        from picometer import build

        build.recorder(self, cfg, tz_columns, fs, root, max_intervals, write_open, feed)

    def opening(self, day):
        """Opening registers (Wh) of `day` for a meter with no state yet (build.opening: once
        in a meter's life, so loaded for it and unloaded after the tick)."""
        from picometer import build

        return build.opening(self, day)

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
        way twice in a row (a corrupt journal or release note): picometer/recover.py, loaded
        for it. Nothing sealed is deleted."""
        self.pending = True
        self.fails += 1
        if isinstance(exc, (OSError, ValueError)):
            from picometer import recover  # rarely needed: not kept in the heap

            try:
                recover.after_failed_tick(self, exc, outbox, log)
            finally:
                forget("picometer.recover")
