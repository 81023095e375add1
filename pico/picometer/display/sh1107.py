# Waveshare Pico-OLED-1.3: an SH1107 controller, 64 x 128 pixels in portrait, used here in
# landscape as 128 x 64, one bit per pixel, on SPI1 (docs/pico.md, "Displays").
#
# Pins (the board's): SCK GP10, MOSI GP11, CS GP9, DC GP8, RST GP12; keys KEY0 GP15, KEY1 GP17
# (to ground, with pull-ups).
#
# The frame is a 1 KiB framebuf in MONO_HMSB (a byte is 8 pixels across a landscape row, bit
# 0 the leftmost). The controller runs in vertical addressing mode: after each data byte the
# page (8 pixels along the panel's long side) advances, so one landscape row y is one panel
# column (63 - y) written as its 16 bytes in one go, landscape pixel x landing in page x // 8,
# bit x % 8. A whole frame is 64 such rows: one step of the display's work (a few ms).

import framebuf
from machine import SPI, Pin

from picometer.display import screens

W = 128
H = 64
BUTTONS = ((15, 1), (17, -1))  # (GPIO, step through the screens)
_INIT = (
    b"\xae",  # display off while setting up
    b"\xdc\x00",  # display start line 0
    b"\x81\x6f",  # contrast
    b"\x21",  # vertical addressing mode
    b"\xa0",  # segment remap: normal
    b"\xc0",  # common output scan direction: normal
    b"\xa8\x3f",  # multiplex ratio: 64 lines
    b"\xd3\x60",  # display offset: the panel's 64 lines sit at 0x60 in the 128
    b"\xd5\x41",  # clock divide / oscillator
    b"\xd9\x22",  # pre-charge / discharge periods
    b"\xdb\x35",  # VCOMH deselect level
    b"\xad\x8a",  # DC-DC converter on
    b"\xa4",  # show the RAM
    b"\xa6",  # not inverted
    b"\xaf",  # display on
)


class Device:
    BUTTONS = BUTTONS
    colour = False

    def __init__(self):
        import time

        self.spi = SPI(1, baudrate=10000000, polarity=0, phase=0, sck=Pin(10), mosi=Pin(11),
                       miso=None)
        self.cs = Pin(9, Pin.OUT, value=1)
        self.dc = Pin(8, Pin.OUT, value=1)
        self.rst = Pin(12, Pin.OUT, value=1)
        self.frame = bytearray(W * H // 8)
        self.canvas = screens.Canvas(framebuf.FrameBuffer(self.frame, W, H, framebuf.MONO_HMSB),
                                     W, H, screens.Mono())
        self.rst(0)
        time.sleep_ms(2)
        self.rst(1)
        time.sleep_ms(2)
        for cmd in _INIT:
            self._cmd(cmd)
        self._col = bytearray(3)  # page 0, then the column address, low and high nibbles

    def _cmd(self, b):
        self.dc(0)
        self.cs(0)
        self.spi.write(b)
        self.cs(1)

    def push(self):
        """Send the frame; a generator (one step: the OLED's frame is small)."""
        mv = memoryview(self.frame)
        col = self._col
        col[0] = 0xB0
        for y in range(H):
            c = H - 1 - y
            col[1] = c & 0x0F
            col[2] = 0x10 | (c >> 4)
            self._cmd(col)
            self.dc(1)
            self.cs(0)
            self.spi.write(mv[y * 16:y * 16 + 16])
            self.cs(1)
        yield
