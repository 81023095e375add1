# MicroPython driver (tests/pico): run the Pico's Recorder (the shared model and Ticker on
# FlashFS, exactly as the program builds them) over the UTC minutes listed in /ticks.json:
#   {"ticks": [[first, last, step], ...], "max_intervals": N, "time": true|false}
# Each tick is followed by a watchdog feed, where the harness samples the live heap.
# Prints "result {...}" with the tick count and the slowest and mean tick in microseconds.
import json
import time

import machine
from picometer import start
from picometer.flashfs import FlashFS
from picometer.recorder import Recorder

with open("/ticks.json") as f:
    plan = json.load(f)
cfg, tz, opts = start.load_config()
wdt = machine.WDT(timeout=8000)
rec = Recorder(cfg, tz, FlashFS(), "", plan["max_intervals"], False, wdt.feed)
del cfg, tz, opts, start
count = 0
slowest = 0
total = 0
for first, last, step in plan["ticks"]:
    minute = first
    while minute <= last:
        t0 = time.ticks_us()
        rec.tick(minute)
        while rec.pending:
            wdt.feed()
            rec.tick(minute)
        dt = time.ticks_diff(time.ticks_us(), t0)
        total += dt
        if dt > slowest:
            slowest = dt
        count += 1
        wdt.feed()
        minute += step
print("result " + json.dumps({"ticks": count, "slowest_us": slowest,
                              "mean_us": total // max(count, 1)}))
