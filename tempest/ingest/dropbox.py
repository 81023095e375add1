"""Files in and out of Tempest's folders, always atomically.

A file appears under its final name only once it is whole (temporary hidden name, fsync,
rename), so a reader never sees half a file, and a crash leaves at worst a stale temporary file.
"""

from __future__ import annotations

import errno
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from tempest import names

_TEMP_PREFIX = ".tempest-"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(directory: Path, name: str, data: bytes, *, durable: bool = True) -> Path:
    """Write `data` as directory/name: temporary name, fsync, rename, fsync the folder."""
    if "/" in name or name.startswith("."):
        raise ValueError(f"not a plain file name: {name!r}")
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f"{_TEMP_PREFIX}{secrets.token_hex(6)}.tmp"
    final = directory / name
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(directory)
    return final


def move(src: Path, dest: Path) -> bool:
    """Move src to dest, never leaving a partial dest. False if src is gone (already moved).

    A hard link then an unlink, rather than a rename: a rename out of a watched folder gives
    inotify an unpaired IN_MOVED_FROM, which watchdog holds for half a second to pair it, and
    every event behind it waits (half a second of latency per ingested file). An unlink is
    reported at once. A crash between the two leaves the file in both places; the next pass
    finishes the move. Across file systems, or where the kernel will not let Tempest link a
    file another account owns (Debian's fs.protected_hardlinks=1 and the rsync drop account),
    the bytes are copied (temporary name, rename) and the original unlinked.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except FileExistsError:
        # Archive names carry the content hash, quarantine names the file's id: what is there
        # already is this file (from an earlier pass cut short).
        pass
    except FileNotFoundError:
        if not src.exists():
            return False
        raise
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EACCES):
            raise
        try:
            data = src.read_bytes()
        except FileNotFoundError:
            return False
        write_atomic(dest.parent, dest.name, data)
    try:
        os.unlink(src)
    except FileNotFoundError:
        return False
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
        if now - mtime < settle_seconds:
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
