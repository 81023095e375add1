"""Keep freed memory for reuse: the engine's arrays are big, short-lived and made anew for
every meter.

A year of one meter at 1-minute resolution is a few dozen arrays of 2 to 4 MB, each made, used
once or twice and freed. glibc's malloc hands blocks that big back to the kernel on free (its
mmap threshold, and the trim of the heap's top), so the next array of the same size is mapped
again and the kernel zeroes and maps it page by page on first touch: measured here, touching a
fresh 2 MB array costs over 20 times touching one already mapped, and that was half of the
engine's whole time. `keep_freed_memory()` asks glibc to serve blocks up to 32 MB (its
largest allowed threshold) from the heap and to keep up to 256 MB free at the heap's top
instead of trimming it: freed arrays are then reused without new page faults. The cost: a
process keeps the heap it once needed (some tens of MB for a year of a 1-minute meter) until it
exits. Bigger blocks (a decade at once) still go back to the kernel. Only glibc (Linux) has
these settings; elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

_M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc refuses more than HEAP_MAX_SIZE / 2 = 32 MB
_TRIM_THRESHOLD = 256 * 1024 * 1024
_done = False


def keep_freed_memory() -> bool:
    """Set the thresholds once per process; True when they are in force."""
    global _done
    if _done:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = (libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) == 1
              and libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD) == 1)
    except (OSError, AttributeError):
        return False
    _done = ok
    return ok
