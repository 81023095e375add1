# MicroPython driver (tests/pico/test_display.py): every screen of one panel, drawn by the
# real display code (picometer/display/) from a history the test gives in /screens.json, each
# dumped as its raw frame buffer (and palette) into /out/ and pushed through the panel's
# driver to the fake SPI bus, whose log the test decodes. Prints one line of JSON per screen:
# its name, the spi.log offsets of its push, and how long drawing and pushing took.
import gc
import json
import os
import time

import _panel  # noqa: F401 - the display board's fakes: machine.SPI (built into a Pico)
import machine  # noqa: F401 - the fakes first, as boot.py does (built into a Pico)
from picometer.display import panel, screens

from core.tz import Zone

with open("/screens.json") as f:
    spec = json.load(f)
zone = Zone.from_columns("Test", [0], [spec["offset_min"]])
d = panel.Display(panel.device(spec["panel"]), spec["serial"], spec["version"], spec["names"], zone,
                  spec["interval"], lambda: spec["status"], spec["display_s"])
try:  # noqa: SIM105 - MicroPython has no contextlib
    os.mkdir("/out")
except OSError:
    pass


def spi_size():
    try:
        return os.stat("/.harness/state/spi.log")[6]
    except OSError:
        return 0


def dump(name):
    with open("/out/" + name + ".raw", "wb") as f:
        f.write(d.dev.frame)
    if hasattr(d.dev, "palette"):
        pal = bytearray(32)
        for i in range(16):
            v = d.dev.palette.pixel(i, 0)
            pal[2 * i] = v & 0xFF
            pal[2 * i + 1] = v >> 8
        with open("/out/" + name + ".pal", "wb") as f:
            f.write(pal)


def shoot(name, draw):
    gc.collect()
    t0 = time.ticks_us()
    draw()
    t1 = time.ticks_us()
    dump(name)
    before = spi_size()
    t2 = time.ticks_us()
    units = 0
    for _ in d.dev.push():
        units += 1
    t3 = time.ticks_us()
    print("shot " + json.dumps({"name": name, "spi": [before, spi_size()],
                                "draw_us": time.ticks_diff(t1, t0),
                                "push_us": time.ticks_diff(t3, t2), "units": units}))


c = d.dev.canvas
shoot("empty", lambda: d.draw("values"))  # no readings yet
d.history.add([(m, v) for m, v in spec["rows"]])
for name in d.rotation():
    shoot(name, lambda name=name: d.draw(name))
shoot("splash", lambda: d.draw("splash"))
for label, tenths in spec["temperatures"]:
    shoot("temperature-" + label, lambda t=tenths: screens.temperature(c, "board", t))
gc.collect()
print("heap " + json.dumps({"alloc": gc.mem_alloc(), "history": d.history.count}))
