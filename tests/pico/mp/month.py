# MicroPython driver (tests/pico): the real program, booted as main.py boots it, run pass by
# pass through the main loop (App.once) for the days in /month.json ({"days": N}).
#
# Between passes the real loop idles until the next interval ends, in slices of at most 4 s,
# feeding the watchdog after each (test_faults runs that loop as it is). Here the fake clock
# jumps to the next interval end in one sleep instead, with the watchdog paused for the jump,
# so that a month of 5-minute intervals takes seconds rather than 650,000 feeds. Every step of
# every pass still runs under the real watchdog.
#
# The live heap is sampled at the loop's fixed point (App.once ends with gc.collect()), once a
# pass, instead of at every feed by the harness (control heap.sample false): the same figure,
# the heap at its emptiest point of each pass, for a third of the collections. The transient
# peak within a step is what the heap cap itself bounds.
#
# heap_base is the live heap just before the program is imported, in this same run: the
# interpreter's own, the harness's boot code, this driver and the fakes (built into a Pico).
# heap_peak - heap_base is the program's; the fakes' overhead measured in a separate run
# (runner.fakes_overhead) leaves the harness's boot code and this driver in the figure.
import gc
import json
import socket  # noqa: F401
import sys
import time

import _harness  # the fakes' shared state: only to pause the fake watchdog for the jump
import machine  # noqa: F401 - the fakes first, as boot.py does (built into a Pico)
import network  # noqa: F401
import ntptime  # noqa: F401

with open("/month.json") as f:
    days = json.load(f)["days"]
gc.collect()
base = gc.mem_alloc()
import picometer  # noqa: E402
from picometer import start  # noqa: E402

app = start.boot()
# As main.py does: the boot code is unloaded once the App is built.
del start, picometer.start, sys.modules["picometer.start"]
n_s = app.recorder.n * 60
end = None
passes = 0
peak = 0
while True:
    busy = app.once()
    passes += 1
    live = gc.mem_alloc()
    if live > peak:
        peak = live
    valid = app.clock.valid()
    if valid and end is None:
        end = app.clock.unix() + days * 86400
    if valid and app.clock.unix() >= end and not busy and not app.outbox.backlog():
        break
    if busy:
        continue
    jump = (n_s - app.clock.unix() % n_s + 2) * 1000 if valid else 1000
    _harness.wdt_deadline = None
    time.sleep_ms(jump)
    app.feed()
print("result " + json.dumps({
    "passes": passes, "sent": app.outbox.sent, "rejected": app.outbox.rejected,
    "heartbeats": app.heartbeat.sent, "uptime_s": app.uptime_s(), "errors": app.crash.errors,
    "last_error": app.last_error(), "last_tick": app.last_tick, "heap_peak": peak,
    "heap_base": base,
    "heap_end": gc.mem_alloc(), "free_end": gc.mem_free()}))
