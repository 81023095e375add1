"""Ingest one batch of files from the drop folder.

Order of work, chosen so that `kill -9` at any instant converges on restart:

1. read and parse every file (outside any transaction: parsing is the slow part and must not
   hold the store's write lock while heartbeats wait; with INGEST_PROCESSES > 1 a batch is
   parsed by a pool of processes, since parsing is pure CPU);
2. one transaction records every file (its outcome under its ingest id) and stores the days;
3. only after the commit are the bytes read in 1 written to archive/ or quarantine/ (fsync,
   rename, fsync the folder) and the drop file removed (then the drop folder synced); a
   batch's files together (ingest/mover.py), behind the next batch in the watch loop.

A crash before 3 leaves files in the drop folder whose ids are already recorded: the next pass
finds the id and just finishes the move (an archive copy it finds is kept only if its hash is
the recorded one). A crash before the commit leaves nothing recorded, so the files are
processed afresh. Either way each file is stored once.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import logging
import os
import sqlite3
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from core.dayfile_reader import Day, DayFileError, parse
from tempest import names, routes, store
from tempest.db import pipelined, transaction
from tempest.ingest import dropbox, quarantine, verdict
from tempest.ingest.mover import Move, Mover
from tempest.ingest.scope import Scope
from tempest.quotas import limits
from tempest.settings import Layout

log = logging.getLogger("tempest.ingest")


@dataclass
class Item:
    """One file on its way through a batch."""

    path: Path
    delivery: store.Delivery
    data: bytes | None = None
    day: Day | None = None
    error: dict | None = None
    serial: str | None = None
    zone: str = "UTC"  # where seed-era times without an offset are placed
    done: dict | None = None  # the files row, when this id was recorded by an earlier pass
    known: object = None  # the days row, when these bytes are already the stored version
    outcome: str | None = None
    dest: str | None = None  # relative path the file goes to
    ident: tuple[int, int] | None = None  # (device, inode) of the drop file that was read
    scope: str | None = None  # the meter that delivered it, where known (ingest/scope.py)
    in_folder: bool = False  # found in that meter's own drop folder
    verdict: str | None = None  # the upload's ingest id, whose verdict may travel with it
    # The upload route's verdict on these very bytes was taken: the route wrote (and fsynced)
    # the file itself, so its archive copy can be a hard link (ingest/mover.py).
    own_write: bool = False


def _read(path: Path, limit: int, hint: str | None) -> Item | None:
    """The file and its identity, or None when it is gone (already handled) or not a file."""
    try:
        # Never through a symbolic link: a link in the drop folder could point anywhere; and
        # never waiting on a FIFO someone placed there (dropbox.open_regular refuses both).
        f, st = dropbox.open_regular(path)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, dropbox.NotRegular):
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            log.warning("ignoring %s: a symbolic link", path)
            return None
        raise
    with f:
        data = f.read(limit + 1)
    digest = hashlib.sha256(data).hexdigest()
    # A name that is not UTF-8 (any bytes but / and NUL may name a file) comes out of the folder
    # with surrogates, which SQLite and the id's hash cannot encode: one such name used to fail
    # its whole batch on every pass. It is recorded with the odd bytes escaped (\xff).
    name = os.fsencode(path.name).decode("utf-8", "backslashreplace")
    mark = names.marked(name)
    if mark:
        source, ingest_id = mark
    else:
        source, ingest_id = hint or "drop", names.derived_id(name, digest)
    delivery = store.Delivery(ingest_id, digest, name, st.st_size, source, st.st_mtime)
    # The bytes read here are the ones validated, stored and archived (or quarantined): the
    # drop file is never opened again by path, whatever its writer puts there meanwhile (a
    # file past the limit is the one exception, see quarantine.place).
    item = Item(path, delivery, data=data, ident=(st.st_dev, st.st_ino))
    if len(data) > limit:
        item.data = None
        item.error = {"reason": f"file is larger than the {limit}-byte limit", "field": "",
                      "line": None}
    return item


def parse_checked(data: bytes, zone: str) -> Day:
    """core.dayfile_reader.parse, where any failure is a DayFileError with a reason.

    A file the checks choke on (a bug, a stack overflow) is a bad file, quarantined with a
    reason, never an exception that fails its whole batch on every rescan or a 500 upload.
    """
    try:
        return parse(data, legacy_timezone=zone)
    except DayFileError:
        raise
    except Exception as exc:
        log.exception("checking a day file failed; it is refused as unreadable")
        raise DayFileError(f"Tempest could not check this file "
                           f"({type(exc).__name__})") from exc


def parse_job(job: tuple[bytes, str]) -> tuple[Day | None, dict | None]:
    """Parse one file (a top-level function so a process pool can run it)."""
    data, zone = job
    try:
        return parse_checked(data, zone), None
    except DayFileError as exc:  # returned, not raised: its fields would not survive pickling
        return None, exc.as_dict()


def _peek_serial(data: bytes) -> str | None:
    """The serial the file claims (to pick the meter's zone, and to label a bad file)."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    serial = doc.get("serial") if isinstance(doc, dict) else None
    return serial if names.valid_serial(serial) else None


class Processor:
    """Runs batches for one ingest worker, on the worker's own connection."""

    def __init__(self, conn: sqlite3.Connection, layout: Layout, config, pool=None,
                 on_broken_pool=None, background_moves: bool = False):
        self.conn = conn
        self.pool = pool  # a ProcessPoolExecutor, or None to parse in this thread
        self.on_broken_pool = on_broken_pool
        self.layout = layout
        self.limit = int(config["MAX_CONTENT_LENGTH"])
        self.legacy_timezone = config["LEGACY_TIMEZONE"]
        self.config = config
        self.scope = Scope(conn, layout.drop, config)
        # background_moves: a batch's files leave the drop folder while the next batch is
        # parsed and committed (the watch loop); process() returns before they have moved.
        self.mover = Mover(background=background_moves)

    def _zone_of(self, serial: str | None) -> str:
        if serial:
            row = self.conn.execute("SELECT timezone FROM meters WHERE serial = ?",
                                    (serial,)).fetchone()
            if row is not None and row["timezone"]:
                return row["timezone"]
        return self.legacy_timezone

    def _prepare(self, item: Item) -> None:
        row = self.conn.execute("SELECT * FROM files WHERE id = ?",
                                (item.delivery.id,)).fetchone()
        if row is not None and row["hash"] != item.delivery.hash:
            # Another file claimed this id (two names with the same upload marker): never let
            # it overwrite the first one's archive copy; it gets an id of its own.
            d = item.delivery
            item.delivery = store.Delivery(names.derived_id(d.name, d.hash), d.hash, d.name,
                                           d.size, d.source, d.delivered_at)
            row = self.conn.execute("SELECT * FROM files WHERE id = ?",
                                    (item.delivery.id,)).fetchone()
        if row is not None:
            item.done = dict(row)
            return
        if item.error is not None:
            return
        # The very bytes already stored (a redial, a re-sent upload): no need to parse.
        item.known = store.stored_as(self.conn, item.delivery.hash)
        if item.known is not None:
            return
        # The zone matters only to seed-era files whose times carry no offset: parse with the
        # default first and again with the meter's own zone if it has another (_parse).
        item.zone = self.legacy_timezone

    def _take_verdicts(self, items: list[Item]) -> None:
        """Uploads' files at the top of the drop folder: the upload route's parse of these
        very bytes, where it left one (ingest/verdict.py), so each file is validated once.
        One query for the batch (one round trip on PostgreSQL)."""
        wanted: dict[str, list[Item]] = {}
        for item in items:
            mark = names.marked(item.delivery.name)
            if mark is None or mark[0] != "upload" or item.in_folder:
                continue
            item.verdict = mark[1]
            if item.done is None and item.error is None and item.known is None:
                wanted.setdefault(mark[1], []).append(item)
        if not wanted:
            return
        # Two names with one upload id (a copy): only bytes with the verdict's sha256 take it.
        digests = {i: group[0].delivery.hash for i, group in wanted.items()}
        for ingest_id, day in verdict.take_many(self.conn, digests).items():
            for item in wanted[ingest_id]:
                if item.delivery.hash == digests[ingest_id]:
                    item.day = day
                    item.own_write = item.path.parent == self.layout.drop

    def _parse(self, items: list[Item]) -> None:
        """Validate the new files: in this thread, or spread over the pool's processes."""
        jobs = [(i.data, i.zone) for i in items]
        results = None
        if self.pool is not None and len(jobs) > 1:
            try:
                results = list(self.pool.map(parse_job, jobs))
            except BrokenProcessPool:
                log.error("a parse process died; parsing this batch in the worker thread")
                self.pool = None
                if self.on_broken_pool is not None:
                    self.pool = self.on_broken_pool()
        if results is None:
            results = [parse_job(job) for job in jobs]
        for item, (day, error) in zip(items, results, strict=True):
            item.day, item.error = day, error
            if day is not None and day.shape != "current":
                zone = self._zone_of(day.serial)
                if zone != item.zone:
                    item.zone = zone
                    item.day, item.error = parse_job((item.data, zone))
            if item.error is not None:
                item.serial = _peek_serial(item.data)  # to label the quarantined file

    def _recheck(self, item: Item) -> None:
        """Inside the write transaction: another node on the same store may have recorded
        this very file since _prepare looked (both handed it); then it is done here too."""
        row = self.conn.execute("SELECT * FROM files WHERE id = ?",
                                (item.delivery.id,)).fetchone()
        if row is not None and row["hash"] == item.delivery.hash:
            item.done = dict(row)

    def _record(self, item: Item, now: float) -> None:
        if item.done is not None:
            item.outcome, item.dest = item.done["outcome"], item.done["path"]
            return
        if item.known is not None or item.day is not None:
            serial = item.known["serial"] if item.known is not None else item.day.serial
            refused = self.scope.refusal(item, serial)
            if refused is not None:  # another meter's day, or an unknown meter's: quarantined
                item.error, item.serial, item.day, item.known = refused, serial, None, None
        if item.known is not None or item.day is not None:
            item.delivery = dataclasses.replace(item.delivery, route=routes.of_delivery(
                self.conn, self.layout.drop, item.path, item.delivery.source,
                serial, item.delivery.name))
        if item.known is not None:
            known = item.known
            item.dest = self.layout.relative(self.layout.archive / known["serial"] / (
                names.archive_name(known["serial"], known["reading_day"], item.delivery.hash)))
            item.outcome = store.record_unchanged(self.conn, known, item.delivery, item.dest,
                                                  now).outcome
        elif item.day is not None:
            day = item.day
            dest = self.layout.archive / day.serial / names.archive_name(
                day.serial, day.reading_day, item.delivery.hash)
            item.dest = self.layout.relative(dest)
            result = store.record_day(self.conn, day, item.delivery, item.dest, now)
            item.outcome = result.outcome
        else:
            charge = self.scope.charge(item)
            full = limits.quarantine_refusal(self.conn, charge, item.delivery.size, self.config)
            if full is not None:  # the meter's quarantine allowance is used up: never kept
                limits.record_drop(self.conn, charge, item.delivery.size, item.delivery.name,
                                   item.error["reason"], full, item.delivery.id, now)
                item.outcome = "dropped"
                return
            qname = quarantine.record(self.conn, item.delivery, item.error, charge, now)
            item.outcome, item.dest = "quarantined", f"quarantine/{qname}"

    def _move(self, item: Item) -> Move | None:
        """Where the bytes read go now that the outcome is recorded (ingest/mover.py moves
        them; the drop file is removed only if its name still points at the file read)."""
        label = (f"{item.outcome} {item.path.name} -> {item.dest}"
                 if item.done is None and item.outcome else "")
        move = Move(item.path, item.ident, item.data, item.delivery.hash, label=label)
        if item.outcome == "quarantined":
            qrow = quarantine.row(self.conn, item.delivery.id)
            if qrow is None:  # recorded as quarantined by the upload route: same rule
                return None
            move.quarantine = (self.layout.quarantine, qrow["name"], quarantine.reason_doc(qrow))
        elif item.dest and item.data is not None:
            move.dest = self.layout.data_dir / item.dest
            move.link = item.own_write
        elif item.outcome != "dropped":  # dropped: counted and logged, the file removed
            return None
        return move

    def close(self) -> None:
        """Wait for the last batch's files to move, and stop the mover's threads."""
        self.mover.close()

    def process(self, paths: list[tuple[Path, str | None]]) -> list[Item]:
        """Ingest these files; returns what happened to each (files already gone are skipped)."""
        items: list[Item] = []
        hints: dict[Path, str | None] = {}
        self.scope.begin()
        for path, hint in paths:  # a path met twice (a scan and an event) keeps its hint
            hints[path] = hints.get(path) or hint
        if self.mover.busy_with(hints):  # offered again before its move is done: let it finish
            self.mover.wait()
        for path, hint in hints.items():
            if names.ignored(path.name):
                continue
            item = _read(path, self.limit, hint)
            if item is not None:
                self.scope.assign(item)
                self._prepare(item)
                items.append(item)
        if not items:
            return []
        self._take_verdicts(items)
        self._parse([i for i in items if i.done is None and i.error is None and i.known is None
                     and i.day is None])
        now = time.time()
        # Two names carrying the same upload id in one batch: record the first; the other stays
        # in the drop folder and gets an id of its own on the next pass (see _prepare).
        ids: set[str] = set()
        # On PostgreSQL the batch's statements go out pipelined: a round trip per read, not
        # one per statement (tempest/db/pg.py); any failure still rolls the batch back.
        with transaction(self.conn), pipelined(self.conn):
            for item in items:
                if item.done is None and item.delivery.id in ids:
                    continue
                ids.add(item.delivery.id)
                if item.done is None:
                    self._recheck(item)
                self._record(item, now)
            verdict.discard(self.conn, sorted({i.verdict for i in items if i.verdict}))
        self.mover.submit([m for m in map(self._move, items) if m is not None])
        return items
