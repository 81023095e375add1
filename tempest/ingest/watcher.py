"""The watchdog side of ingest: a handler that only queues paths, and its observer's upkeep.

A file is complete when the writer closes it (inotify's close-after-write) or when it is
renamed into the folder (rsync, our own uploads, `mv`); "created" is never enough. The handler
does no I/O and catches everything: an exception there would kill the observer thread silently.
The watch covers the meters' own folders (`<drop>/<serial>/`, see scope.py); anything deeper is
never taken.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from tempest import names

log = logging.getLogger("tempest.ingest")

Offer = Callable[[Path, "str | None"], None]


class DropHandler(FileSystemEventHandler):
    def __init__(self, drop: Path, offer: Offer):
        self.drop = str(drop)
        self.offer = offer

    def _take(self, path, hint: str | None) -> None:
        try:
            path = os.fsdecode(path)
            parent = os.path.dirname(path)
            if not path or (parent != self.drop and not (
                    os.path.dirname(parent) == self.drop
                    and not names.ignored(os.path.basename(parent)))):
                return
            if names.ignored(os.path.basename(path)):
                return
            self.offer(Path(path), hint)
        except Exception:  # never let an error reach the observer thread
            log.exception("drop handler failed on %r", path)

    def on_closed(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._take(event.src_path, None)

    def on_moved(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        src = os.path.basename(os.fsdecode(event.src_path or ""))
        self._take(event.dest_path, "rsync" if names.is_rsync_temp(src) else None)


def make_observer() -> BaseObserver:
    """inotify with unmatched moves reported as moves, so a file moved in from another folder
    shows up as a rename (not as a bare "created"); elsewhere watchdog's default."""
    try:
        from watchdog.observers.inotify import InotifyObserver
    except ImportError:  # not Linux
        return Observer()
    return InotifyObserver(generate_full_events=True)


class Watch:
    """Owns the observer and restarts it when it dies."""

    def __init__(self, drop: Path, offer: Offer):
        self.drop = drop
        self.offer = offer
        self.observer: BaseObserver | None = None
        self.restarts = 0

    def start(self) -> None:
        self.drop.mkdir(parents=True, exist_ok=True)
        observer = make_observer()
        # Recursive, for the meters' folders: one inotify watch per folder, in one instance.
        observer.schedule(DropHandler(self.drop, self.offer), str(self.drop), recursive=True)
        observer.daemon = True
        observer.start()
        self.observer = observer

    def alive(self) -> bool:
        return self.observer is not None and self.observer.is_alive()

    def ensure(self) -> bool:
        """Restart a dead observer. True if it had to (events may have been lost: rescan)."""
        if self.alive():
            return False
        if self.observer is not None:
            log.error("the drop-folder observer died; restarting it and rescanning")
            self.restarts += 1
            self._stop()
        self.start()
        return True

    def _stop(self) -> None:
        observer, self.observer = self.observer, None
        if observer is None:
            return
        try:
            observer.stop()
            observer.join(timeout=5)
        except Exception:
            log.exception("stopping the observer failed")

    def stop(self) -> None:
        self._stop()
