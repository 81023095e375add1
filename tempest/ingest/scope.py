"""Who may deliver what into the drop folder (security review, finding 2).

    <drop>/            trusted writers only: Tempest's own upload and re-ingest routes, the
                       collect playbook (the control plane) and an operator's `tempest ingest`.
                       A file's serial comes from its content. An upload's name carries the
                       serial whose key sent it, and the content must be that meter's.
    <drop>/<serial>/   one meter's own folder: the only place its rsync key can write (the
                       drop account's authorized_keys pins each key to `rrsync -wo` into its
                       folder). Only that meter's days are taken from it, and what waits there
                       is held to TEMPEST_METER_DROP_BYTES.

Whatever the route, a file for a serial Tempest has not registered is quarantined with the
reason and never registers one: meters are added by `tempest meters add` (or the deploy).
Anything deeper than a meter's folder is never read.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sqlite3
from pathlib import Path

from tempest import names
from tempest.ingest import dropbox
from tempest.quotas import limits

# names.upload_name(): <serial>_<day>.up-<id>.json
_UPLOAD = re.compile(r"^(.+)_\d{4}-\d{2}-\d{2}\.up-[0-9a-f]{20}\.json\Z")  # \Z: `$` lets "\n" in


def meter_folders(drop: Path) -> list[Path]:
    """The meters' folders in the drop folder (real folders, not links; hidden ones skipped)."""
    try:
        with os.scandir(drop) as it:
            return [Path(e.path) for e in it
                    if not names.ignored(e.name) and e.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return []


def scan(drop: Path, settle_seconds: float, now: float | None = None) -> dropbox.Scan:
    """Files ready to ingest at the top of the drop folder and in each meter's folder."""
    ready: list[Path] = []
    settle_at = None
    for folder in [drop, *meter_folders(drop)]:
        found = dropbox.scan(folder, settle_seconds, now)
        ready += found.ready
        if found.settle_at is not None:
            settle_at = found.settle_at if settle_at is None else min(settle_at, found.settle_at)
    return dropbox.Scan(ready, settle_at)


def pending(drop: Path) -> int:
    """How many files wait in the drop folder and its meters' folders."""
    total = 0
    for folder in [drop, *meter_folders(drop)]:
        try:
            with os.scandir(folder) as it:
                total += sum(1 for e in it
                             if not names.ignored(e.name) and not e.is_dir(follow_symlinks=False))
        except FileNotFoundError:
            pass
    return total


def uploader(name: str) -> str | None:
    """The serial whose key sent an upload, from the name Tempest gave it."""
    m = _UPLOAD.match(name)
    return m.group(1) if m and names.valid_serial(m.group(1)) else None


def registered(conn: sqlite3.Connection, serial: str) -> bool:
    return conn.execute("SELECT 1 FROM meters WHERE serial = ?", (serial,)).fetchone() is not None


class Scope:
    """The rules above, for one ingest worker (on its connection)."""

    def __init__(self, conn: sqlite3.Connection, drop: Path, config):
        self.conn = conn
        self.drop = drop
        self.config = config
        self._over: dict[Path, dict | None] = {}

    def begin(self) -> None:
        """A new batch: a folder's size is measured again."""
        self._over.clear()

    def assign(self, item) -> None:
        """Say whose delivery the file is, from where it was found. A file in a meter's folder
        gets an id that covers the folder (the same name and bytes in two meters' folders are
        two deliveries, and one must never settle the other), and is refused while the folder
        holds more than its quota."""
        try:
            parts = item.path.relative_to(self.drop).parts
        except ValueError:
            return  # placed by the operator's own `tempest ingest`: trusted
        d = item.delivery
        if len(parts) == 1:
            mark = names.marked(d.name)
            item.scope = uploader(d.name) if mark and mark[0] == "upload" else None
            return
        serial, folder = parts[0], self.drop / parts[0]
        item.scope, item.in_folder = serial, True
        # A meter cannot claim an upload's id or source by naming its file like one.
        source = "rsync" if d.source == "rsync" else "drop"
        item.delivery = dataclasses.replace(
            d, id=names.derived_id(f"{serial}/{d.name}", d.hash), source=source)
        if item.error is None:
            if folder not in self._over:
                self._over[folder] = limits.folder_refusal(folder, serial, self.config)
            item.error = self._over[folder]

    def refusal(self, item, serial: str) -> dict | None:
        """Why a valid day of `serial` is not stored from where it came (inside the ingest
        transaction, so a meter removed meanwhile is not registered again)."""
        if item.scope is not None and serial != item.scope:
            where = (f"meter {item.scope}'s drop folder ({item.scope}/)" if item.in_folder
                     else f"an upload with meter {item.scope}'s key")
            return {"reason": f"the file is meter {serial}'s, but it came from {where}: a "
                              "meter delivers only its own days", "field": "serial", "line": None}
        if not registered(self.conn, serial):
            return {"reason": f"meter {serial} is not registered with Tempest, which takes no "
                              "days from a meter it does not know: register it (tempest meters "
                              f"add {serial}), then re-ingest this file", "field": "serial",
                    "line": None}
        return None

    @staticmethod
    def charge(item) -> str | None:
        """The meter a quarantined file counts against: who delivered it, where that is
        known (its folder, its upload key); else the serial it names."""
        return item.scope or item.serial
