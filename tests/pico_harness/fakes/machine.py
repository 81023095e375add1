"""Fake `machine` for the RP2040 (Pico W), enough for a meter program.

- Pin(id, mode=-1, pull=-1, value=None): id an int or "LED"; value([x]), on(), off(),
  toggle(), high(), low(), irq() (stored, never fired), __call__. Pin.pins holds every pin
  by id so a test can inspect it in-process.
- WDT(id=0, timeout=5000): ValueError above 8388 ms, as on the RP2040. feed() stamps the
  host file state/wdt (the runner and the virtual Pico watch it to catch a real hang) and
  checks the fake clock: not fed within timeout -> event "wdt-expired", then a reset.
  Sleeps (fake time) fire the watchdog at its deadline, as the hardware would.
- reset(): a hard reset: the process dies by SIGUSR1 (SIGUSR2 for the watchdog), no
  finally blocks run; the next boot's reset_cause() is WDT_RESET, as on the RP2040 where
  machine.reset() reboots through the watchdog. soft_reset() raises SystemExit.
- reset_cause(): WDT_RESET after such a reset, else PWRON_RESET.
- unique_id(), freq([hz]), idle(), lightsleep(ms), deepsleep(ms) (= reset), bootloader().
- RTC().datetime([t]): the 8-tuple (year, month, day, weekday, h, m, s, subseconds);
  setting it sets the fake clock that `time` reads (this is what ntptime does).
- Timer(period=ms, mode=Timer.PERIODIC|ONE_SHOT, callback=f): callbacks run inside fake
  sleeps and WDT.feed(), the way soft IRQs run between bytecodes on the device.
- ADC(4).read_u16(): the temperature channel: a constant (14000), except on a sensor meter
  with the onboard sensor (config.json), where it follows the simulated weather.

Control knobs (control.json):
- "wdt": {"enforce": true}  false: an expired watchdog only logs "wdt-expired".
- "machine": {"unique_id": "hex"}  the board id (default e6614104035f2b2c).
- "pins": {"log": false}  true: every pin change is logged as event "pin <id> <0|1>".
- "heap": {"sample": true}  WDT.feed() collects and records the live heap high-water mark
  (event "heap <bytes>"); false: no gc.collect() from the harness.
- "adc": {"4": 14000}  the raw value read_u16() returns, per channel (overrides the weather).
"""

import _harness as _h

PWRON_RESET = _h.PWRON_RESET
WDT_RESET = _h.WDT_RESET
_freq = 125000000


def reset():
    _h.hard_reset("reset")


def soft_reset():
    raise SystemExit


def reset_cause():
    return _h.reset_cause()


def unique_id():
    import binascii

    return binascii.unhexlify(_h.knob("machine", "unique_id", "e6614104035f2b2c"))


def freq(hz=None):
    global _freq
    if hz is None:
        return _freq
    _freq = hz


def idle():
    _h.poll()


def lightsleep(ms=None):
    import time

    time.sleep_ms(ms or 0)


def deepsleep(ms=None):
    reset()


def bootloader():
    _h.event("bootloader")
    reset()


def disable_irq():
    return 0


def enable_irq(state=0):
    pass


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    ALT = 3
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8
    pins = {}

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self._v = 0
        self._irq = None
        Pin.pins[id] = self
        self.init(mode, pull, value)

    def init(self, mode=-1, pull=-1, value=None):
        if mode != -1:
            self.mode = mode
        if value is not None:
            self.value(value)

    def value(self, x=None):
        if x is None:
            return self._v
        v = 1 if x else 0
        if v != self._v and _h.knob("pins", "log", False):
            _h.event("pin", "%s %d" % (self.id, v))
        self._v = v

    __call__ = value

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    high = on
    low = off

    def toggle(self):
        self.value(1 - self._v)

    def irq(self, handler=None, trigger=12):
        self._irq = handler

    def __repr__(self):
        return "Pin(%s)" % (self.id,)


class WDT:
    def __init__(self, id=0, timeout=5000):
        if timeout > 8388:
            raise ValueError("timeout exceeds 8388 ms")
        self._timeout = timeout
        self._stamp = open(_h.STATE + "/wdt", "wb")
        _h.event("wdt-start", str(timeout))
        self._last = _h.ticks_ms()
        self._arm()

    def _arm(self):
        import time

        _h.wdt_deadline = time.ticks_add(self._last, self._timeout)
        self._stamp.seek(0)
        self._stamp.write(b"f")
        self._stamp.flush()

    def feed(self):
        _h.poll()  # an expired deadline resets here, before the late feed counts
        self._last = _h.ticks_ms()
        self._arm()
        _h.sample_heap()


class RTC:
    def datetime(self, t=None):
        import time

        if t is None:
            y, mo, d, h, mi, s, wd, _ = time.gmtime()
            return (y, mo, d, wd, h, mi, s, 0)
        _h.set_wall(time.mktime((t[0], t[1], t[2], t[4], t[5], t[6], 0, 0)))


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, **kw):
        self._cb = None
        if kw:
            self.init(**kw)

    def init(self, mode=PERIODIC, freq=-1, period=-1, callback=None, tick_hz=1000):
        if freq > 0:
            period = 1000 // freq
        self._mode = mode
        self._period = max(1, period)
        self._cb = callback
        self._due = _h.rt.ticks_add(_h.ticks_ms(), self._period)
        if self not in _h.timers:
            _h.timers.append(self)

    def deinit(self):
        if self in _h.timers:
            _h.timers.remove(self)

    def _fire(self, now):
        if self._mode == Timer.PERIODIC:
            self._due = _h.rt.ticks_add(now, self._period)
        else:
            self.deinit()
        if self._cb is not None:
            self._cb(self)


class ADC:
    CORE_TEMP = 4

    def __init__(self, pin):
        self._ch = pin if isinstance(pin, int) else 0

    def read_u16(self):
        given = _h.knob("adc", str(self._ch), None)
        if given is not None:
            return given
        if self._ch == 4:
            # Its own module, imported only when ADC 4 is read: the fakes share the program's
            # capped heap, and a meter that never reads it must not pay for the weather code.
            import _adc_weather

            return _adc_weather.read_u16()
        return 14000
