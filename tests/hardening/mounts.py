"""Small tmpfs mounts of the suite's own: a disk that can be filled, and fast fsyncs.

Mounting needs root (and, in a container, CAP_SYS_ADMIN). Without it `tmpfs()` yields the
plain folder and the reason it could not mount, so a suite can skip only what needs a real
small disk and say why.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from pathlib import Path


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    """Yield (folder, None) on a fresh tmpfs of `size` (e.g. "48m"), or (folder, reason)."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        yield path, "not root: a small tmpfs needs root to mount"
        return
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755",
                        "meters-hardening", str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        yield path, f"cannot mount a tmpfs ({r.stderr.strip()}); a container needs CAP_SYS_ADMIN"
        return
    try:
        yield path, None
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "--lazy", str(path)], capture_output=True)


def fill(folder: Path, name: str = "filler") -> int:
    """Write until the file system is full; returns the bytes written."""
    n = 0
    # Big blocks first, then the last partial blocks, so not even a small write fits.
    for path, block in ((folder / name, 65536), (folder / f"{name}.tail", 512)):
        with open(path, "wb", buffering=0) as f:
            try:
                while True:
                    n += f.write(b"\0" * block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    return n


def unfill(folder: Path, name: str = "filler") -> None:
    for p in (folder / name, folder / f"{name}.tail"):
        p.unlink(missing_ok=True)
