# The meter's files on the Pico's flash: the `fs` object loadmodel/ticker.py expects.
#
# MicroPython has no os.path, no makedirs, no os.replace and no truncate, so each is built
# here from os.stat / os.mkdir / os.rename. LittleFS (the Pico's file system) commits a file
# on close and renames atomically, replacing the target, so:
#   write_atomic = write a hidden temporary file, close it, rename it over the target;
#   append       = open, write, close (durable when close returns);
#   truncate     = copy the good prefix to a temporary file and rename it over the original.
# A full flash raises OSError(ENOSPC) from any write; the temporary file is removed so a
# failed write never eats more space, and the caller (the main loop) retries later.
#
# One write buffer is allocated once and reused: the day file writer emits many tiny strings,
# and on the unix port each file write is a system call.

import os

from micropython import const

_BUF = const(512)
ENOSPC = const(28)


class _Writer:
    # Collects small writes into the shared buffer and writes them out in blocks.

    def __init__(self, f, buf):
        self.f = f
        self.buf = buf
        self.n = 0

    def write(self, s):
        b = s.encode() if isinstance(s, str) else s
        n = len(b)
        if self.n + n > _BUF:
            self.flush()
            if n > _BUF:
                self.f.write(b)
                return
        self.buf[self.n:self.n + n] = b
        self.n += n

    def flush(self):
        if self.n:
            self.f.write(memoryview(self.buf)[:self.n])
            self.n = 0


def _split(p):
    i = p.rfind("/")
    if i < 0:
        return "", p
    return p[:i], p[i + 1:]


def _to(p):
    # The target of a rename. The unix port's VfsPosix mounted at "/" fails os.rename() when
    # the NEW path is absolute (ENOENT); relative to the working folder it works there and on
    # LittleFS alike. The program keeps the working folder at "/" (app.py).
    return p[1:] if p.startswith("/") else p


def _tmp(p):
    d, name = _split(p)
    return (d + "/." if d else ".") + name + ".tmp"


class FlashFS:
    def __init__(self):
        self.buf = bytearray(_BUF)
        # tap(path, text) sees each line appended to a journal once it is written (the
        # readings of a tick for the display and demo mode: picometer/readings.py).
        self.tap = None

    def exists(self, p):
        try:
            os.stat(p)
            return True
        except OSError:
            return False

    def size(self, p):
        return os.stat(p)[6]

    def read_lines(self, p):
        # A generator of lines (each with its "\n"; a torn last line without), read in
        # blocks: MicroPython's readline() reads a byte per call (a system call each on the
        # unix port), and the Ticker replays the whole open day's journal on every tick.
        with open(p) as f:
            rest = ""
            while True:
                chunk = f.read(_BUF)
                if not chunk:
                    break
                if rest:
                    chunk = rest + chunk
                start = 0
                while True:
                    i = chunk.find("\n", start)
                    if i < 0:
                        break
                    yield chunk[start:i + 1]
                    start = i + 1
                rest = chunk[start:]
            if rest:
                yield rest

    def read_text(self, p):
        with open(p) as f:
            return f.read()

    def append(self, p, text):
        with open(p, "a") as f:
            f.write(text)
        if self.tap is not None and p.endswith(".journal"):
            self.tap(p, text)

    def truncate(self, p, size):
        if self.size(p) == size:
            return
        tmp = _tmp(p)
        buf = self.buf
        try:
            with open(p, "rb") as src, open(tmp, "wb") as dst:
                left = size
                while left > 0:
                    n = src.readinto(buf)
                    if not n:
                        break
                    if n > left:
                        n = left
                    dst.write(memoryview(buf)[:n])
                    left -= n
            os.rename(tmp, _to(p))
        except Exception:  # noqa: BLE001 - OSError (a full flash) or MemoryError: no leftovers
            self._discard(tmp)
            raise

    def write_atomic(self, p, writer, durable=True):
        # `durable` is the Ticker's hint that a file can be rebuilt; LittleFS commits on
        # close either way, so there is no cheaper non-durable write to choose here.
        tmp = _tmp(p)
        try:
            with open(tmp, "wb") as f:
                w = _Writer(f, self.buf)
                writer(w)
                w.flush()
            os.rename(tmp, _to(p))
        except Exception:  # noqa: BLE001 - OSError (a full flash) or MemoryError: no leftovers
            self._discard(tmp)
            raise

    def _discard(self, p):
        try:
            os.remove(p)
        except OSError:
            pass

    def remove(self, p):
        os.remove(p)

    def rename(self, a, b):
        os.rename(a, _to(b))

    def listdir(self, d):
        # Hidden names are temporary files of a write in progress (or left by a reset).
        return [n for n in os.listdir(d) if not n.startswith(".")]

    def makedirs(self, d):
        path = "/" if d.startswith("/") else ""
        for part in d.split("/"):
            if not part:
                continue
            path = path + part if path in ("", "/") else path + "/" + part
            try:
                os.mkdir(path)
            except OSError as e:
                if e.args[0] != 17:  # EEXIST: already there
                    raise

    def clean_tmp(self, d):
        # Temporary files a reset left behind in folder d.
        try:
            names = os.listdir(d)
        except OSError:
            return
        for n in names:
            if n.startswith(".") and n.endswith(".tmp"):
                self._discard(d + "/" + n)

    def free_bytes(self, d="/"):
        try:
            st = os.statvfs(d)
        except (OSError, AttributeError):
            return None
        return st[0] * st[3]
