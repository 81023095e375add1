# The display: which screen shows when, and drawing it without holding up the meter
# (docs/pico.md, "Displays").
#
# Screens rotate every `display_s` seconds; the panel's keys step forward and back (a key's
# interrupt only notes the press; the main loop acts on it in its next idle slice, within
# 250 ms). All the work happens in the main loop's idle slices, between the meter's steps and
# watchdog feeds, in small units: one unit draws a screen into the frame buffer, the next
# push it to the panel (the OLED's whole frame, or one of the LCD's 15 bands). A key press
# abandons a frame half pushed and starts the next. Every unit is timed; the slowest is kept
# (`slowest_ms`, docs/pico.md has the figures).
#
# The screens in turn: splash (at boot only), the meter's status, the last values, bars, a
# line chart of each channel's last 288 readings (the LCD: of all channels too), the first
# channel's area chart and the board's temperature (the RP2040's own sensor).

import time

from micropython import const

from picometer.display import screens
from picometer.display.history import SLOTS, History

DRIVERS = {"oled_1_3": "sh1107", "lcd_1_14": "st7789"}
_DEBOUNCE_MS = const(200)


def onboard_tenths():
    """The RP2040's temperature sensor (ADC 4) in tenths of a degree C, converted exactly as
    the sensor meter records it (loadmodel.sensors), so the screen and the day file agree."""
    from machine import ADC

    from loadmodel.sensors import onboard_c10

    return onboard_c10(ADC(4).read_u16())


def device(name):
    """The panel's driver, set up: its frame buffers are the display's big allocations, so
    the App makes it first, while the heap is emptiest (before the load model)."""
    return __import__("picometer.display." + DRIVERS[name], None, None, ("Device",)).Device()


class Display:
    def __init__(self, dev, serial, version, names, zone, interval, status, period_s=5):
        self.dev = dev
        self.serial = serial
        self.version = version
        self.names = names
        self.zone = zone
        self.n = interval
        self.status = status  # () -> a line about the meter's state
        self.history = History(names, interval)
        self.buf = bytearray(SLOTS * 2)  # one channel's readings, for a chart
        self.period_ms = period_s * 1000
        self.k = -1  # the screen in the rotation; the splash comes first
        self.work = self._frame("splash")
        self.next_ms = time.ticks_add(time.ticks_ms(), self.period_ms)
        self.frames = 0
        self.slowest_ms = 0
        self.pressed = 0
        self._press_ms = time.ticks_ms()
        from machine import Pin

        self._keys = []
        for gpio, step in dev.BUTTONS:
            pin = Pin(gpio, Pin.IN, Pin.PULL_UP)
            pin.irq(lambda _p, s=step: self._press(s), Pin.IRQ_FALLING)
            self._keys.append(pin)

    def _press(self, step):
        now = time.ticks_ms()
        if time.ticks_diff(now, self._press_ms) >= _DEBOUNCE_MS:
            self._press_ms = now
            self.pressed = step

    def rotation(self):
        out = ["status", "values", "bars"]
        if self.dev.colour and len(self.names) > 1:
            out.append("all")
        for c in range(len(self.names)):
            out.append("chart%d" % c)
        out.append("area")
        out.append("temperature")
        return out

    def poll(self):
        """One unit of the display's work (called from the main loop's idle slices)."""
        now = time.ticks_ms()
        step = self.pressed
        if step or time.ticks_diff(now, self.next_ms) >= 0:
            self.pressed = 0
            names = self.rotation()
            self.k = (self.k + (step or 1)) % len(names)
            self.work = self._frame(names[self.k])
            self.next_ms = time.ticks_add(now, self.period_ms)
        if self.work is None:
            return
        try:
            next(self.work)
        except StopIteration:
            self.work = None
            self.frames += 1
        took = time.ticks_diff(time.ticks_ms(), now)
        if took > self.slowest_ms:
            self.slowest_ms = took

    def _frame(self, name):
        self.shown = name
        self.draw(name)
        yield
        yield from self.dev.push()

    def when(self):
        """The local time the newest reading ended, HH:MM."""
        m = self.zone.local_minute(self.history.last) % 1440
        return "%02d:%02d" % (m // 60, m % 60)

    def draw(self, name):
        c = self.dev.canvas
        h = self.history
        if name == "splash":
            screens.splash(c, "Meters", self.serial, "v" + self.version)
        elif name == "status":
            screens.message(c, self.serial, self.status())
        elif name == "temperature":
            screens.temperature(c, "board", onboard_tenths())
        elif not h.count:
            screens.message(c, "Readings", "none yet: the first comes at the end of the "
                            "first interval")
        elif name == "values":
            screens.values(c, self.when(), self.names, h.latest(), "Wh/%dm" % self.n)
        elif name == "bars":
            screens.bars(c, self.when(), self.names, h.latest())
        elif name == "all":
            series = []
            for i in range(len(self.names)):
                buf = bytearray(SLOTS * 2)
                series.append((buf, h.read(i, buf), c.pens.channel(i)))
            screens.chart(c, "All " + self.span(), series, SLOTS)
        elif name == "area":
            screens.chart(c, self.names[0] + " " + self.span(),
                          [(self.buf, h.read(0, self.buf), c.pens.accent)], SLOTS, area=True)
        else:
            i = int(name[5:])
            screens.chart(c, self.names[i] + " " + self.span(),
                          [(self.buf, h.read(i, self.buf), c.pens.channel(i))], SLOTS)

    def span(self):
        """What the charts cover: 288 intervals, 24h at 5 minutes."""
        return "%dh" % (SLOTS * self.n // 60)
