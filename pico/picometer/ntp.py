# One NTP request for picometer/clock.py: what Clock.sync does, in a module loaded for it and
# unloaded after it, since a meter whose time is set asks again only every few hours
# (ntp_resync_s): between requests its code holds no heap.

import time

from micropython import const

from picometer.clock import MIN_VALID

_FIRST_RETRY_MS = const(2000)
_MAX_RETRY_MS = const(300000)


def sync(clock):
    """One NTP request for `clock` (blocks at most its timeout_s, plus a DNS lookup unless
    ntp_host is an address). True when the clock was set; a failure backs off (capped)."""
    import ntptime

    ntptime.host = clock.host
    ntptime.timeout = clock.timeout_s
    try:
        ntptime.settime()
        if clock.unix() < MIN_VALID:
            raise OSError("NTP gave an implausible time: %d" % clock.unix())
    except OSError as e:
        clock.failures += 1
        clock.last_error = "ntp: %s" % (e,)
        wait = _FIRST_RETRY_MS << min(clock.failures - 1, 8)
        if clock.synced:
            wait = max(wait, 60000)  # the time we have is good; no hurry
        clock.next_ms = time.ticks_add(time.ticks_ms(), min(wait, _MAX_RETRY_MS))
        return False
    clock.synced = True
    clock.failures = 0
    clock.last_error = None
    clock.next_ms = time.ticks_add(time.ticks_ms(), clock.resync_ms)
    return True
