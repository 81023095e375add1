"""Files that survive a crash: written whole under a temporary name, then renamed.

Every part writes files a crash must not leave half-written: the meter's day files and
registers cache, the agent's config, Tempest's drop folder, archive and secrets. They all use
this one write: the data goes to a temporary file in the same folder, is flushed and fsynced,
renamed over the target, and the folder is fsynced, so a `kill -9` or a power cut leaves
either the old file or the new one, never half. A failed write (a full disk) removes its
temporary file, so it cannot fill the disk further.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import BinaryIO


def fsync_dir(path: str | Path) -> None:
    """Make a rename or a new file in folder `path` durable."""
    fd = os.open(str(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def default_temp(path: Path) -> Path:
    # Process and thread in the name: a name shared by two writers (the threaded agent, two
    # ticks) would let one rename the other's half-written file.
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def write_atomic(path: str | Path, data: bytes | BinaryIO, *, durable: bool = True,
                 mode: int = 0o644, owner: tuple[int, int] | None = None,
                 temp: Path | None = None) -> Path:
    """Make `path` hold `data` (bytes, or a binary file to copy from), atomically.

    `mode` is set when the temporary file is made, so a file holding keys is never readable by
    others, not even for an instant; `owner` (uid, gid) is given to it before it appears (an
    agent running as root rewriting a file that belongs to the meter's account). `temp` names
    the temporary file (it must be in the same folder); `durable=False` skips the fsyncs (a
    cache that can be rebuilt, a test's fixture).
    """
    path = Path(path)
    tmp = temp or default_temp(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            if isinstance(data, bytes | bytearray | memoryview):
                f.write(data)
            else:
                shutil.copyfileobj(data, f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        if owner is not None:
            os.chown(tmp, *owner)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)
    return path
