# Waveshare Pico-LCD-1.14: an ST7789 controller, 240 x 135 pixels in landscape, 16-bit
# colour (RGB565, high byte first on the wire), on SPI1 (docs/pico.md, "Displays").
#
# Pins (the board's): SCK GP10, MOSI GP11, CS GP9, DC GP8, RST GP12, backlight GP13; keys A
# GP15, B GP17, joystick left GP16, right GP20 (to ground, with pull-ups).
#
# Memory: a whole RGB565 frame would be 64,800 bytes, a third of a Pico W's free heap. The
# frame is kept instead as 4 bits a pixel (framebuf GS4_HMSB, 16,200 bytes), each value an
# index into a 16-colour palette (the pens below; the temperature screen sets its colour into
# the last entry); pushing it, framebuf.blit() turns 9 rows at a time into RGB565 through the
# palette (in C) in a 4,320-byte band buffer. Screens are drawn once, at C speed, and a frame
# goes out in 15 bands, one step of the display's work each.

import framebuf
from machine import SPI, Pin
from micropython import const

from picometer.display import screens

W = 240
H = 135
BUTTONS = ((15, 1), (17, -1), (20, 1), (16, -1))  # (GPIO, step through the screens)
_X0 = const(40)  # where the 240 x 135 window sits in the controller's 240 x 320 memory
_Y0 = const(53)
_BAND = const(9)  # rows a band; 135 = 15 bands
_HEAT = const(15)


def rgb(r, g, b):
    """RGB565 of 8-bit r, g, b."""
    return ((r & 0xF8) << 8) | ((g & 0xFC) << 3) | (b >> 3)


_COLOURS = (
    (0, 0, 0),  # 0 background
    (255, 255, 255),  # 1 text
    (88, 88, 88),  # 2 grid, frames
    (0, 168, 232),  # 3 header bar, splash title
    (255, 160, 0), (0, 212, 255), (96, 224, 96), (232, 96, 232),  # 4-11 the channels
    (255, 232, 0), (128, 128, 255), (255, 112, 128), (184, 255, 128),
)
# The temperature's colour ramp: (tenths of a degree C, r, g, b), joined linearly.
_RAMP = ((0, 0, 80, 255), (100, 0, 200, 255), (180, 0, 220, 80), (240, 255, 220, 0),
         (300, 255, 120, 0), (350, 255, 0, 0))


def heat_rgb(tenths):
    lo = _RAMP[0]
    if tenths <= lo[0]:
        return lo[1:]
    for hi in _RAMP[1:]:
        if tenths <= hi[0]:
            span = hi[0] - lo[0]
            f = tenths - lo[0]
            return tuple(lo[i] + (hi[i] - lo[i]) * f // span for i in (1, 2, 3))
        lo = hi
    return lo[1:]


class Pens:
    bg = 0
    fg = 1
    dim = 2
    accent = 3
    colour = True

    def __init__(self, palette):
        self.palette = palette
        for i in range(len(_COLOURS)):
            self.set(i, rgb(*_COLOURS[i]))

    def set(self, i, colour):
        # The wire wants the high byte first; framebuf keeps RGB565 little-endian: swap.
        self.palette.pixel(i, 0, ((colour & 0xFF) << 8) | (colour >> 8))

    def channel(self, i):
        return 4 + i % 8

    def heat(self, tenths):
        self.set(_HEAT, rgb(*heat_rgb(tenths)))
        return _HEAT


class Device:
    BUTTONS = BUTTONS
    colour = True

    def __init__(self):
        import time

        self.spi = SPI(1, baudrate=62500000, polarity=0, phase=0, sck=Pin(10), mosi=Pin(11),
                       miso=None)
        self.cs = Pin(9, Pin.OUT, value=1)
        self.dc = Pin(8, Pin.OUT, value=1)
        self.rst = Pin(12, Pin.OUT, value=1)
        self.frame = bytearray(W * H // 2)
        self.palette = framebuf.FrameBuffer(bytearray(32), 16, 1, framebuf.RGB565)
        self.canvas = screens.Canvas(framebuf.FrameBuffer(self.frame, W, H, framebuf.GS4_HMSB),
                                     W, H, Pens(self.palette))
        self.band_buf = bytearray(W * _BAND * 2)
        self.band = framebuf.FrameBuffer(self.band_buf, W, _BAND, framebuf.RGB565)
        self.rst(0)
        time.sleep_ms(2)
        self.rst(1)
        time.sleep_ms(2)
        self._cmd(b"\x01")  # software reset
        time.sleep_ms(150)
        for cmd, data in ((b"\x11", None),  # out of sleep
                          (b"\x3a", b"\x05"),  # 16 bits a pixel
                          (b"\x36", b"\x70"),  # landscape: rows and columns exchanged
                          (b"\x21", None),  # inverted (this IPS panel's normal)
                          (b"\x13", None),  # normal display mode
                          (b"\x29", None)):  # display on
            self._cmd(cmd, data)
        Pin(13, Pin.OUT, value=1)  # backlight
        self._caset = bytes((0, _X0, (_X0 + W - 1) >> 8, (_X0 + W - 1) & 0xFF))
        self._raset = bytearray(4)

    def _cmd(self, cmd, data=None):
        self.cs(0)
        self.dc(0)
        self.spi.write(cmd)
        if data:
            self.dc(1)
            self.spi.write(data)
        self.cs(1)

    def push(self):
        """Send the frame band by band: a generator, one band per step."""
        self._cmd(b"\x2a", self._caset)
        band = self.band
        buf = memoryview(self.band_buf)
        r = self._raset
        for y in range(0, H, _BAND):
            rows = min(_BAND, H - y)
            band.blit(self.canvas.fb, 0, -y, -1, self.palette)
            top = _Y0 + y
            end = top + rows - 1
            r[0], r[1], r[2], r[3] = top >> 8, top & 0xFF, end >> 8, end & 0xFF
            self._cmd(b"\x2b", r)
            self.cs(0)
            self.dc(0)
            self.spi.write(b"\x2c")
            self.dc(1)
            self.spi.write(buf[:W * rows * 2])
            self.cs(1)
            yield

