"""After a batch's commit: its files to archive/ (or quarantine/) and out of the drop folder.

The order per file is the one a crash must be able to meet (process.py): the copy written
under a temporary name and fsynced, renamed into place, its folder fsynced; only then the drop
file removed and the drop folder fsynced. A batch keeps that order for every file but pays for
each folder once, not once per file, and fsyncs its new copies side by side: a journalling file
system commits concurrent fsyncs together (a few milliseconds each on this machine's disk, three
per file before, the largest cost of ingest).

An upload's file (and a concentrator's: the same route) is not copied at all: its archive copy
is a second name (a hard link) for the very file read from the drop folder. The upload route
wrote that file itself and fsynced it before renaming it into the drop folder, so its bytes are
already on disk, and the link's name becomes durable with the archive folder's fsync, before
the drop name is removed: the order a crash must meet is kept, without writing 42 kB again and
waiting on a file fsync per day. Only where every cheap check holds: the name still leads to
the file read (same device and inode, checked on the new name itself, never through a link),
its bytes are the ones the route's verdict was made on (ingest/verdict.py), and it sits at the
top of the drop folder, where only Tempest's own routes write; a file a meter's rsync put in
its folder is always copied from the bytes read (a writer could still change it in place). A
file system without hard links, or an archive on another one (EXDEV), gets the copy.

`Mover` runs a batch's moves behind the worker, so the next batch is read, parsed and
committed while this one's fsyncs wait on the disk. One batch moves at a time, in order.
"""

from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from core.durable import fsync_dir
from tempest.ingest import dropbox, quarantine

log = logging.getLogger("tempest.ingest")

SYNC_THREADS = 8  # fsyncs in flight at once (they wait on the disk, not the CPU)


@dataclass
class Move:
    """One file's way out of the drop folder, planned in the worker's thread (which owns the
    store's connection: the rows it needs are read there)."""

    src: Path
    ident: tuple[int, int] | None
    data: bytes | None
    digest: str
    dest: Path | None = None  # archive copy to make sure of
    quarantine: tuple[Path, str, dict] | None = None  # (folder, name, reason document)
    label: str = ""  # for the log line once it is done
    link: bool = False  # Tempest's own durable write of these bytes: archived as a hard link


def _same_copy(dest: Path, digest: str) -> bool | None:
    """True: dest already holds these bytes (fsynced again now: the pass that wrote it may
    have died before its fsyncs). None: nothing there. False: something else is there."""
    try:
        f, _ = dropbox.open_regular(dest)
    except (FileNotFoundError, dropbox.NotRegular):
        return None
    except OSError as exc:  # ELOOP: a link where the file belongs; replaced
        log.warning("replacing %s: %s", dest, exc)
        return False
    with f:
        if hashlib.sha256(f.read()).hexdigest() != digest:
            log.warning("replacing %s: its bytes are not the recorded ones", dest)
            return False
        os.fsync(f.fileno())
    return True


def _write_copy(dest: Path, data: bytes, digest: str) -> Path:
    """Make dest hold data: temporary hidden name, fsync, rename. The folder's fsync is the
    caller's (once per folder)."""
    if _same_copy(dest, digest):
        return dest.parent
    tmp = dropbox.temp_path(dest.parent)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest.parent


def _link_copy(src: Path, ident: tuple[int, int], dest: Path, digest: str) -> Path | None:
    """Make dest a second name of the drop file read (see above); None: copy it instead. The
    folder's fsync is the caller's, as for a copy."""
    if _same_copy(dest, digest):
        return dest.parent
    tmp = dropbox.temp_path(dest.parent)
    try:
        os.link(src, tmp, follow_symlinks=False)
    except OSError:  # gone meanwhile, another file system, no hard links here
        return None
    try:
        st = os.lstat(tmp)
        if (st.st_dev, st.st_ino) != ident:  # replaced after it was read: copy the bytes read
            tmp.unlink()
            return None
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest.parent


class Mover:
    def __init__(self, background: bool = False):
        self.background = background
        self._sync = ThreadPoolExecutor(SYNC_THREADS, thread_name_prefix="ingest-sync")
        self._runner = (ThreadPoolExecutor(1, thread_name_prefix="ingest-move")
                        if background else None)
        self._last: Future | None = None
        # The drop files of the batch in flight: still in the drop folder until it has moved,
        # so a scan may offer them again (a dropped file would then be counted twice).
        self._in_flight: frozenset[Path] = frozenset()

    def busy_with(self, paths) -> bool:
        """Whether any of these drop files belongs to the batch still moving."""
        return bool(self._in_flight) and any(p in self._in_flight for p in paths)

    def submit(self, moves: list[Move]) -> None:
        """Move these files: now, or (background) once the batch before has moved."""
        if not moves:
            return
        if self._runner is None:
            self.run(moves)
            return
        self.wait()
        self._in_flight = frozenset(m.src for m in moves)
        self._last = self._runner.submit(self.run, moves)

    def wait(self) -> None:
        """Until the batch in flight has moved (its failures are logged, never raised: its
        files stay in the drop folder and a later pass finishes them)."""
        last, self._last = self._last, None
        self._in_flight = frozenset()
        if last is not None:
            try:
                last.result()
            except Exception:
                log.exception("moving a batch out of the drop folder failed; the next scan "
                              "retries its files")

    def close(self) -> None:
        self.wait()
        if self._runner is not None:
            self._runner.shutdown(wait=True)
        self._sync.shutdown(wait=True)

    def run(self, moves: list[Move]) -> None:
        # 1. the archive copies, side by side; a new folder's own name synced in its parent
        new_dirs = {m.dest.parent for m in moves if m.dest and not m.dest.parent.is_dir()}
        for folder in sorted(new_dirs):
            folder.mkdir(parents=True, exist_ok=True)
        folders: set[Path] = {f.parent for f in new_dirs}
        failed: set[int] = set()
        linked: set[int] = set()
        for i, m in enumerate(moves):
            if m.dest is not None and m.link and m.ident is not None:
                try:
                    folder = _link_copy(m.src, m.ident, m.dest, m.digest)
                except OSError:
                    folder = None
                if folder is not None:
                    folders.add(folder)
                    linked.add(i)
        writes = [(i, self._sync.submit(_write_copy, m.dest, m.data, m.digest))
                  for i, m in enumerate(moves) if m.dest is not None and i not in linked]
        for i, fut in writes:
            try:
                folders.add(fut.result())
            except OSError:
                log.exception("could not archive %s; it stays in the drop folder and the next "
                              "scan retries", moves[i].src)
                failed.add(i)
        # quarantined files (rare): the reason file, then the bytes, each durable on its own
        for i, m in enumerate(moves):
            if m.quarantine is not None:
                qdir, name, doc = m.quarantine
                try:
                    quarantine.place(qdir, name, doc, data=m.data, src=m.src, ident=m.ident)
                except OSError:
                    log.exception("could not quarantine %s; it stays in the drop folder", m.src)
                    failed.add(i)
        self._fsync_all(folders)
        # 2. only now the drop files, then their folders
        gone: set[Path] = set()
        for i, m in enumerate(moves):
            if (i not in failed and m.ident is not None
                    and dropbox.release(m.src, m.ident, sync=False)):
                gone.add(m.src.parent)
        self._fsync_all(gone)
        for i, m in enumerate(moves):
            if i not in failed and m.label:
                log.info("%s", m.label)

    def _fsync_all(self, folders: set[Path]) -> None:
        for fut in [self._sync.submit(fsync_dir, f) for f in folders]:
            fut.result()
