"""Fake `time`: the built-in unix-port `time`, reshaped to behave like the RP2040's.

Why it exists: the unix port reads the host clock, which no test can set, and its sleeps
are real. On a Pico the clock is the RTC (2021-01-01 at power-on, set by ntptime), and a
month of 5-minute ticks must run in seconds here. The Pico program simply uses `time`.

Differences from the unix port, all towards the RP2040:
- time() returns an int (the unix port returns a float);
- gmtime()/localtime() return 8-tuples, and localtime() is UTC (a Pico has no time zone);
- before anything sets the clock, time() counts from 2021-01-01 00:00:00 UTC.

Control knobs (control.json, section "clock"):
- "fast": true  sleeps do not wait: they move the fake clock forward instead (ticks_ms(),
  time() and the watchdog all follow it). Real blocking (sockets) still takes real time.
- "world": epoch  the true UTC time at boot, the one NTP will serve (default: the host's);
  e.g. the eve of a DST change.
The watchdog and machine.Timer callbacks are served inside sleeps, at their fake due time.
"""

import _harness as _h

_rt = _h.rt
for _n in dir(_rt):
    if not _n.startswith("_"):
        globals()[_n] = getattr(_rt, _n)
del _n

ticks_ms = _h.ticks_ms


def ticks_us():
    return _rt.ticks_add(_rt.ticks_us(), _h.ticks_step(_h.skip_ms * 1000))


def time():
    return _h.wall_ns() // 1000000000


def time_ns():
    return _h.wall_ns()


def gmtime(secs=None):
    if secs is None:
        secs = time()
    return _rt.gmtime(secs)[:8]


localtime = gmtime


def sleep_ms(ms):
    if ms < 0:
        raise ValueError("sleep length must be non-negative")
    end = _rt.ticks_add(ticks_ms(), int(ms))
    while True:
        _h.poll()
        now = ticks_ms()
        left = _rt.ticks_diff(end, now)
        if left <= 0:
            return
        step = _rt.ticks_diff(_h.next_due(end), now) + 1
        if step > left:
            step = left
        elif step < 1:
            step = 1
        if _h.fast():
            _h.skip_ms += step
        else:
            _rt.sleep_ms(step)


def sleep(s):
    sleep_ms(int(s * 1000))


def sleep_us(us):
    if us >= 1000:
        sleep_ms(us // 1000)
        us %= 1000
    _rt.sleep_us(us)
