# The display's memory of the last readings: /charts/history.bin, a ring of the last SLOTS
# (288: a day of 5-minute intervals) readings of every channel, for the charts and the last
# values after a reset. The seed kept charts/<channel>.csv, a line per value, rewritten whole.
#
#   header, 14 bytes   b"MH1", channels (1 byte), signature of the channel names (u16),
#                      next slot (u16), readings held (u16), UTC minute the newest ended (u32)
#   then, per channel, SLOTS readings of 2 bytes (u16, little-endian): Wh of the interval;
#                      MISSING (0xFFFF) for no reading; above 0xFFFE is held as 0xFFFE
#
# One file for all channels: an interval costs one small write (one flash block rewritten by
# LittleFS), not one per channel. Channel after channel: a chart reads its channel in one or
# two contiguous reads of at most 576 bytes. An interval after a gap (the meter was off) is
# preceded by MISSING slots, so the charts keep a true time axis. Channels changed (names or
# number): the history starts afresh. A write cut short by a reset can leave one wrong
# reading in a chart, never a wrong day file: the day files are the journal's.

from micropython import const

PATH = "/charts/history.bin"
SLOTS = const(288)
MISSING = const(0xFFFF)
_TOP = const(0xFFFE)
_HEAD = const(14)
_MAGIC = b"MH1"


def _u16(b, i):
    return b[i] | (b[i + 1] << 8)


def signature(names):
    s = 0
    for name in names:
        for ch in name:
            s = (s * 31 + ord(ch)) & 0xFFFF
        s = (s * 31 + 44) & 0xFFFF
    return s


class History:
    def __init__(self, names, interval, path=PATH):
        self.channels = len(names)
        self.sig = signature(names)
        self.n = interval
        self.path = path
        self.head = 0  # the slot the next reading goes into
        self.count = 0
        self.last = None  # UTC minute the newest reading ended
        self._pair = bytearray(2)
        if not self._load():
            self._create()

    def _load(self):
        try:
            with open(self.path, "rb") as f:
                h = f.read(_HEAD)
        except OSError:
            return False
        if len(h) != _HEAD or h[:3] != _MAGIC or h[3] != self.channels or \
                _u16(h, 4) != self.sig:
            return False
        head, count = _u16(h, 6), _u16(h, 8)
        if head >= SLOTS or count > SLOTS:
            return False
        self.head, self.count = head, count
        last = _u16(h, 10) | (_u16(h, 12) << 16)
        self.last = last if count else None
        return True

    def _create(self):
        import os

        folder = self.path[:self.path.rfind("/")]
        try:
            os.mkdir(folder)
        except OSError:
            pass  # already there
        self.head, self.count, self.last = 0, 0, None
        empty = b"\xff" * 64
        with open(self.path, "wb") as f:
            f.write(self._header())
            for _ in range(self.channels * SLOTS * 2 // 64):
                f.write(empty)

    def _header(self):
        last = self.last or 0
        h = bytearray(_HEAD)
        h[:3] = _MAGIC
        h[3] = self.channels
        for i, v in ((4, self.sig), (6, self.head), (8, self.count), (10, last & 0xFFFF),
                     (12, last >> 16)):
            h[i] = v & 0xFF
            h[i + 1] = (v >> 8) & 0xFF
        return h

    def add(self, rows):
        """Append [(UTC minute the interval ended, [Wh per channel] or None)], oldest first.
        A reading not after the newest held (a tick redone after a reset) is skipped."""
        with open(self.path, "r+b") as f:
            for end, values in rows:
                if self.last is not None:
                    if end <= self.last:
                        continue
                    gap = min((end - self.last) // self.n - 1, SLOTS)
                    for _ in range(gap):
                        self._put(f, None)
                self._put(f, values)
                self.last = end
            f.seek(0)
            f.write(self._header())

    def _put(self, f, values):
        pair = self._pair
        k = self.head
        for c in range(self.channels):
            v = MISSING if values is None else values[c]
            if v != MISSING:
                v = 0 if v < 0 else (_TOP if v > _TOP else v)
            pair[0] = v & 0xFF
            pair[1] = v >> 8
            f.seek(_HEAD + (c * SLOTS + k) * 2)
            f.write(pair)
        self.head = (k + 1) % SLOTS
        if self.count < SLOTS:
            self.count += 1

    def read(self, channel, buf):
        """Fill `buf` (SLOTS * 2 bytes) with the channel's readings, oldest first; returns
        how many (the rest of `buf` is left as it was)."""
        count = self.count
        if not count:
            return 0
        start = (self.head - count) % SLOTS
        first = min(count, SLOTS - start)
        mv = memoryview(buf)
        base = _HEAD + channel * SLOTS * 2
        with open(self.path, "rb") as f:
            f.seek(base + start * 2)
            f.readinto(mv[:first * 2])
            if first < count:
                f.seek(base)
                f.readinto(mv[first * 2:count * 2])
        return count

    def latest(self):
        """The newest reading of every channel ([Wh or None per channel]), or None."""
        if not self.count:
            return None
        k = (self.head - 1) % SLOTS
        out = []
        with open(self.path, "rb") as f:
            for c in range(self.channels):
                f.seek(_HEAD + (c * SLOTS + k) * 2)
                b = f.read(2)
                v = _u16(b, 0)
                out.append(None if v == MISSING else v)
        return out
