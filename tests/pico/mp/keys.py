# MicroPython driver (tests/pico/test_display.py): the display's rotation in real time, as
# the main loop's idle slices drive it (a unit of work after every 250 ms slice), for
# /keys.json's {"panel", "display_s", "run_ms"}. Prints "frame <screen> <ms since start>"
# each time a frame has gone out, so the test can press the panel's keys (the fake pins'
# levels) and see what follows, and when.
import json
import time

import _panel  # noqa: F401 - the display board's fakes: SPI, keys (built into a Pico)
import machine  # noqa: F401 - the fakes first, as boot.py does (built into a Pico)
from picometer.display import panel

from core.tz import Zone

with open("/keys.json") as f:
    spec = json.load(f)
d = panel.Display(panel.device(spec["panel"]), "pico-1", "1.0.0", ["Total", "Main"],
                  Zone.from_columns("UTC", [0], [0]), 5, lambda: "all well", spec["display_s"])
t0 = time.ticks_ms()
frames = 0
while time.ticks_diff(time.ticks_ms(), t0) < spec["run_ms"]:
    time.sleep_ms(250)
    d.poll()
    if d.frames != frames:
        frames = d.frames
        print("frame " + d.shown + " " + str(time.ticks_diff(time.ticks_ms(), t0)))
print("slowest " + str(d.slowest_ms))
