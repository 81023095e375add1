# Wall time from NTP, and nothing before it: no valid time, no readings.
#
# The RP2040's clock starts at 2021-01-01 (older firmware: 2000-01-01) on every reset, so a
# reading stamped before NTP answers would be a reading in the wrong year. The clock counts as
# valid only after an NTP answer in this boot that is itself plausible (not before
# MIN_VALID). Requests are retried with a capped backoff; once set, the time is refreshed
# every few hours (the RTC drifts a little), and a failed refresh keeps the current time.
#
# MicroPython ports differ in their epoch (1970 on current rp2 firmware, 2000 on older ones and
# some other ports): `gmtime(0)` tells, and unix() always returns seconds since 1970.

import time

from micropython import const

MIN_VALID = const(1704067200)  # 2024-01-01T00:00:00Z
_EPOCH_2000 = const(946684800)


def epoch_offset():
    return 0 if time.gmtime(0)[0] == 1970 else _EPOCH_2000


class Clock:
    """The wall clock. Built by picometer/build.py (build.clock): host, timeout_s and
    resync_ms (the NTP server, its timeout, how often to ask again), offset (epoch_offset()),
    synced, failures, next_ms (when the next request is due), last_error."""

    scale = 1  # simulated seconds per real second (demo mode's clock, in show.py, may run faster)

    def unix(self):
        return time.time() + self.offset

    def valid(self):
        return self.synced and self.unix() >= MIN_VALID

    def due(self):
        return time.ticks_diff(time.ticks_ms(), self.next_ms) >= 0

    def sync(self):
        """One NTP request: picometer/ntp.py, loaded for it (every few hours once the time is
        set) and unloaded after it. True when the clock was set."""
        from picometer import forget, ntp

        try:
            return ntp.sync(self)
        finally:
            forget("picometer.ntp")

    def minute(self):
        """The current UTC minute since 1970 (the Ticker's clock)."""
        return self.unix() // 60

    def iso(self, unix=None):
        """ISO 8601 in UTC with its offset, e.g. 2024-06-10T21:05:09+00:00."""
        t = time.gmtime((self.unix() if unix is None else unix) - self.offset)
        return "%04d-%02d-%02dT%02d:%02d:%02d+00:00" % (t[0], t[1], t[2], t[3], t[4], t[5])
