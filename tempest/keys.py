"""Per-meter API keys: issue, rotate, revoke, check. Only a hash is stored.

Keys are 32 random bytes, so a plain sha256 is as good as a slow password hash here (nothing to
brute-force). A key is found by its hash (indexed), then compared again in constant time.
Keys never appear in logs or in any GET answer.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass

from tempest.db import transaction

MIN_KEY_LENGTH = 16
MAX_KEY_LENGTH = 256  # serial_for() never looks a longer key up
# What an x-api-key header can carry whole: visible ASCII, no spaces or line breaks (a key
# with a trailing newline could be stored but never sent). fullmatch: `$` would let "\n" in.
_KEY = re.compile(f"[!-~]{{{MIN_KEY_LENGTH},{MAX_KEY_LENGTH}}}")
KEY_RULE = f"{MIN_KEY_LENGTH} to {MAX_KEY_LENGTH} visible ASCII characters (no spaces)"


class KeyExists(Exception):
    """The meter already has a key and the caller did not ask to rotate it."""


class KeyHeldElsewhere(Exception):
    """The key given is another meter's: one key, one meter (keys are looked up by hash)."""


def valid_key(key: object) -> bool:
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


class UnknownMeter(LookupError):
    pass


def new_key() -> str:
    return secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class Issued:
    serial: str
    key: str | None  # None when nothing changed (the key already in place was kept)
    changed: bool
    message: str


def add(conn: sqlite3.Connection, serial: str, *, timezone: str | None = None,
        rotate: bool = False, key: str | None = None) -> Issued:
    """Register a meter and issue its key, idempotently.

    - new serial (or one whose key was revoked): a key is issued (`key`, or a random one);
    - existing key and `key` given: unchanged if it is the same key, else KeyExists;
    - existing key, no `key`: unchanged (the key cannot be shown again) unless `rotate`;
    - `key` held by another meter: KeyHeldElsewhere, before anything is written.
    """
    if key is not None and not valid_key(key):
        raise ValueError(f"a key is {KEY_RULE}")
    now = time.time()
    with transaction(conn):
        if key is not None:
            holder = conn.execute("SELECT serial FROM meters WHERE key_hash = ?",
                                  (hash_key(key),)).fetchone()
            concentrator = conn.execute("SELECT 1 FROM concentrators WHERE key_hash = ?",
                                        (hash_key(key),)).fetchone()
            if concentrator is not None or (holder is not None and holder["serial"] != serial):
                # Named without the holder: the caller learns only that the key is taken.
                raise KeyHeldElsewhere("this key is already held by another meter; "
                                       "give each meter a key of its own")
        row = conn.execute("SELECT key_hash, timezone FROM meters WHERE serial = ?",
                           (serial,)).fetchone()
        if row is None:
            conn.execute("INSERT INTO meters (serial, created_at) VALUES (?, ?)", (serial, now))
        tz_changed = timezone is not None and (row is None or row["timezone"] != timezone)
        if tz_changed:
            conn.execute("UPDATE meters SET timezone = ? WHERE serial = ?", (timezone, serial))
        current = row["key_hash"] if row is not None else None
        zone_note = f"; time zone set to {timezone}" if tz_changed else ""
        if current is not None and not rotate:
            if key is not None and hmac.compare_digest(current, hash_key(key)):
                return Issued(serial, None, tz_changed,
                              f"meter {serial} already has this key{zone_note}")
            if key is not None:
                raise KeyExists(f"meter {serial} already has a different key; "
                                "use --rotate to replace it")
            return Issued(serial, None, tz_changed,
                          f"meter {serial} already has a key (not shown again); "
                          f"use --rotate to issue a new one{zone_note}")
        issued = key or new_key()
        conn.execute("UPDATE meters SET key_hash = ?, key_issued_at = ?, key_revoked_at = NULL "
                     "WHERE serial = ?", (hash_key(issued), now, serial))
    verb = "rotated" if current is not None else "issued"
    return Issued(serial, issued, True, f"key {verb} for meter {serial}{zone_note}")


def revoke(conn: sqlite3.Connection, serial: str) -> bool:
    """Drop the meter's key (its data stays). False if it had none."""
    with transaction(conn):
        row = conn.execute("SELECT key_hash FROM meters WHERE serial = ?", (serial,)).fetchone()
        if row is None:
            raise UnknownMeter(serial)
        if row["key_hash"] is None:
            return False
        conn.execute("UPDATE meters SET key_hash = NULL, key_revoked_at = ? WHERE serial = ?",
                     (time.time(), serial))
    return True


def _holder(conn: sqlite3.Connection, key: str | None):
    """The meters row (serial, key_hash, timezone) the key belongs to, or None."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    digest = hash_key(key)
    row = conn.execute("SELECT serial, key_hash, timezone FROM meters WHERE key_hash = ?",
                       (digest,)).fetchone()
    if row is None or not hmac.compare_digest(row["key_hash"], digest):
        return None
    return row


def serial_for(conn: sqlite3.Connection, key: str | None) -> str | None:
    """The serial a key belongs to, or None."""
    row = _holder(conn, key)
    return None if row is None else row["serial"]


def meter_for(conn: sqlite3.Connection, key: str | None) -> tuple[str, str | None] | None:
    """(serial, time zone) of the meter a key belongs to, in one look-up (an upload needs
    both), or None."""
    row = _holder(conn, key)
    return None if row is None else (row["serial"], row["timezone"])


def key_state(row) -> str:
    if row["key_hash"] is not None:
        return "active"
    return "revoked" if row["key_revoked_at"] is not None else "none"
