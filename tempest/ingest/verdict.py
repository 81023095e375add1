"""The upload route's verdict on a file, handed to the ingest worker so it validates once.

The upload route (and a concentrator's batch) parses every file to answer `422` at once; the
worker used to parse it all over again, the largest part of its work. Now the route leaves
its result, the parsed `Day`, in `<data-dir>/verdicts/<ingest id>.v` before the file appears
in the drop folder. The worker takes it instead of parsing only when every cheap check holds:

- the file sits at the top of the drop folder under an upload's name (`.up-<id>.json`), a
  place only Tempest's own routes write to (ingest/scope.py); never for a meter's folder;
- the verdict's sha256 is the one of the very bytes the worker read (a file replaced since,
  or another file under that name, is parsed afresh);
- it is this version's format and reads back whole (a verdict cut short by a crash is
  ignored); and the serial check of ingest/scope.py still runs on the day it carries.

Anything else, and the worker parses as it does for every other route. The folder lives in the
data dir, written only by Tempest like its store; verdicts are `marshal` data (plain values,
no code), written without fsync (a lost one only costs a parse) and removed once the file
is recorded; a crash's leftovers are swept after a day.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import marshal
import os
import time
from pathlib import Path

from core.dayfile_reader import Day
from tempest.ingest import dropbox

log = logging.getLogger("tempest.ingest")

FOLDER = "verdicts"
_FORMAT = 1
_FIELDS = tuple(f.name for f in dataclasses.fields(Day))


def folder(data_dir: Path) -> Path:
    return data_dir / FOLDER


def write(data_dir: Path, ingest_id: str, digest: str, day: Day) -> None:
    """Leave the verdict for ingest (a current-shape day only: seed files are placed in the
    meter's zone, which may change before ingest reads them). Never fails the upload."""
    if day.shape != "current":
        return
    try:
        blob = marshal.dumps((_FORMAT, digest, tuple(getattr(day, f) for f in _FIELDS)))
    except ValueError:  # a value marshal cannot hold (a Decimal in metadata): ingest parses
        return
    try:
        dropbox.write_atomic(folder(data_dir), f"{ingest_id}.v", blob, durable=False)
    except OSError as exc:
        log.warning("could not leave the verdict of upload %s (ingest parses it): %s",
                    ingest_id, exc)


def take(data_dir: Path, ingest_id: str, digest: str) -> Day | None:
    """The day the upload route parsed from bytes with this sha256, or None (parse it)."""
    try:
        with open(folder(data_dir) / f"{ingest_id}.v", "rb") as f:
            fmt, hashed, values = marshal.loads(f.read())
        if fmt != _FORMAT or hashed != digest or len(values) != len(_FIELDS):
            return None
        day = Day(**dict(zip(_FIELDS, values, strict=True)))
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return day if day.shape == "current" else None


def discard(data_dir: Path, ingest_id: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(folder(data_dir) / f"{ingest_id}.v")


def sweep(data_dir: Path, older_than: float = 86400.0) -> int:
    """Remove verdicts a crash left behind (their files were ingested, or will be parsed)."""
    removed = 0
    cutoff = time.time() - older_than
    try:
        entries = list(os.scandir(folder(data_dir)))
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            pass
    dropbox.clean_temp(folder(data_dir), older_than)
    return removed
