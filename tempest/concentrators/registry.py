"""Concentrators and the meters behind them: register, issue keys, assign, find by key.

A concentrator's key is 32 random bytes stored as a sha256, as meter keys are
(tempest/keys.py); it is looked up in its own table, so a concentrator key never opens a
per-meter route and a meter key never opens a concentrator route. One key is never both: a
key given for a concentrator that a meter holds (or the other way round) is refused.
"""

from __future__ import annotations

import hmac
import re
import sqlite3
import time
from dataclasses import dataclass

from tempest import keys
from tempest.db import transaction

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # as a serial: it names log lines
ID_RULE = "1 to 64 of A-Z a-z 0-9 _ . -, starting with a letter or digit, never '..'"


class UnknownConcentrator(LookupError):
    pass


def valid_id(value: object) -> bool:
    return isinstance(value, str) and bool(_ID.fullmatch(value)) and ".." not in value


@dataclass
class Issued:
    id: str
    key: str | None  # None when the key in place was kept
    changed: bool
    message: str


def _held_by_meter(conn: sqlite3.Connection, digest: str) -> bool:
    return conn.execute("SELECT 1 FROM meters WHERE key_hash = ?", (digest,)).fetchone() is not None


def add(conn: sqlite3.Connection, cid: str, *, rotate: bool = False,
        key: str | None = None) -> Issued:
    """Register a concentrator and issue its key, idempotently (as keys.add does for meters):
    an existing key is kept unless `rotate`; the same `key` again changes nothing; a different
    one is keys.KeyExists; a key another concentrator or a meter holds is keys.KeyHeldElsewhere."""
    if not valid_id(cid):
        raise ValueError(f"a concentrator id is {ID_RULE}")
    if key is not None and not keys.valid_key(key):
        raise ValueError(f"a key is {keys.KEY_RULE}")
    now = time.time()
    with transaction(conn):
        if key is not None:
            digest = keys.hash_key(key)
            other = conn.execute("SELECT id FROM concentrators WHERE key_hash = ?",
                                 (digest,)).fetchone()
            if (other is not None and other["id"] != cid) or _held_by_meter(conn, digest):
                raise keys.KeyHeldElsewhere("this key is already held by another concentrator "
                                            "or a meter; give each its own")
        row = conn.execute("SELECT key_hash FROM concentrators WHERE id = ?", (cid,)).fetchone()
        if row is None:
            conn.execute("INSERT INTO concentrators (id, created_at) VALUES (?, ?)", (cid, now))
        current = row["key_hash"] if row is not None else None
        if current is not None and not rotate:
            if key is not None and hmac.compare_digest(current, keys.hash_key(key)):
                return Issued(cid, None, False, f"concentrator {cid} already has this key")
            if key is not None:
                raise keys.KeyExists(f"concentrator {cid} already has a different key; "
                                     "use --rotate to replace it")
            return Issued(cid, None, False, f"concentrator {cid} already has a key (not shown "
                          "again); use --rotate to issue a new one")
        issued = key or keys.new_key()
        conn.execute("UPDATE concentrators SET key_hash = ?, key_issued_at = ? WHERE id = ?",
                     (keys.hash_key(issued), now, cid))
    verb = "rotated" if current is not None else "issued"
    return Issued(cid, issued, True, f"key {verb} for concentrator {cid}")


def id_for(conn: sqlite3.Connection, key: str | None) -> str | None:
    """The concentrator a key belongs to, or None."""
    if not key or len(key) > keys.MAX_KEY_LENGTH:
        return None
    digest = keys.hash_key(key)
    row = conn.execute("SELECT id, key_hash FROM concentrators WHERE key_hash = ?",
                       (digest,)).fetchone()
    if row is None or not hmac.compare_digest(row["key_hash"], digest):
        return None
    return row["id"]


@dataclass
class Assigned:
    assigned: list[str]  # newly behind this concentrator (and registered, if they were not)
    moved: list[dict]  # {"serial", "from"}: taken from another concentrator
    unchanged: list[str]  # already behind it


def assign(conn: sqlite3.Connection, cid: str, serials: list[str]) -> Assigned:
    """Put `serials` behind concentrator `cid`, in one transaction. A meter not yet registered
    is registered (without a key of its own: it is reached only through the concentrator); a
    meter behind another concentrator is moved, and that one is refused for it from now on."""
    now = time.time()
    out = Assigned([], [], [])
    with transaction(conn):
        if conn.execute("SELECT 1 FROM concentrators WHERE id = ?", (cid,)).fetchone() is None:
            raise UnknownConcentrator(cid)
        for serial in serials:
            conn.execute("INSERT OR IGNORE INTO meters (serial, created_at) VALUES (?, ?)",
                         (serial, now))
            row = conn.execute("SELECT concentrator FROM concentrator_meters WHERE serial = ?",
                               (serial,)).fetchone()
            if row is None:
                conn.execute("INSERT INTO concentrator_meters (serial, concentrator, "
                             "assigned_at) VALUES (?, ?, ?)", (serial, cid, now))
                out.assigned.append(serial)
            elif row["concentrator"] == cid:
                out.unchanged.append(serial)
            else:
                conn.execute("UPDATE concentrator_meters SET concentrator = ?, assigned_at = ? "
                             "WHERE serial = ?", (cid, now, serial))
                out.moved.append({"serial": serial, "from": row["concentrator"]})
    return out


def release(conn: sqlite3.Connection, cid: str, serial: str) -> bool:
    """Take `serial` from behind `cid` (False if it was not there). Its data stays."""
    with transaction(conn):
        cur = conn.execute("DELETE FROM concentrator_meters WHERE serial = ? AND "
                           "concentrator = ?", (serial, cid))
    return cur.rowcount > 0


def revoke(conn: sqlite3.Connection, cid: str) -> bool:
    """Drop the concentrator's key: its batches get 401. False if it had none."""
    with transaction(conn):
        row = conn.execute("SELECT key_hash FROM concentrators WHERE id = ?", (cid,)).fetchone()
        if row is None:
            raise UnknownConcentrator(cid)
        if row["key_hash"] is None:
            return False
        conn.execute("UPDATE concentrators SET key_hash = NULL WHERE id = ?", (cid,))
    return True


def seen(conn: sqlite3.Connection, cid: str, now: float) -> None:
    with transaction(conn):
        conn.execute("UPDATE concentrators SET last_seen = ? WHERE id = ?", (now, cid))


def behind(conn: sqlite3.Connection, cid: str, serials: set[str]) -> dict[str, str | None]:
    """Of `serials`, where each is registered: {serial: concentrator id or None}. One query
    per batch, so a batch of thousands is checked at the cost of one index scan."""
    found: dict[str, str | None] = dict.fromkeys(serials)
    wanted = sorted(serials)
    for start in range(0, len(wanted), 500):  # SQLite's bound-variable limit
        chunk = wanted[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute("SELECT serial, concentrator FROM concentrator_meters "
                                f"WHERE serial IN ({marks})", chunk):
            found[row["serial"]] = row["concentrator"]
    return found
