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
_FIRST_RETRY_MS = const(2000)
_MAX_RETRY_MS = const(300000)
_EPOCH_2000 = const(946684800)


def epoch_offset():
    return 0 if time.gmtime(0)[0] == 1970 else _EPOCH_2000


class Clock:
    scale = 1  # simulated seconds per real second (demo mode's clock, in show.py, may run faster)

    def __init__(self, host="pool.ntp.org", timeout_s=1, resync_s=21600):
        self.host = host
        self.timeout_s = timeout_s
        self.resync_ms = resync_s * 1000
        self.offset = epoch_offset()
        self.synced = False
        self.failures = 0
        self.next_ms = time.ticks_ms()  # when the next request is due
        self.last_error = None

    def unix(self):
        return time.time() + self.offset

    def valid(self):
        return self.synced and self.unix() >= MIN_VALID

    def due(self):
        return time.ticks_diff(time.ticks_ms(), self.next_ms) >= 0

    def sync(self):
        """One NTP request (blocks at most timeout_s, plus a DNS lookup unless ntp_host is an
        address). True when the clock was set."""
        import ntptime

        ntptime.host = self.host
        ntptime.timeout = self.timeout_s
        try:
            ntptime.settime()
            if self.unix() < MIN_VALID:
                raise OSError("NTP gave an implausible time: %d" % self.unix())
        except OSError as e:
            self.failures += 1
            self.last_error = "ntp: %s" % (e,)
            wait = _FIRST_RETRY_MS << min(self.failures - 1, 8)
            if self.synced:
                wait = max(wait, 60000)  # the time we have is good; no hurry
            self.next_ms = time.ticks_add(time.ticks_ms(), min(wait, _MAX_RETRY_MS))
            return False
        self.synced = True
        self.failures = 0
        self.last_error = None
        self.next_ms = time.ticks_add(time.ticks_ms(), self.resync_ms)
        return True

    def minute(self):
        """The current UTC minute since 1970 (the Ticker's clock)."""
        return self.unix() // 60

    def iso(self, unix=None):
        """ISO 8601 in UTC with its offset, e.g. 2024-06-10T21:05:09+00:00."""
        t = time.gmtime((self.unix() if unix is None else unix) - self.offset)
        return "%04d-%02d-%02dT%02d:%02d:%02d+00:00" % (t[0], t[1], t[2], t[3], t[4], t[5])
