"""Files in and out of Tempest's folders, always atomically.

A file appears under its final name only once it is whole (temporary hidden name, fsync,
rename), so a reader never sees half a file, and a crash leaves at worst a stale temporary file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from core.durable import fsync_dir
from core.durable import write_atomic as durable_write
from tempest import names

log = logging.getLogger("tempest.ingest")

_TEMP_PREFIX = ".tempest-"


def _ensure_dir(directory: Path, durable: bool) -> None:
    """Make the folder if needed; a new folder's own name is durable only once its parent is
    synced too (archive/<serial>/ for a meter's first file)."""
    if directory.is_dir():
        return
    directory.mkdir(parents=True, exist_ok=True)
    if durable:
        fsync_dir(directory.parent)


def write_atomic(directory: Path, name: str, data: bytes | BinaryIO, *,
                 durable: bool = True) -> Path:
    """Write `data` (bytes, or a file to copy from) as directory/name: temporary name, fsync,
    rename, fsync the folder."""
    if "/" in name or name.startswith("."):
        raise ValueError(f"not a plain file name: {name!r}")
    _ensure_dir(directory, durable)
    return durable_write(directory / name, data, durable=durable, temp=temp_path(directory))


def temp_path(directory: Path) -> Path:
    """A temporary name in `directory`: hidden, with our prefix, so ingest never reads it and
    a sweep (clean_temp) knows it for ours."""
    return directory / f"{_TEMP_PREFIX}{secrets.token_hex(6)}.tmp"


class NotRegular(OSError):
    """A FIFO, a device or a folder where a file was expected."""


def open_regular(path: Path):
    """`(file, stat)` for reading path, never through a symbolic link (`O_NOFOLLOW`: ELOOP)
    and never blocking on a FIFO someone placed there (`O_NONBLOCK`); NotRegular for anything
    but a regular file. Used for the drop folder, whose writer could point a link anywhere, and
    for serving the archive and quarantine, which must never follow one either."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    f = os.fdopen(fd, "rb")
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        f.close()
        raise NotRegular(f"not a regular file: {path}")
    return f, st


def keep(dest: Path, data: bytes, digest: str) -> None:
    """Make dest hold exactly `data` (whose sha256 is `digest`), durably.

    The bytes come from memory, the very bytes ingest read and validated: the drop file is
    never opened again by path, so whatever its writer renames over it after the read (a link
    to Tempest's own config, other bytes) cannot reach the archive. A dest an earlier pass left
    (a crash between the commit and the drop file's removal) is trusted only if it is a regular
    file with these bytes; after a power loss it may be short or empty, and is then rewritten.
    """
    try:
        f, _ = open_regular(dest)
    except (FileNotFoundError, NotRegular):
        pass
    except OSError as exc:  # ELOOP: a link where the file belongs; replaced below
        log.warning("replacing %s: %s", dest, exc)
    else:
        with f:
            same = hashlib.sha256(f.read()).hexdigest() == digest
            if same:
                # The pass that wrote it may have died before its fsyncs.
                os.fsync(f.fileno())
        if same:
            fsync_dir(dest.parent)
            return
        log.warning("replacing %s: its bytes are not the recorded ones", dest)
    write_atomic(dest.parent, dest.name, data)


def copy_same(src: Path, ident: tuple[int, int], dest: Path) -> bool:
    """Copy the drop file ingest read (too big to have been read whole) to dest, durably:
    opened without following a link, and only if it is still that very file (same device and
    inode). False, and nothing written, otherwise."""
    try:
        f, st = open_regular(src)
    except OSError as exc:  # gone, a link (ELOOP) or not a file any more
        log.warning("not copying %s: %s", src, exc)
        return False
    with f:
        if (st.st_dev, st.st_ino) != ident:
            log.warning("not copying %s: it was replaced after it was read", src)
            return False
        write_atomic(dest.parent, dest.name, f)
    return True


def release(src: Path, ident: tuple[int, int], sync: bool = True) -> bool:
    """Remove a drop file whose bytes are kept elsewhere now, durably (the folder is synced).

    Only if the name still points at the file ingest read (same device and inode): a writer
    may have renamed something else over it since, a new delivery (judged on its own pass) or a
    link (never read), and that is not ours to delete. False if it was left or is gone. (A swap
    between this check and the unlink removes the writer's new entry: only its own loss.)
    An unlink, never a rename out of the folder: watchdog holds an unpaired move-out for half
    a second to pair it, and every event behind it would wait. `sync=False` leaves the
    folder's fsync to the caller (once for a whole batch, ingest/mover.py).
    """
    try:
        st = os.lstat(src)
    except FileNotFoundError:
        return False
    if (st.st_dev, st.st_ino) != ident:
        log.warning("leaving %s: it was replaced after it was read", src)
        return False
    try:
        os.unlink(src)
    except FileNotFoundError:
        return False
    if sync:
        fsync_dir(src.parent)
    return True


@dataclass
class Scan:
    ready: list[Path]  # complete files, oldest first
    settle_at: float | None  # when the youngest skipped file will be old enough, if any


def scan(drop: Path, settle_seconds: float, now: float | None = None) -> Scan:
    """Files in the drop folder ready to ingest.

    Names that are hidden or temporary are still being written. A file younger than
    `settle_seconds` is left for a later scan: a writer that ignores the atomic-rename rule
    (say `cp`) may still be appending, and its close event will bring it in anyway.
    """
    now = time.time() if now is None else now
    ready: list[tuple[float, Path]] = []
    settle_at = None
    try:
        entries = list(os.scandir(drop))
    except FileNotFoundError:
        return Scan([], None)
    for entry in entries:
        if names.ignored(entry.name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            mtime = entry.stat(follow_symlinks=False).st_mtime
        except FileNotFoundError:
            continue
        # A time stamp far from our clock says nothing about a writer still appending: rsync
        # keeps the sender's (a meter whose clock runs ahead would wait hours), and a clock
        # moved back (NTP, a test's injected now) would hold every file. Only a stamp within
        # the settle window of now, either side, means "maybe still being written".
        if abs(now - mtime) < settle_seconds:
            due = mtime + settle_seconds
            settle_at = due if settle_at is None else min(settle_at, due)
            continue
        ready.append((mtime, Path(entry.path)))
    ready.sort()
    return Scan([p for _, p in ready], settle_at)


def pending(drop: Path) -> int:
    """How many files wait in the drop folder."""
    try:
        return sum(1 for e in os.scandir(drop) if not names.ignored(e.name))
    except FileNotFoundError:
        return 0


def clean_temp(directory: Path, older_than: float = 3600.0) -> int:
    """Remove our own temporary files a crash left behind (never other writers' ones)."""
    removed = 0
    cutoff = time.time() - older_than
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if entry.name.startswith(_TEMP_PREFIX) and entry.name.endswith(".tmp"):
            try:
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                pass
    return removed
