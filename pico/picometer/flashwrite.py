# Whole-file writes on the flash for picometer/flashfs.py: atomic writes (temp + rename),
# truncation, folders, and what a reset left behind. A tick only appends to its journal;
# these run for a seal, a state save, a rejected upload's reason, after a reset and at boot,
# so they are a module of their own, loaded then and unloaded after the tick
# (picometer/build.py lists what the Recorder unloads): between them their code holds no heap.
#
# LittleFS (the Pico's file system) commits a file on close and renames atomically, replacing
# the target; a full flash raises OSError(ENOSPC) from any write, and the temporary file is
# removed so that a failed write never eats more space.

import os

from micropython import const

from picometer.flashfs import _to

_BUF = const(512)  # flashfs's buffer


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


def _tmp(p):
    i = p.rfind("/")
    d, name = (p[:i], p[i + 1:]) if i >= 0 else ("", p)
    return (d + "/." if d else ".") + name + ".tmp"


def _discard(p):
    try:
        os.remove(p)
    except OSError:
        pass


def write_atomic(buf, p, writer):
    """FlashFS.write_atomic: a hidden temporary file, closed, then renamed over `p`."""
    tmp = _tmp(p)
    try:
        with open(tmp, "wb") as f:
            w = _Writer(f, buf)
            writer(w)
            w.flush()
        os.rename(tmp, _to(p))
    except Exception:  # noqa: BLE001 - OSError (a full flash) or MemoryError: no leftovers
        _discard(tmp)
        raise


def truncate(buf, p, size):
    """FlashFS.truncate: the first `size` bytes copied to a temporary file renamed over `p`."""
    tmp = _tmp(p)
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
        _discard(tmp)
        raise


def makedirs(d):
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


def clean_tmp(d):
    """Remove the temporary files a reset left behind in folder d."""
    try:
        names = os.listdir(d)
    except OSError:
        return
    for n in names:
        if n.startswith(".") and n.endswith(".tmp"):
            _discard(d + "/" + n)


def free_bytes(d="/"):
    try:
        st = os.statvfs(d)
    except (OSError, AttributeError):
        return None
    return st[0] * st[3]
