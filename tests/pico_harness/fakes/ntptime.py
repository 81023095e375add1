"""Fake `ntptime` (frozen into the Pico W firmware): sets the fake clock from the host's.

settime() sets the RTC, hence time.time(), to the world's UTC time (the host's, or
control clock.world, plus fast-forwarded sleeps; plus "offset_s");
time() returns that many seconds since 1970 without setting anything. Both need a connected
fake WLAN, like the real one that asks an NTP server over UDP. `host` and `timeout` exist
as module attributes, as in micropython-lib.

Control knobs (control.json, section "ntp"):
- "up": true      false: every request times out (OSError ETIMEDOUT).
- "fail": 0       the next N requests time out (counted afresh when the file changes).
- "delay_ms": 0   fake milliseconds each request takes (a failed one takes `timeout` s).
- "offset_s": 0   error added to the time served (to test clock drift handling).
Events: "ntp-ok <epoch>", "ntp-fail <why>"; a successful settime() also logs "clock-set".
"""

import _harness as _h

host = "pool.ntp.org"
timeout = 1
_ETIMEDOUT = 110


def _wait(ms):
    import time

    time.sleep_ms(ms)


def time():
    if not _h.link_up():
        _h.event("ntp-fail", "no-link")
        raise OSError(_ETIMEDOUT)
    if not _h.knob("ntp", "up", True) or _h.take_failure("ntp"):
        _wait(timeout * 1000)
        _h.event("ntp-fail", "timeout")
        raise OSError(_ETIMEDOUT)
    _wait(_h.knob("ntp", "delay_ms", 0))
    t = _h.world_ns() // 1000000000 + _h.knob("ntp", "offset_s", 0)
    _h.event("ntp-ok", str(t))
    return t


def settime():
    _h.set_wall(time())
