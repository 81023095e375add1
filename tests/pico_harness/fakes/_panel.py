"""Opt-in fakes for a display board on the Pico: `import _panel` (after machine) in boot.py or
a driver script. A Pico has all of it built in; here it is kept out of machine.py so that a
program without a display runs on exactly the heap, and the heap layout, it always did (the
month test's cap leaves a margin a few hundred bytes of fake code can upset).

- machine.SPI(id, baudrate=, polarity=, phase=, sck=, mosi=, miso=): write(buf) and friends.
  With knob "spi.log" every write is appended to state/spi.log as a record: one byte of pin
  levels (bit 0 the DC pin "spi.dc", default GP8; bit 1 the CS pin "spi.cs", default GP9),
  the length (4 bytes, little-endian), the bytes: what a logic analyser on the bus would see.
  Event "spi-init <id> <baudrate>" at each SPI().
- Keys: an input pin (Pin.IN) reads the level the test sets (knob "pins.in", e.g.
  {"15": 0} for a key pressed to ground), else its pull (1 with PULL_UP). When that level
  changes, the pin's irq() handler runs (inside fake sleeps and WDT.feed(), as a soft IRQ
  would) if the edge is one it asked for.

Control knobs (control.json): "spi": {"log": false, "dc": 8, "cs": 9}, "pins": {"in": {}}.
"""

import _harness as _h
import machine

Pin = machine.Pin


class SPI:
    MSB = 0
    LSB = 1
    _log = None

    def __init__(self, id, baudrate=1000000, **kw):
        self.id = id
        self.baudrate = baudrate
        _h.event("spi-init", "%d %d" % (id, baudrate))

    def init(self, baudrate=1000000, **kw):
        self.baudrate = baudrate

    def deinit(self):
        pass

    def write(self, buf):
        if not _h.knob("spi", "log", False):
            return
        if SPI._log is None:
            SPI._log = open(_h.STATE + "/spi.log", "ab")
        dc = Pin.pins.get(_h.knob("spi", "dc", 8))
        cs = Pin.pins.get(_h.knob("spi", "cs", 9))
        n = len(buf)
        head = bytes(((dc._v if dc else 0) | ((cs._v if cs else 0) << 1),
                      n & 0xFF, (n >> 8) & 0xFF, (n >> 16) & 0xFF, n >> 24))
        SPI._log.write(head)
        SPI._log.write(buf)
        SPI._log.flush()

    def read(self, nbytes, write=0):
        return bytes([write]) * nbytes

    def readinto(self, buf, write=0):
        for i in range(len(buf)):
            buf[i] = write

    def write_readinto(self, wbuf, rbuf):
        self.write(wbuf)
        self.readinto(rbuf)


machine.SPI = SPI

# -- keys: input pins -----------------------------------------------------------------------

_init = Pin.init
_value = Pin.value


def _is_input(pin):
    return getattr(pin, "mode", -1) == Pin.IN


def _level(pin):
    v = _h.control("pins").get("in", {}).get(str(pin.id))
    if v is None:
        return 1 if getattr(pin, "pull", -1) == Pin.PULL_UP else 0
    return 1 if v else 0


def _poll_inputs():
    # Input pins follow the levels the test set; an edge runs the pin's irq handler.
    for pin in list(Pin.pins.values()):
        if not _is_input(pin):
            continue
        v = _level(pin)
        if v == pin._v:
            continue
        pin._v = v
        trigger = getattr(pin, "_trigger", 0)
        if pin._irq is not None and trigger & (Pin.IRQ_RISING if v else Pin.IRQ_FALLING):
            pin._irq(pin)


def init(self, mode=-1, pull=-1, value=None):
    _init(self, mode, pull, value)
    if pull != -1:
        self.pull = pull
    if _is_input(self):
        self._v = _level(self)


def value(self, x=None):
    if x is None and _is_input(self):
        _poll_inputs()
    return _value(self, x)


def irq(self, handler=None, trigger=12, hard=False):
    self._irq = handler
    self._trigger = trigger


Pin.init = init
Pin.value = value
Pin.__call__ = value
Pin.irq = irq

_poll = _h.poll


def poll():
    # The fakes call _h.poll() at every fake sleep and watchdog feed: the keys are read there.
    _poll()
    _poll_inputs()


_h.poll = poll
