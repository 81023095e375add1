"""The upload route's verdict on a file, handed to the ingest worker so it validates once.

The upload route (and a concentrator's batch) parses every file to answer `422` at once; the
worker used to parse it all over again, the largest part of its work. Now the route leaves
its result, the parsed `Day`, as a row of the store's `verdicts` table, committed before the
file appears in the drop folder. The worker takes it instead of parsing only when every cheap
check holds:

- the file sits at the top of the drop folder under an upload's name (`.up-<id>.json`), a
  place only Tempest's own routes write to (ingest/scope.py); never for a meter's folder;
- the verdict's sha256 is the one of the very bytes the worker read (a file replaced since,
  or another file under that name, is parsed afresh);
- it is this version's format and reads back whole; and the serial check of ingest/scope.py
  still runs on the day it carries.

Anything else, and the worker parses as it does for every other route. A verdict is `marshal`
data (plain values, no code) in the store, written only by Tempest. It is deleted in the
transaction that records its file; one whose file never came (a failed write after the
upload's commit) is swept after a day.

Why a row and not a file (as verdicts were first kept): on ext4 every new file's inode is
found by scanning past the inodes deleted in the last seconds, and a verdict file made and
deleted per upload made that scan the largest kernel cost of an upload (about a fifth of the
web side's CPU at 100 uploads a second, docs/scaling.md). A row rides in the transaction the
upload already commits (its allowance), and on PostgreSQL every node's ingest sees it.
"""

from __future__ import annotations

import dataclasses
import logging
import marshal
import shutil
from pathlib import Path

from core.dayfile_reader import Day

log = logging.getLogger("tempest.ingest")

LEGACY_FOLDER = "verdicts"  # where verdicts were files, before this table: removed at start
_FORMAT = 1
_FIELDS = tuple(f.name for f in dataclasses.fields(Day))
_INSERT = "INSERT INTO verdicts (id, verdict, written_at) VALUES (?, ?, ?)"


def blob(digest: str, day: Day) -> bytes | None:
    """The verdict to keep for a day parsed from bytes with this sha256, or None: none is
    kept for a seed-shape day (it is placed in the meter's zone, which may change before
    ingest reads it), nor for a value marshal cannot hold (a Decimal in metadata)."""
    if day.shape != "current":
        return None
    try:
        return marshal.dumps((_FORMAT, digest, tuple(getattr(day, f) for f in _FIELDS)))
    except ValueError:
        return None


def write(conn, ingest_id: str, kept: bytes | None, now: float) -> None:
    """Leave the verdict (from blob()) for ingest, inside the caller's transaction."""
    if kept is not None:
        conn.execute(_INSERT, (ingest_id, kept, now))


def take_many(conn, wanted: dict[str, str]) -> dict[str, Day]:
    """The days the upload route parsed, by ingest id, for those whose verdict is for the
    bytes with the given sha256 ({ingest id: sha256}); the others are to be parsed."""
    found: dict[str, Day] = {}
    ids = list(wanted)
    for start in range(0, len(ids), 500):  # within any store's limit on parameters
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT id, verdict FROM verdicts WHERE id IN ({marks})",
                                chunk).fetchall():
            day = _loaded(bytes(row["verdict"]), wanted[row["id"]])
            if day is not None:
                found[row["id"]] = day
    return found


def _loaded(kept: bytes, digest: str) -> Day | None:
    try:
        fmt, hashed, values = marshal.loads(kept)
        if fmt != _FORMAT or hashed != digest or len(values) != len(_FIELDS):
            return None
        day = Day(**dict(zip(_FIELDS, values, strict=True)))
    except (ValueError, EOFError, TypeError):
        return None
    return day if day.shape == "current" else None


def discard(conn, ingest_ids: list[str]) -> None:
    """Inside the transaction recording their files: the verdicts are used up."""
    if ingest_ids:
        conn.executemany("DELETE FROM verdicts WHERE id = ?", [(i,) for i in ingest_ids])


def sweep(conn, data_dir: Path, now: float, older_than: float = 86400.0) -> int:
    """Remove verdicts whose files never came (their upload's write failed after its
    commit), and the folder where an older version kept verdicts as files (their uploads are
    parsed). Returns how many rows went."""
    shutil.rmtree(data_dir / LEGACY_FOLDER, ignore_errors=True)
    cur = conn.execute("DELETE FROM verdicts WHERE written_at < ?", (now - older_than,))
    return max(cur.rowcount, 0)
