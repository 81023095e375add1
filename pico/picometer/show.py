# What a Pico meter shows: demo mode and the display (docs/pico.md, "Demo mode" and
# "Displays"). The App loads this module only when one of them is on, so a meter with neither
# pays no heap for it; the display's own modules (picometer/display/) are on the flash only
# when a display is chosen.
#
# Demo mode has no network, so no NTP: its clock goes on from the last interval recorded, or
# starts at the RTC's time if something set it (Thonny, `mpremote rtc --set`), else at the
# config's time_origin ("demo_start"), and runs time_scale times as fast as the board's ticks.

import time


class DemoClock:
    """The Clock's interface (picometer/clock.py) without NTP: valid from the start, at
    `start` (Unix seconds), `scale` simulated seconds per board second."""

    def __init__(self, start, scale=1):
        from picometer import clock

        self.offset = clock.epoch_offset()
        self.scale = scale
        self.synced = True
        self.last_error = None
        self._s = start
        self._ms = 0  # simulated milliseconds not yet a whole second
        self._last = time.ticks_ms()

    def unix(self):
        now = time.ticks_ms()
        self._ms += time.ticks_diff(now, self._last) * self.scale
        self._last = now
        if self._ms >= 1000:
            self._s += self._ms // 1000
            self._ms %= 1000
        return self._s

    def valid(self):
        return True

    def due(self):
        return False

    def sync(self):
        return True

    def minute(self):
        return self.unix() // 60

    def iso(self, unix=None):
        t = time.gmtime((self.unix() if unix is None else unix) - self.offset)
        return "%04d-%02d-%02dT%02d:%02d:%02d+00:00" % (t[0], t[1], t[2], t[3], t[4], t[5])


def recorded_until(recorder):
    """The UTC minute up to which the meter has recorded, from its files (None: nothing yet)."""
    t = recorder.ticker
    od = t.open_journal()
    if od is not None:
        return recorder.model.day_grid(od.day)[0] + (od.last + 1) * recorder.n
    st = t.load_state()
    if st is not None:
        return recorder.model.day_grid(st[0])[0]
    return None


def demo_clock(recorder, opts):
    from picometer import clock

    rtc = time.time() + clock.epoch_offset()
    start = rtc if rtc >= clock.MIN_VALID else opts.get("demo_start", clock.MIN_VALID)
    done = recorded_until(recorder)
    if done is not None and done * 60 > start:
        start = done * 60
    return DemoClock(start, opts.get("time_scale", 1))


def panel(name, crash):
    """The display's driver, or None (no display, or one that failed to start: logged, and the
    meter runs on without it)."""
    if not name or name == "none":
        return None
    try:
        from picometer.display.panel import device

        return device(name)
    except Exception as e:  # noqa: BLE001 - metering matters more than the display
        crash.record(e, "display")
        return None


def attach(app, cfg, opts, dev):
    """app.display (if its driver started) and app.readings: each tick's readings, for the
    display's charts and demo mode's console lines."""
    names = [c[0] for c in cfg["channels"]]
    zone = app.recorder.model.zone
    if dev is not None:
        try:
            from picometer.display.panel import Display

            app.display = Display(dev, app.serial, opts.get("version", ""), names, zone,
                                  app.recorder.n, lambda: status_line(app),
                                  opts.get("display_s", 5))
        except Exception as e:  # noqa: BLE001 - metering matters more than the display
            app.crash.record(e, "display")
    if app.demo or app.display is not None:
        from picometer.readings import Readings

        app.readings = Readings(app.serial, names, zone, app.recorder.n, app.demo,
                                app.display.history if app.display else None)
        app.fs.tap = app.readings.tap


def status_line(app):
    """The meter's state in a few short lines, for the display's status screen."""
    if app.demo:
        lines = ["demo mode: no network"]
        if app.clock.scale != 1:
            lines.append("time %dx" % app.clock.scale)
    elif app.wifi.up:
        lines = ["Wi-Fi %s" % (app.wifi.address(),)]
    else:
        lines = ["no Wi-Fi yet"]
    if not app.clock.valid():
        lines.append("waiting for the time (NTP)")
    elif not app.demo:
        lines.append("%d days to send" % app.outbox.backlog())
    up = app.uptime_s()
    lines.append("up %dd %dh %dm" % (up // 86400, up // 3600 % 24, up // 60 % 60))
    err = app.last_error()
    if err:
        lines.append("error: " + err[:80])
    return "\n".join(lines)
