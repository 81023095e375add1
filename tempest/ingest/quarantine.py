"""Quarantine: files that failed validation, each with a reason file beside it.

`quarantine/<name>` holds the bytes as received and `quarantine/<name>.reason.json` says why
(`reason`, `field`, `line` from core.dayfile_reader.DayFileError, plus where it came from). The row
is written first and the files after, so a crash in between is finished by the next pass over
the drop folder (the file's id is already known as quarantined).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

from tempest import names
from tempest.db import transaction
from tempest.ingest import dropbox
from tempest.isotime import iso
from tempest.settings import Layout
from tempest.store import Delivery, log

REASON_SUFFIX = ".reason.json"


class NotQuarantined(LookupError):
    """No such quarantined file, or it was already resolved or is gone."""


def record(conn: sqlite3.Connection, delivery: Delivery, error: dict, serial: str | None,
           now: float) -> str:
    """Rows for a quarantined file (inside the caller's transaction). Returns its file name."""
    qname = names.quarantine_name(delivery.name, delivery.id)
    conn.execute(
        "INSERT OR IGNORE INTO quarantine (id, name, original_name, serial, source, reason, "
        "field, line, hash, size, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (delivery.id, qname, delivery.name, serial, delivery.source, error["reason"],
         error.get("field") or None, error.get("line"), delivery.hash, delivery.size,
         delivery.delivered_at))
    conn.execute(
        "INSERT OR IGNORE INTO files (id, hash, serial, source, name, size, delivered_at, "
        "ingested_at, outcome, reason, path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'quarantined', ?, ?)",
        (delivery.id, delivery.hash, serial, delivery.source, delivery.name, delivery.size,
         delivery.delivered_at, now, error["reason"], f"quarantine/{qname}"))
    where = error.get("field") or "(file)"
    if error.get("line"):
        where += f" line {error['line']}"
    log(conn, now, delivery.id, serial, None, "quarantined",
        f"quarantined {delivery.name}: {where}: {error['reason']}")
    return qname


def reason_doc(row) -> dict:
    """The reason file's content, from a quarantine row."""
    return {"id": row["id"], "reason": row["reason"], "field": row["field"] or "",
            "line": row["line"], "file": row["name"], "original_name": row["original_name"],
            "serial": row["serial"], "source": row["source"], "sha256": row["hash"],
            "received_at": iso(row["received_at"])}


def place(qdir: Path, qname: str, doc: dict, *, data: bytes | None,
          src: Path | None = None, ident: tuple[int, int] | None = None) -> None:
    """Put the reason file, then the bytes, into the quarantine folder, durably (temporary
    name, fsync, rename, fsync the folder): the caller removes the original right after.

    `data` is what was received and read, never the drop file opened again: its writer may
    have renamed a link over it since. A file past the size limit was not read whole (data
    None); it is copied from `src` only if that is still the very file read (`ident`), never
    through a link, so an operator can raise the limit and re-ingest it."""
    body = (json.dumps(doc, indent=1) + "\n").encode()
    dropbox.write_atomic(qdir, qname + REASON_SUFFIX, body)
    if data is not None:
        dropbox.keep(qdir / qname, data, doc["sha256"])
    elif src is not None and ident is not None:
        dropbox.copy_same(src, ident, qdir / qname)


def row(conn: sqlite3.Connection, qid: str):
    return conn.execute("SELECT * FROM quarantine WHERE id = ?", (qid,)).fetchone()


def _open_row(conn: sqlite3.Connection, layout: Layout, qid: str):
    found = row(conn, qid)
    if found is None or found["resolved_at"] is not None:
        raise NotQuarantined(f"no unresolved quarantined file with id {qid}")
    path = layout.quarantine / found["name"]
    if not path.is_file():
        raise NotQuarantined(f"quarantined file {found['name']} is no longer there")
    return found, path


def reingest(conn: sqlite3.Connection, layout: Layout, qid: str) -> str:
    """Send a quarantined file through ingest again (say, once the meter's zone is set).

    It goes back into the drop folder under a new id; the row is marked resolved.
    """
    found, path = _open_row(conn, layout, qid)
    new_id = names.new_id()
    stem = names.safe(found["original_name"]).removesuffix(".json")
    stem = stem.split(".up-")[0].split(".re-")[0]
    # A rename, so the watcher sees it arrive (a hard link would show only as "created").
    layout.drop.mkdir(parents=True, exist_ok=True)
    os.replace(path, layout.drop / f"{stem}.re-{new_id}.json")
    now = time.time()
    with transaction(conn):
        conn.execute("UPDATE quarantine SET resolved_at = ?, resolution = ? WHERE id = ?",
                     (now, f"reingested as {new_id}", qid))
        log(conn, now, qid, found["serial"], None, "reingest",
            f"re-ingesting quarantined {found['name']} as {new_id}")
    (layout.quarantine / (found["name"] + REASON_SUFFIX)).unlink(missing_ok=True)
    return new_id


def discard(conn: sqlite3.Connection, layout: Layout, qid: str) -> None:
    found, path = _open_row(conn, layout, qid)
    now = time.time()
    with transaction(conn):
        conn.execute("UPDATE quarantine SET resolved_at = ?, resolution = 'discarded' "
                     "WHERE id = ?", (now, qid))
        log(conn, now, qid, found["serial"], None, "discarded",
            f"discarded quarantined {found['name']}")
    path.unlink(missing_ok=True)
    (layout.quarantine / (found["name"] + REASON_SUFFIX)).unlink(missing_ok=True)
