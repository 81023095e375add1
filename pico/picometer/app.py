# The Pico W meter's main loop (docs/pico.md).
#
#   loop: Wi-Fi poll -> NTP (until the time is valid) -> tick -> one upload -> heartbeat
#         -> gc.collect() (the fixed point) -> idle in slices, feeding the watchdog
#
# Never hangs silently: the RP2040 watchdog (8.3 s at most) is fed between steps and while
# idle, and no step may block longer than that: ticks are bounded by max_intervals, HTTP by a
# deadline, NTP by its timeout. A step that overruns HANG_MS leaves a note that the next boot
# reports if the watchdog had to reset. Every exception a step raises is caught, logged to
# crash.log with its traceback and reported in the heartbeat; that step then backs off. An
# exception escaping the loop itself is logged and the board resets cleanly.
# KeyboardInterrupt is never caught: mpremote stops the program with it.
#
# Booting (config, secrets, reset cause, deploy hold, the watchdog) is picometer/start.py, and
# building the App from the config picometer/build.py: both are unloaded once the App is built
# (main.py, App.__init__), as their code is not needed again until the next boot.
#
# Demo mode (option "demo"): no Wi-Fi, NTP, upload or heartbeat (their modules are not even
# imported), a clock of its own, each interval printed to the USB console, the outbox kept to
# the newest "demo_keep" days. A display (option "display") shows the readings in either mode,
# drawn in the idle slices. Both live in picometer/show.py, loaded only when one is on: a
# meter without either pays no heap for them.

import gc
import time

from micropython import const

from picometer import crashlog, forget

ROOT = ""  # the meter's folders (data/, outbox/, ...) sit at the flash root, as the seed's
_SLICE_MS = const(250)
_STEP_RETRY_MS = const(5000)
_STEP_RETRY_MAX_MS = const(300000)


class Link:
    """The way to Tempest, for the outbox and the heartbeat: the HTTP client's settings and the
    address it looked up. picometer/http.py itself is loaded for a request and unloaded after
    the step (a day's upload, a heartbeat): between them its code holds no heap."""

    def __init__(self, url, key, timeout_ms, deadline_ms, buf):
        self.url = url
        self.key = key
        self.timeout_ms = timeout_ms
        self.deadline_ms = deadline_ms
        self.buf = buf
        self.addr = None

    def post(self, route, data=None, path=None, length=0):
        from picometer import http

        client = http.Client(self.url, self.key, self.timeout_ms, self.deadline_ms, self.buf)
        client.addr = self.addr
        try:
            return client.post(route, data, path, length)
        finally:
            self.addr = client.addr


class Beats:
    """What lasts between heartbeats (picometer/heartbeat.py is loaded only to send one)."""

    def __init__(self, serial, version, config_hash):
        self.serial = serial
        self.version = version
        self.config_hash = config_hash
        self.seed_route = False
        self.sent = 0
        self.last_status = None


