# MicroPython driver (tests/pico): the real program, booted as main.py boots it, running its
# own main loop (App.once, then App.idle with its watchdog feeds and display work) until its
# clock has moved on /demo.json's {"days": N} simulated days; then a line of JSON with what
# it did, and a clean exit (so that runner.find_min_heap can bisect the heap it needs).
import gc
import json
import sys

import _panel  # noqa: F401 - the display board's fakes: SPI, keys (built into a Pico)
import machine  # noqa: F401 - the fakes first, as boot.py does (built into a Pico)
import picometer
from picometer import start

with open("/demo.json") as f:
    days = json.load(f)["days"]
app = start.boot()
del start, picometer.start, sys.modules["picometer.start"]
end = app.clock.unix() + days * 86400
first = app.clock.unix()
while app.clock.unix() < end:
    if not app.once():
        app.idle()
d = app.display
print("result " + json.dumps({
    "first": first, "last": app.clock.unix(), "errors": app.crash.errors,
    "last_error": app.last_error(), "uptime_s": app.uptime_s(),
    "shown": app.readings.shown if app.readings else 0,
    "frames": d.frames if d else 0, "slowest_ms": d.slowest_ms if d else 0,
    "history": d.history.count if d else 0,
    "heap_end": gc.mem_alloc()}))
