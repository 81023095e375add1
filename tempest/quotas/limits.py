"""The quota checks. Each says None (go on) or why not, in words a meter's operator can act on.

State lives in the store (`meter_quota`), not in a process, so the web workers of a gunicorn
Tempest share one allowance per meter; the upload check is one small write per upload, like
a heartbeat's. Times are passed in, never read here, so tests can place them.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tempest import store

log = logging.getLogger("tempest.quota")

HOUR = 3600.0
RESERVE_RETRY_SECONDS = 300  # what a refused uploader is told to wait while the disk is low
LOG_EVERY_SECONDS = 60.0  # ingest-log lines about dropped files, per meter, at most this often
MAX_FOLDER_ENTRIES = 10_000  # a drop folder with more entries than this is over any quota


@dataclass(frozen=True)
class Refusal:
    status: int
    error: str
    reason: str
    retry_after: int | None = None  # seconds, for the Retry-After header


# -- the disk reserve ----------------------------------------------------------------------


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def disk_refusal(path: Path, config) -> Refusal | None:
    """Below the reserve, uploads wait (507), so what is already accepted can still be
    ingested and heartbeats and reads go on."""
    reserve = int(config["DISK_RESERVE_BYTES"])
    if reserve <= 0:
        return None
    try:
        free = free_bytes(path)
    except OSError:
        return None  # no folder yet: the write itself will say what is wrong
    if free >= reserve:
        return None
    return Refusal(507, "insufficient_storage",
                   f"Tempest's disk has {free} bytes free, less than its reserve of {reserve} "
                   "bytes (TEMPEST_DISK_RESERVE_BYTES): it takes no uploads until space is "
                   "freed; keep the file and send it again later", RESERVE_RETRY_SECONDS)


# -- upload token buckets --------------------------------------------------------------------


def _buckets(row, files_cap: float, bytes_cap: float, now: float) -> tuple[float, float]:
    """The files and bytes left now: what was left at the last upload, refilled evenly over
    an hour up to the cap (a clock that went back refills nothing)."""
    if row is None or row["refilled_at"] is None:
        return files_cap, bytes_cap
    elapsed = max(0.0, now - row["refilled_at"]) / HOUR
    return (min(files_cap, row["uploads"] + elapsed * files_cap),
            min(bytes_cap, row["upload_bytes"] + elapsed * bytes_cap))


def _state(conn: sqlite3.Connection, serial: str):
    return conn.execute("SELECT * FROM meter_quota WHERE serial = ?", (serial,)).fetchone()


def take_upload(conn: sqlite3.Connection, serial: str, size: int, config,
                now: float) -> Refusal | None:
    """Spend one upload and `size` bytes of the meter's hourly allowance, or refuse and say
    when to come back. Inside the caller's transaction (BEGIN IMMEDIATE: one count for all
    workers). Nothing is spent on a refusal."""
    files_cap = float(config["METER_UPLOADS_PER_HOUR"])
    bytes_cap = float(config["METER_UPLOAD_BYTES_PER_HOUR"])
    if size > bytes_cap:
        return Refusal(413, "too_large",
                       f"the file is {size} bytes, more than meter {serial}'s whole allowance "
                       f"of {int(bytes_cap)} bytes an hour (TEMPEST_METER_UPLOAD_BYTES_PER_HOUR)")
    files, nbytes = _buckets(_state(conn, serial), files_cap, bytes_cap, now)
    if files < 1:
        return Refusal(429, "too_many_uploads",
                       f"meter {serial} has used its {int(files_cap)} uploads an hour "
                       "(TEMPEST_METER_UPLOADS_PER_HOUR); keep the file and send it again later",
                       math.ceil((1 - files) * HOUR / files_cap))
    if nbytes < size:
        return Refusal(429, "too_many_bytes",
                       f"meter {serial} has used its {int(bytes_cap)} bytes an hour "
                       "(TEMPEST_METER_UPLOAD_BYTES_PER_HOUR); keep the file and send it again "
                       "later", math.ceil((size - nbytes) * HOUR / bytes_cap))
    conn.execute(
        "INSERT INTO meter_quota (serial, uploads, upload_bytes, refilled_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (serial) DO UPDATE SET uploads = excluded.uploads, "
        "upload_bytes = excluded.upload_bytes, refilled_at = excluded.refilled_at",
        (serial, files - 1, nbytes - size, now))
    return None


# -- quarantine ------------------------------------------------------------------------------


def quarantined(conn: sqlite3.Connection, serial: str | None) -> tuple[int, int]:
    """(files, bytes) of the meter's unresolved quarantine (serial None: files naming none)."""
    row = conn.execute("SELECT count(*), COALESCE(SUM(size), 0) FROM quarantine "
                       "WHERE serial IS ? AND resolved_at IS NULL", (serial,)).fetchone()
    return row[0], row[1]


