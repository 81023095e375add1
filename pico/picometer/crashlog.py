# Diagnostics that outlive a reset: the crash log, why the board last reset, and which step
# was running when the watchdog had to step in. The seed's Picos "seemed to hang regularly"
# with nothing to show for it; this is what shows it.
#
# Files at the flash root (all small, all written best effort: a full flash must never turn a
# diagnostic into a second failure):
#   crash.log      every caught exception with its traceback (sys.print_exception), and each
#                  boot after a watchdog reset; capped, the older half kept as crash.log.1
#   reset.note     written just before the program resets the board on purpose (a fatal
#                  error, the deploy tool), so the next boot does not report a hang
#   hang.note      written by a one-shot timer when a step runs past HANG_MS: if the watchdog
#                  then resets the board, the next boot knows which step hung
#
# The last error is also kept in memory and rides along in every heartbeat (last_error).

import time

from micropython import const

RESET_NOTE = "/reset.note"
HANG_NOTE = "/hang.note"
_REPEAT_MS = const(600000)  # the same error again within 10 minutes is counted, not logged
HANG_MS = const(6000)  # a step still running after 6 s will starve the 8 s watchdog soon

def write_note(path, text):
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError:
        pass


class CrashLog:
    def __init__(self, clock=None):
        self.clock = clock  # for time stamps once NTP has set the time
        self.uptime = None  # the app's uptime_s (ticks_ms alone wraps and starts anywhere)
        self.last_error = None
        self.errors = 0
        self._last_text = None
        self._last_ms = 0
        self._repeats = 0

    # -- errors -----------------------------------------------------------------------------

    # The writing itself is picometer/crashfile.py, loaded when there is something to write
    # (an error, a note) and unloaded after it: a healthy meter keeps none of it in its heap.

    def record(self, exc, where):
        """Log a caught exception with its traceback; returns the one-line summary."""
        self.errors += 1
        text = "%s: %s: %s" % (where, type(exc).__name__, exc)
        if isinstance(exc, OSError) and exc.args and exc.args[0] == 28:
            text += " (ENOSPC: the flash is full)"  # some ports print the bare number
        self.last_error = text[:480]
        now = time.ticks_ms()
        if text == self._last_text and time.ticks_diff(now, self._last_ms) < _REPEAT_MS:
            self._repeats += 1
            return text
        self._last_text = text
        self._last_ms = now
        repeats, self._repeats = self._repeats, 0
        self.write("record", exc, text, repeats)
        return text

    def note(self, text):
        """A line in the crash log for something that is not an exception (e.g. a recovery)."""
        self.write("note", text)

    def write(self, what, *args):
        """crashfile.<what>(self, *args): record, note, or append (a line as it is)."""
        from picometer import forget

        try:
            from picometer import crashfile

            getattr(crashfile, what)(self, *args)
        except (OSError, MemoryError):
            pass  # no room to load it: the error still goes out in the next heartbeat
        finally:
            forget("picometer.crashfile")


class Guard:
    """A one-shot timer armed around each step of the main loop.

    If a step is still running HANG_MS later, its callback (a soft interrupt, which runs even
    while a socket call blocks on the Pico W) writes hang.note. The step may still finish;
    the note is removed when it does. If it never does, the watchdog resets the board and the
    next boot reports the step by name.

    Built by picometer/build.py (build.guard): uptime_s (the App's), timer (a one-shot
    machine.Timer), mode, step (the one running), late.
    """

    def enter(self, step):
        self.step = step
        self.timer.init(mode=self.mode, period=HANG_MS, callback=self._late)

    def leave(self):
        self.timer.deinit()
        if self.late:
            self.late = False
            import os

            try:
                os.remove(HANG_NOTE)  # the step finished after all
            except OSError:
                pass

    def _late(self, _t):
        self.late = True
        write_note(HANG_NOTE, "step '%s' still running %d ms after it started (uptime %d s)"
                   % (self.step, HANG_MS, self.uptime_s()))
