"""Pictures of the Pico's display for people and for tests (CPython only).

- `canvas_image()`: what the display code drew, from the raw frame buffer it dumped
  (MONO_HMSB for the OLED, GS4_HMSB indices plus the RGB565 palette for the LCD);
- `oled_from_spi()`, `lcd_from_spi()`: what the panel would show, by replaying the bytes the
  driver sent over the (fake) SPI bus through a model of the controller's memory;
- `write_png()` / `read_png()`: a tiny PNG writer and reader (8-bit RGB, zlib), each pixel
  drawn as a square of `scale`, so the committed reference images are readable at a glance.

An image is (width, height, pixels): pixels a list of rows, each a list of (r, g, b).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

OLED = (128, 64)
LCD = (240, 135)
LCD_WINDOW = (40, 53)  # where the driver puts the 240 x 135 picture in the ST7789's memory
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)


def rgb565(c: int) -> tuple[int, int, int]:
    r, g, b = (c >> 11) & 31, (c >> 5) & 63, c & 31
    return (r << 3) | (r >> 2), (g << 2) | (g >> 4), (b << 3) | (b >> 2)


def canvas_image(panel: str, raw: bytes, palette: bytes | None = None):
    if panel == "oled_1_3":
        w, h = OLED
        assert len(raw) == w * h // 8
        rows = [[WHITE if raw[(y * w + x) // 8] >> (x % 8) & 1 else BLACK for x in range(w)]
                for y in range(h)]
        return w, h, rows
    w, h = LCD
    assert len(raw) == w * h // 2 and palette is not None and len(palette) == 32
    # The palette holds each colour byte-swapped (the wire's order): read it big-endian.
    colours = [rgb565(palette[2 * i] << 8 | palette[2 * i + 1]) for i in range(16)]
    rows = []
    for y in range(h):
        row = []
        for x in range(w):
            b = raw[(y * w + x) // 2]
            row.append(colours[b >> 4 if x % 2 == 0 else b & 15])
        rows.append(row)
    return w, h, rows


def spi_records(log: bytes):
    """(dc, cs, data) for each write on the bus."""
    i = 0
    while i < len(log):
        flags = log[i]
        n = struct.unpack_from("<I", log, i + 1)[0]
        yield flags & 1, flags >> 1 & 1, log[i + 5:i + 5 + n]
        i += 5 + n


# SH1107 commands followed by one argument byte (the driver's set-up).
_SH1107_ARG = {0xDC, 0x81, 0xA8, 0xD3, 0xD5, 0xD9, 0xDB, 0xAD}


def oled_from_spi(log: bytes):
    """The SH1107 in vertical addressing mode: a data byte goes to (page, column), then the
    page advances. Landscape pixel (x, y) is column 63 - y, page x // 8, bit x % 8."""
    ram = [[0] * 128 for _ in range(16)]
    page = col = 0
    for dc, cs, data in spi_records(log):
        assert cs == 0, "a write with the chip not selected"
        if dc == 0:
            k = 0
            while k < len(data):
                b = data[k]
                if b in _SH1107_ARG:
                    k += 2
                    continue
                if 0xB0 <= b <= 0xBF:
                    page = b & 15
                elif b <= 0x0F:
                    col = (col & 0xF0) | b
                elif 0x10 <= b <= 0x17:
                    col = (col & 0x0F) | (b & 7) << 4
                k += 1
        else:
            for b in data:
                ram[page][col] = b
                page = (page + 1) % 16
    w, h = OLED
    rows = [[WHITE if ram[x // 8][63 - y] >> (x % 8) & 1 else BLACK for x in range(w)]
            for y in range(h)]
    return w, h, rows


def lcd_from_spi(log: bytes):
    """The ST7789: CASET/RASET set a window, RAMWR fills it row by row with RGB565, high
    byte first. The picture is the 240 x 135 window at LCD_WINDOW."""
    mem: dict[tuple[int, int], int] = {}
    cmd = None
    x0 = x1 = y0 = y1 = 0
    x = y = 0
    pending = b""
    for dc, cs, data in spi_records(log):
        assert cs == 0, "a write with the chip not selected"
        if dc == 0:
            cmd = data[-1]
            if cmd == 0x2C:
                x, y, pending = x0, y0, b""
            continue
        if cmd == 0x2A:
            x0, x1 = data[0] << 8 | data[1], data[2] << 8 | data[3]
        elif cmd == 0x2B:
            y0, y1 = data[0] << 8 | data[1], data[2] << 8 | data[3]
        elif cmd == 0x2C:
            data = pending + bytes(data)
            n = len(data) // 2 * 2
            pending = data[n:]
            for k in range(0, n, 2):
                if y <= y1:
                    mem[(x, y)] = data[k] << 8 | data[k + 1]
                x += 1
                if x > x1:
                    x, y = x0, y + 1
    w, h = LCD
    ox, oy = LCD_WINDOW
    rows = [[rgb565(mem[(ox + i, oy + j)]) if (ox + i, oy + j) in mem else (255, 0, 255)
             for i in range(w)] for j in range(h)]
    return w, h, rows


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def write_png(path: Path, image, scale: int = 1) -> None:
    w, h, rows = image
    raw = bytearray()
    for row in rows:
        line = bytearray([0])
        for px in row:
            line += bytes(px) * scale
        raw += bytes(line) * scale
    png = (b"\x89PNG\r\n\x1a\n"
           + _chunk(b"IHDR", struct.pack(">IIBBBBB", w * scale, h * scale, 8, 2, 0, 0, 0))
           + _chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + _chunk(b"IEND", b""))
    Path(path).write_bytes(png)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def read_png(path: Path, scale: int = 1):
    """An 8-bit RGB PNG (any filters), shrunk by `scale` (each square must be one colour)."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    i, idat = 8, b""
    while i < len(data):
        n = struct.unpack_from(">I", data, i)[0]
        kind, body = data[i + 4:i + 8], data[i + 8:i + 8 + n]
        if kind == b"IHDR":
            w, h, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert (depth, colour, interlace) == (8, 2, 0), f"{path}: not 8-bit RGB, plain"
        elif kind == b"IDAT":
            idat += body
        i += 12 + n
    raw = zlib.decompress(idat)
    stride = w * 3
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for k in range(stride):
            a = line[k - 3] if k >= 3 else 0
            b = prev[k]
            c = prev[k - 3] if k >= 3 else 0
            line[k] = (line[k] + (0, a, b, (a + b) // 2, _paeth(a, b, c))[f]) & 0xFF
        rows.append([tuple(line[k:k + 3]) for k in range(0, stride, 3)])
        prev = line
    out = []
    for y in range(0, h, scale):
        row = []
        for x in range(0, w, scale):
            px = rows[y][x]
            assert all(rows[y + j][x + i] == px for j in range(scale) for i in range(scale)), \
                f"{path}: the square at {x},{y} is not one colour (scale {scale}?)"
            row.append(px)
        out.append(row)
    return w // scale, h // scale, out


def differences(a, b) -> int:
    """How many pixels differ (a different size counts as all of them)."""
    if a[:2] != b[:2]:
        return a[0] * a[1]
    return sum(pa != pb for ra, rb in zip(a[2], b[2], strict=True)
               for pa, pb in zip(ra, rb, strict=True))