class App:
    """The main loop's state. Built once per boot by picometer/build.py (app()), which the
    constructor unloads again: its code holds no heap while the loop runs. Attributes: wdt,
    crash, fs, recorder, clock, wifi, client, link, heartbeat, outbox, led, display,
    readings, guard, retry, ... (build.app says what each is)."""

    def __init__(self, wdt, cfg, tz, opts, creds, reset_cause, crash):
        from picometer import build

        build.app(self, wdt, cfg, tz, opts, creds, reset_cause, crash)
        forget("picometer.build")
        gc.collect()

    # -- time and the watchdog -------------------------------------------------------------

    def feed(self):
        """Feed the watchdog (at most once a second: a step that starts within a second of a
        feed still has 7 s of the 8 s), and keep the uptime."""
        now = time.ticks_ms()
        d = time.ticks_diff(now, self._last_ms)
        if d >= 1000 or self._first:
            self._first = False
            self.wdt.feed()
            self._last_ms = now
            self._up_ms += d
            if self._up_ms >= 1000:  # kept small: ticks_ms wraps after 12 days on a Pico
                self._up_s += self._up_ms // 1000
                self._up_ms %= 1000

    def uptime_s(self):
        return self._up_s

    def last_error(self):
        for err in (self.crash.last_error, self.outbox.last_error, self.clock.last_error,
                    self.wifi.last_error if self.wifi is not None else None,
                    self.link.last_error if self.link is not None else None):
            if err:
                return err
        return None

    # -- steps -------------------------------------------------------------------------------

    def step(self, name, fn):
        """Run one step under the hang guard; an exception is logged and the step backs off."""
        got = self.retry.get(name)
        if got is not None and time.ticks_diff(time.ticks_ms(), got[1]) < 0:
            return None
        self.feed()
        self.guard.enter(name)
        try:
            out = fn()
        except Exception as e:  # noqa: BLE001 - logged with its traceback, then the loop goes on
            self.failed(name, e)
            return None
        finally:
            self.guard.leave()
        if got is not None:
            del self.retry[name]
        return out

    def failed(self, name, e):
        self.failing = True
        self.crash.record(e, name)
        if isinstance(e, MemoryError):
            gc.collect()
        if name == "tick":
            try:
                self.recorder.failed(e, self.outbox, self.crash)
            except Exception as e2:  # noqa: BLE001 - recovery is best effort
                self.crash.record(e2, "recovery")
        n = self.retry.get(name, (0, 0))[0] + 1
        wait = min(_STEP_RETRY_MS << min(n - 1, 8), _STEP_RETRY_MAX_MS)
        self.retry[name] = (n, time.ticks_add(time.ticks_ms(), wait))

    def tick(self):
        try:
            s = self.recorder.tick(self.clock.minute())
        finally:
            if self.readings is not None:  # what was recorded, even by a failed tick
                self.readings.flush(self.crash)
        if s["sealed"] or s["released"]:
            self.outbox.changed()
            if self.demo:  # nothing will ever collect them: keep the flash from filling
                self.outbox.prune("outbox", self.demo_keep)
        if not self.recorder.pending:
            self.last_tick = self.recorder.last_tick()
        return True

    def upload(self):
        try:
            return self.outbox.send_one(self.clock.iso())
        finally:
            forget("picometer.http", "picometer.flashwrite")  # the latter for a reason file

    def beat(self):
        self.hb_next = time.ticks_add(time.ticks_ms(), self.hb_ms)
        from picometer import heartbeat

        try:
            heartbeat.send(self)
        except OSError as e:
            self.heartbeat.last_status = "no answer: %s" % (e,)
        finally:
            forget("picometer.heartbeat", "picometer.http", "picometer.flashwrite")

    # -- the loop ------------------------------------------------------------------------------

    def once(self):
        """One pass of the main loop; True when work is left (no idling)."""
        self.failing = False
        up = False  # never in demo mode: no Wi-Fi, so no NTP, upload or heartbeat
        if self.wifi is not None:
            up = self.step("wifi", self.wifi.poll)
            if up and self.clock.due():
                self.step("ntp", self.clock.sync)
        busy = False
        if self.clock.valid():
            if self.recorder.due(self.clock.minute()):
                # Work left (a catch-up) means another pass at once; a step that failed or is
                # backing off does not.
                busy = self.step("tick", self.tick) is True and self.recorder.pending
            if up and self.outbox.due() and self.outbox.backlog():
                if self.step("upload", self.upload) in ("sent", "rejected"):
                    busy = True
        if up and self.hb_on and time.ticks_diff(time.ticks_ms(), self.hb_next) >= 0:
            self.step("heartbeat", self.beat)
        if up and self.link is not None:
            self.step("mqtt", self.link.keep)
        gc.collect()  # the fixed point: the heap is at its emptiest here, every pass
        return busy and not self.failing

    def idle(self):
        """Sleep until about the next interval end (at most idle_ms), feeding the watchdog."""
        wait = self.idle_ms
        if self.clock.valid():
            n_ms = self.recorder.n * 60000
            into = (self.clock.unix() % (self.recorder.n * 60)) * 1000
            wait = min(wait, (n_ms - into + 500) // self.clock.scale + 1)
        led = self.led
        display = self.display
        step = _SLICE_MS if led is not None or display is not None else min(self.idle_ms, 4000)
        pattern = led.pattern(self) if led is not None else 0
        while wait > 0:
            s = min(step, wait)
            time.sleep_ms(s)
            wait -= s
            self.feed()
            if led is not None:
                led.show(pattern)
            if display is not None:
                self.step("display", display.poll)

    def loop(self):
        while True:
            if not self.once():
                self.idle()

    def run(self):
        """The main loop, for good. An exception escaping it (the steps catch their own) is
        logged, then the board resets cleanly, a few seconds later so that a fault at start
        cannot spin the flash in a tight reset loop."""
        try:
            self.loop()
        except Exception as e:  # noqa: BLE001 - the last resort: log, then a clean reset
            import machine

            text = self.crash.record(e, "main loop")
            crashlog.write_note(crashlog.RESET_NOTE, "fatal error: " + text[:200])
            for _ in range(20):
                time.sleep_ms(_SLICE_MS)
                self.wdt.feed()
            machine.reset()
