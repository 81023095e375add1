# The screens of a Pico meter's display (docs/pico.md, "Displays"), drawn on any
# framebuf-like canvas: the seed's splash, message, last values, bars per channel, a line
# chart of a channel's last 288 readings, the total's area chart and the temperature.
#
# A Canvas is a framebuf.FrameBuffer, its size and its pens: the colour each part of a screen
# is drawn in, a palette index on the LCD (its driver sets the palette) and the one "on"
# colour on the OLED (Mono). Nothing here knows a panel; the drivers own the buffer and push
# it over SPI. Text is framebuf's 8x8 font, enlarged by drawing each of its pixels as a
# square. Integer arithmetic only (a Pico's floats are single precision).

import framebuf
from micropython import const

_MISSING = const(0xFFFF)


class Mono:
    """The pens of a one-colour panel: everything drawn is "on"; grids are dotted."""

    bg = 0
    fg = 1
    dim = 1
    accent = 1
    colour = False

    def channel(self, i):
        return 1

    def heat(self, tenths):
        return 1


class Canvas:
    def __init__(self, fb, w, h, pens):
        self.fb = fb
        self.w = w
        self.h = h
        self.pens = pens
        self.scale = 2 if w >= 200 else 1  # text of the body: 16 px on the LCD, 8 on the OLED


_bits = None  # one glyph of the 8x8 font, to enlarge (made on first use)
_glyph = None


def text(c, s, x, y, pen, scale=1):
    if scale == 1:
        c.fb.text(s, x, y, pen)
        return
    global _bits, _glyph
    if _glyph is None:
        _bits = bytearray(8)
        _glyph = framebuf.FrameBuffer(_bits, 8, 8, framebuf.MONO_HLSB)
    bits, g = _bits, _glyph
    fill = c.fb.fill_rect
    for ch in s:
        g.fill(0)
        g.text(ch, 0, 0, 1)
        for row in range(8):
            b = bits[row]
            col = 0
            while b:
                if b & 0x80:
                    fill(x + col * scale, y + row * scale, scale, scale, pen)
                b = (b << 1) & 0xFF
                col += 1
        x += 8 * scale


