"""The meter's delivery folders: what waits in outbox/, in which order, and where it goes.

The tick writes sealed files into outbox/ (loadmodel/ticker.py). Delivery only ever
*renames* them, to sent/ after Tempest took them or to rejected/ when they can never succeed,
so a `kill -9` leaves each file whole in exactly one folder, and a full disk cannot stop a
move (a rename needs no free blocks).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from core.durable import fsync_dir
from meter.delivery.files import write_atomic

# <serial>_<YYYY-MM-DD>.json: the only names the tick puts in the outbox.
# Matched whole (fullmatch): `$` would let a name ending in "\n" through.
_NAME = re.compile(r"(?P<serial>[A-Za-z0-9][A-Za-z0-9_.-]{0,63})_(?P<day>\d{4}-\d{2}-\d{2})\.json")
REASON_SUFFIX = ".reason.json"
LOCK_NAME = ".delivery.lock"


class Busy(RuntimeError):
    """Another delivery pass (cron, the agent) is running for this meter."""


@dataclass(frozen=True)
class Entry:
    name: str
    day: str | None  # the reading day in the name, None if the name is not a day file's
    serial: str | None


def parse_name(name: str) -> Entry:
    m = _NAME.fullmatch(name)
    if m is None:
        return Entry(name, None, None)
    return Entry(name, m.group("day"), m.group("serial"))


def day_file_name(serial: str, day: str) -> str:
    return f"{serial}_{day}.json"


class Folders:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.data = self.root / "data"
        self.outbox = self.root / "outbox"
        self.held = self.root / "held"
        self.sent = self.root / "sent"
        self.rejected = self.root / "rejected"

    def ensure(self) -> None:
        for d in (self.data, self.outbox, self.held, self.sent, self.rejected):
            d.mkdir(parents=True, exist_ok=True)

    # -- reading ------------------------------------------------------------------------------

    def pending(self) -> list[Entry]:
        """Outbox files, oldest reading day first, then by name. Hidden and temporary files
        (a write in progress) are never delivered."""
        try:
            names = os.listdir(self.outbox)
        except FileNotFoundError:
            return []
        entries = [parse_name(n) for n in names
                   if not n.startswith(".") and not n.endswith((".tmp", ".part"))
                   and (self.outbox / n).is_file()]
        # Names that are not day files sort first, so they are set aside before anything
        # else waits behind them.
        return sorted(entries, key=lambda e: (e.day or "", e.name))

    def backlog(self) -> int:
        return sum(1 for e in self.pending() if e.day is not None)

    def count(self, folder: Path, suffix: str = ".json") -> int:
        try:
            return sum(1 for n in os.listdir(folder)
                       if n.endswith(suffix) and not n.startswith(".")
                       and not n.endswith(REASON_SUFFIX))
        except FileNotFoundError:
            return 0

    def find_sealed(self, serial: str, day: str) -> tuple[str, Path] | None:
        """Where a sealed copy of `day` is kept: ("sent"|"outbox"|"held", path) or None. In
        sent/ the copy delivered last (`<name>.N.json`, highest N: a day rewritten by `backfill
        --force`, or a meter's quirks sending it again): the version Tempest keeps, since a
        later delivery of a day wins there."""
        name = day_file_name(serial, day)
        for label, folder in (("sent", self.sent), ("outbox", self.outbox), ("held", self.held)):
            p = folder / name
            if p.is_file():
                if label == "sent":
                    n = 1
                    while (folder / f"{name[:-5]}.{n}.json").is_file():
                        p = folder / f"{name[:-5]}.{n}.json"
                        n += 1
                return label, p
        return None

    # -- moving -------------------------------------------------------------------------------

    def _free_name(self, folder: Path, name: str, data: bytes | None) -> str:
        """`name`, unless a *different* file of that name is already there (a day rewritten by
        `backfill --force`): then a new name, so no delivered version is ever overwritten."""
        target = folder / name
        if not target.exists():
            return name
        if data is not None:
            with contextlib.suppress(OSError):
                if target.read_bytes() == data:
                    return name  # the same bytes again (a duplicate delivery): one copy
        stem = name[:-5] if name.endswith(".json") else name
        n = 1
        while (folder / f"{stem}.{n}.json").exists():
            n += 1
        return f"{stem}.{n}.json"

    def _move(self, src: Path, folder: Path, data: bytes | None) -> Path:
        name = self._free_name(folder, src.name, data)
        target = folder / name
        os.replace(src, target)
        fsync_dir(folder)
        if folder != src.parent:
            fsync_dir(src.parent)
        return target

    def to_sent(self, name: str, data: bytes | None = None) -> Path:
        return self._move(self.outbox / name, self.sent, data)

    def to_rejected(self, name: str, reason: dict, data: bytes | None = None) -> Path:
        """Move an outbox file to rejected/, with <name>.reason.json beside it.

        The reason is written first: a crash in between leaves the file in the outbox, where
        the next pass rejects it again. On a full disk the reason cannot be written, but the
        file still moves (the caller has logged the reason)."""
        name_out = self._free_name(self.rejected, name, data)
        try:
            write_atomic(self.rejected / (name_out + REASON_SUFFIX),
                         (json.dumps(reason, indent=1, sort_keys=True) + "\n").encode())
        except OSError as exc:
            reason["reason_file_error"] = str(exc)
        target = self.rejected / name_out
        os.replace(self.outbox / name, target)
        fsync_dir(self.rejected)
        fsync_dir(self.outbox)
        return target

    def keep_sent_copy(self, name: str, data: bytes) -> None:
        """Keep a regenerated day in sent/ so later redials send these very bytes."""
        target = self.sent / name
        if not target.exists():
            write_atomic(target, data)

    # -- one pass at a time -------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self):
        """Exclusive for one delivery pass: cron's `meter deliver` and the agent's POST /day
        must not move the same file twice. Raises Busy rather than waiting."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise Busy("another delivery pass is running for this meter") from exc
            yield
        finally:
            os.close(fd)  # closing releases the lock, also after a kill -9
