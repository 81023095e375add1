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
#
# Writing whole files (write_atomic, truncate, makedirs) is picometer/flashwrite.py, loaded
# only for it: a tick only appends to its journal.

import os

from micropython import const

_BUF = const(512)


def _to(p):
    # The target of a rename. The unix port's VfsPosix mounted at "/" fails os.rename() when
    # the NEW path is absolute (ENOENT); relative to the working folder it works there and on
    # LittleFS alike. The program keeps the working folder at "/" (app.py).
    return p[1:] if p.startswith("/") else p


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
        if self.size(p) != size:
            from picometer import flashwrite

            flashwrite.truncate(self.buf, p, size)

    def write_atomic(self, p, writer, durable=True):
        # `durable` is the Ticker's hint that a file can be rebuilt; LittleFS commits on
        # close either way, so there is no cheaper non-durable write to choose here.
        from picometer import flashwrite

        flashwrite.write_atomic(self.buf, p, writer)

    def makedirs(self, d):
        from picometer import flashwrite

        flashwrite.makedirs(d)

    def remove(self, p):
        os.remove(p)

    def rename(self, a, b):
        os.rename(a, _to(b))

    def listdir(self, d):
        # Hidden names are temporary files of a write in progress (or left by a reset).
        return [n for n in os.listdir(d) if not n.startswith(".")]