def quarantine_refusal(conn: sqlite3.Connection, serial: str | None, size: int,
                       config) -> str | None:
    """Why a bad file of this meter is not kept in quarantine (its allowance is used up)."""
    cap = int(config["METER_QUARANTINE_BYTES"])
    _, held = quarantined(conn, serial)
    if held + size <= cap:
        return None
    who = f"meter {serial}'s" if serial else "the quarantine of files that name no meter"
    return (f"not kept: {who} quarantine holds {held} bytes of its {cap}-byte allowance "
            "(TEMPEST_METER_QUARANTINE_BYTES); resolve or discard its quarantined files")


def record_drop(conn: sqlite3.Connection, serial: str | None, size: int, name: str,
                why_bad: str, why_dropped: str, file_id: str | None, now: float) -> None:
    """Count a bad file that was dropped rather than quarantined, inside the caller's
    transaction, and log it: always to the process log, and at most once a minute per meter
    to the store's ingest log (with the counts so far), so a flood of bad files cannot grow
    the store either."""
    key = serial or ""
    conn.execute("INSERT INTO meter_quota (serial) VALUES (?) ON CONFLICT (serial) DO NOTHING",
                 (key,))
    conn.execute("UPDATE meter_quota SET dropped_files = dropped_files + 1, "
                 "dropped_bytes = dropped_bytes + ?, dropped_at = ?, dropped_reason = ? "
                 "WHERE serial = ?", (size, now, why_dropped, key))
    row = _state(conn, key)
    n = row["dropped_files"]
    message = (f"dropped {name} ({size} bytes; {why_bad}): {why_dropped}; "
               f"{n} file{'' if n == 1 else 's'} ({row['dropped_bytes']} bytes) dropped for "
               f"{'meter ' + serial if serial else 'files that name no meter'} so far")
    log.warning("%s", message)
    if row["logged_at"] is None or not 0 <= now - row["logged_at"] < LOG_EVERY_SECONDS:
        store.log(conn, now, file_id, serial, None, "dropped", message)
        conn.execute("UPDATE meter_quota SET logged_at = ? WHERE serial = ?", (now, key))


# -- a meter's rsync drop folder --------------------------------------------------------------


def folder_bytes(folder: Path, stop_above: int) -> int:
    """Bytes under a meter's drop folder (files, and folders at their own size), never
    following a link. It stops once past `stop_above` or after MAX_FOLDER_ENTRIES entries (then
    answering more than `stop_above`), so a hostile tree cannot stall the ingest worker."""
    total = seen = 0
    stack = [folder]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                entries = list(it)
        except OSError:
            continue
        for entry in entries:
            seen += 1
            try:
                st = entry.stat(follow_symlinks=False)
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
            except OSError:
                continue
            total += st.st_size
            if total > stop_above or seen > MAX_FOLDER_ENTRIES:
                return max(total, stop_above + 1)
    return total


def folder_refusal(folder: Path, serial: str, config) -> dict | None:
    """A quarantine reason for the files of a meter's drop folder holding more than its quota."""
    cap = int(config["METER_DROP_BYTES"])
    if folder_bytes(folder, cap) <= cap:
        return None
    return {"reason": f"meter {serial}'s drop folder ({serial}/) holds more than its "
                      f"{cap}-byte quota (TEMPEST_METER_DROP_BYTES): its files are quarantined "
                      "until it is back under; re-ingest them once the meter is fixed",
            "field": "", "line": None}


# -- what an operator (or the meter) can see -------------------------------------------------


def usage(conn: sqlite3.Connection, serial: str, config, now: float) -> dict:
    files_cap = int(config["METER_UPLOADS_PER_HOUR"])
    bytes_cap = int(config["METER_UPLOAD_BYTES_PER_HOUR"])
    row = _state(conn, serial)
    files, nbytes = _buckets(row, files_cap, bytes_cap, now)
    qfiles, qbytes = quarantined(conn, serial)
    return {
        "serial": serial,
        "uploads": {"per_hour": files_cap, "left": round(files, 3)},
        "upload_bytes": {"per_hour": bytes_cap, "left": int(nbytes)},
        "quarantine": {"files": qfiles, "bytes": qbytes,
                       "limit": int(config["METER_QUARANTINE_BYTES"])},
        "drop_folder": {"limit": int(config["METER_DROP_BYTES"])},
        "dropped": {"files": row["dropped_files"] if row else 0,
                    "bytes": row["dropped_bytes"] if row else 0,
                    "last_at": row["dropped_at"] if row else None,
                    "last_reason": row["dropped_reason"] if row else None},
    }