def centred(c, s, y, pen, scale=1):
    text(c, s, (c.w - len(s) * 8 * scale) // 2, y, pen, scale)


def header(c, left, right=""):
    """A bar across the top; returns the first row below it."""
    p = c.pens
    s = c.scale
    h = 8 * s + 2 * s
    c.fb.fill(p.bg)
    c.fb.fill_rect(0, 0, c.w, h, p.accent)
    cols = c.w // (8 * s)
    text(c, left[:cols], s, s, p.bg, s)
    if right and len(left) + 1 + len(right) <= cols:
        text(c, right, c.w - len(right) * 8 * s - s, s, p.bg, s)
    return h + s


def wh(v):
    """Wh of an interval, short: 412, 12k, "-" for none."""
    if v is None:
        return "-"
    return "%d" % v if v < 100000 else "%dk" % (v // 1000)


def splash(c, title, line1, line2):
    p = c.pens
    c.fb.fill(p.bg)
    c.fb.rect(0, 0, c.w, c.h, p.dim)
    big = 2 * c.scale
    centred(c, title, c.h // 6, p.accent, big)
    s = c.scale
    y = c.h // 6 + 8 * big + 6 * s
    centred(c, line1, y, p.fg, s if len(line1) * 8 * s < c.w else 1)
    centred(c, line2, y + 10 * s, p.dim, 1)


def message(c, title, body):
    """A title, then the text wrapped to the width (a new line at each "\n")."""
    y = header(c, title)
    s = c.scale
    cols = (c.w - 2 * s) // (8 * s)
    for para in body.split("\n"):
        line = ""
        for word in para.split():
            if line and len(line) + 1 + len(word) > cols:
                if y + 8 * s > c.h:
                    return
                text(c, line, s, y, c.pens.fg, s)
                y += 10 * s
                line = ""
            line = (line + " " + word) if line else word[:cols]
        if line:
            if y + 8 * s > c.h:
                return
            text(c, line, s, y, c.pens.fg, s)
            y += 10 * s


def values(c, when, names, vals, unit):
    """The last reading of each channel, one line each."""
    y = header(c, when, unit)
    p = c.pens
    s = c.scale
    for i in range(len(names)):
        if y + 8 * s > c.h:
            break
        v = wh(vals[i])
        text(c, names[i][:c.w // (8 * s) - 7], s, y, p.channel(i) if p.colour else p.fg, s)
        text(c, v, c.w - len(v) * 8 * s - s, y, p.fg, s)
        y += 10 * s


def bars(c, when, names, vals):
    """A horizontal bar per channel, all to the same scale (the largest fills the width)."""
    top = 1
    for v in vals:
        if v is not None and v > top:
            top = v
    y0 = header(c, when, "max " + wh(top))
    p = c.pens
    s = c.scale
    n = len(names)
    row = (c.h - y0) // n if n else 0
    x0 = 5 * 8 * s + 2 * s
    span = c.w - x0 - s
    for i in range(n):
        y = y0 + i * row
        bh = min(row - s, 8 * s + 2)
        text(c, names[i][:5], s, y + (bh - 8 * s) // 2, p.fg, s)
        v = vals[i]
        if v is None:
            continue
        c.fb.rect(x0, y, span, bh, p.dim)
        c.fb.fill_rect(x0, y, max(1, v * span // top), bh, p.channel(i))


def _column(buf, count, slots, x, w):
    """The largest reading in the slots that column x of w covers (the newest reading is the
    last slot), or None."""
    first = slots - count
    k0 = x * slots // w
    k1 = max(k0 + 1, (x + 1) * slots // w)
    best = None
    for k in range(max(k0, first), k1):
        i = (k - first) * 2
        v = buf[i] | (buf[i + 1] << 8)
        if v != _MISSING and (best is None or v > best):
            best = v
    return best


def chart(c, title, series, slots, area=False):
    """Readings over the last `slots` intervals, the newest at the right: a line per series
    (buf, count, pen), or the first series filled (area)."""
    top = 1
    for buf, count, _ in series:
        for k in range(count):
            v = buf[2 * k] | (buf[2 * k + 1] << 8)
            if v != _MISSING and v > top:
                top = v
    y0 = header(c, title, "max " + wh(top))
    p = c.pens
    fb = c.fb
    bottom = c.h - 1
    ph = bottom - y0
    for frac in (1, 2, 3):  # grid at a quarter, half and three quarters of the top
        gy = bottom - ph * frac // 4
        if p.colour:
            fb.hline(0, gy, c.w, p.dim)
        else:
            for gx in range(0, c.w, 4):
                fb.pixel(gx, gy, p.dim)
    fb.hline(0, bottom, c.w, p.dim)
    for buf, count, pen in series:
        prev = None
        for x in range(c.w):
            v = _column(buf, count, slots, x, c.w)
            if v is None:
                prev = None
                continue
            y = bottom - v * ph // top
            if area:
                fb.vline(x, y, bottom - y + 1, pen)
            elif prev is None:
                fb.pixel(x, y, pen)
            else:
                fb.line(x - 1, prev, x, y, pen)
            prev = y
        if area:
            break


def degrees(tenths):
    a = -tenths if tenths < 0 else tenths
    return "%s%d.%d" % ("-" if tenths < 0 else "", a // 10, a % 10)


def temperature(c, label, tenths):
    """A temperature, large; on a colour panel the screen takes the colour of its value."""
    p = c.pens
    heat = p.heat(tenths)
    y0 = header(c, label)
    fb = c.fb
    if p.colour:
        fb.fill_rect(0, y0 - c.scale, c.w, c.h - y0 + c.scale, heat)
    m = 4 * c.scale
    fb.fill_rect(m, y0 + m, c.w - 2 * m, c.h - y0 - 2 * m, p.bg)
    fb.rect(m, y0 + m, c.w - 2 * m, c.h - y0 - 2 * m, heat)
    s = 4 if c.scale > 1 else 2
    t = degrees(tenths)
    w = (len(t) + 1) * 8 * s
    x = (c.w - w) // 2
    y = y0 + (c.h - y0 - 8 * s) // 2
    text(c, t, x, y, heat if p.colour else p.fg, s)
    # the degree sign (the 8x8 font has none), then C
    x += len(t) * 8 * s
    d = 2 * s
    fb.rect(x + s, y, d, d, p.fg)
    text(c, "C", x + d + s, y + 2 * s, p.fg, max(1, s // 2))
