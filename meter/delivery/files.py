"""Atomic file writes that clean up after themselves.

Like meter.storage.write_atomic (temporary name, fsync, rename, fsync the folder), with two
differences delivery needs: the temporary file is removed when the write fails (a full disk
must not fill up further with half-written leftovers), and the mode is chosen up front (a
config holding API keys is never readable by others, not even for an instant).
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from meter.storage import fsync_dir


def write_atomic(path: str | Path, data: bytes, mode: int = 0o644,
                 owner: tuple[int, int] | None = None) -> None:
    """`owner` (uid, gid): give the new file to them before it appears (an agent running as
    root rewriting a config that belongs to the meter's account)."""
    path = Path(path)
    # Process and thread in the name: the agent is threaded, and a name shared by two writers
    # would let one rename the other's half-written file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    for attempt in range(3):
        try:
            _write(tmp, path, data, mode, owner)
            break
        except FileNotFoundError:
            # A starting tick clears `.*.tmp` files it takes for a killed writer's leftovers
            # (meter/operations.py), ours included if it runs at that moment: write again.
            if attempt == 2 or not path.parent.is_dir():
                raise
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    fsync_dir(path.parent)


def _write(tmp: Path, path: Path, data: bytes, mode: int, owner) -> None:
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    if owner is not None:
        os.chown(tmp, *owner)
    os.replace(tmp, path)
