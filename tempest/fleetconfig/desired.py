"""The inventory's config for each meter, and drift: does the meter run it?

The inventory (Ansible) sends the whole config it deploys to a meter. Tempest checks it the way
the meter loads configs (`meter.config.from_dict`), keeps its hash (`core.configdoc.config_hash`
of the whole config, secrets included, exactly what the meter's heartbeats report as
`config_hash`) and stores it without secrets. A meter is `in_sync` when its last heartbeat's
hash equals the desired one, `drifted` when they differ, `unknown` when either is missing.
"""

from __future__ import annotations

import re
import sqlite3

from core import configdoc
from meter import config as meter_config
from tempest.db import transaction

DRIFT_STATES = ("in_sync", "drifted", "unknown")
_HASH = re.compile(r"sha256:[0-9a-f]{64}")  # fullmatch: `$` lets "\n" in

# The drift of a `meters m LEFT JOIN desired_config d` row, in SQL (for fleet filters and sorts).
DRIFT_SQL = ("CASE WHEN d.config_hash IS NULL OR m.config_hash IS NULL THEN 'unknown' "
             "WHEN d.config_hash = m.config_hash THEN 'in_sync' ELSE 'drifted' END")


class BadDesiredConfig(ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def drift(reported_hash: str | None, desired_hash: str | None) -> str:
    if not reported_hash or not desired_hash:
        return "unknown"
    return "in_sync" if reported_hash == desired_hash else "drifted"


def check(serial: str, raw, given_hash=None) -> tuple[dict, str]:
    """The config (validated like the meter does) and its hash; BadDesiredConfig names the field."""
    if not isinstance(raw, dict):
        raise BadDesiredConfig("config", "must be a JSON object (the meter's whole config)")
    if raw.get("serial") != serial:
        raise BadDesiredConfig("config.serial", f"must be {serial!r}, the meter's serial")
    try:
        # The replay CSV a config names lives on the meter, not here: checked there.
        meter_config.from_dict(raw, read_files=False)
    except meter_config.ConfigError as exc:
        raise BadDesiredConfig(f"config.{exc.field}" if exc.field else "config",
                               exc.reason) from exc
    if given_hash is not None:
        if not isinstance(given_hash, str) or not _HASH.fullmatch(given_hash):
            raise BadDesiredConfig("config_hash", "must be sha256: and 64 hex digits")
        return raw, given_hash
    return raw, configdoc.config_hash(raw)


def write(conn: sqlite3.Connection, serial: str, public_text: str, digest: str,
          source: str | None, now: float) -> bool:
    """Store a checked config (`public_text`: without secrets, sorted JSON) inside the caller's
    transaction (registration.py, which writes the agent's key and address with it). True if
    it changed."""
    old = conn.execute("SELECT config, config_hash FROM desired_config WHERE serial = ?",
                       (serial,)).fetchone()
    if old is not None and old["config_hash"] == digest and old["config"] == public_text:
        return False
    conn.execute("INSERT OR REPLACE INTO desired_config (serial, config, config_hash, source, "
                 "set_at) VALUES (?, ?, ?, ?, ?)", (serial, public_text, digest, source, now))
    return True


def get(conn: sqlite3.Connection, serial: str):
    return conn.execute("SELECT serial, config, config_hash, source, set_at FROM desired_config "
                        "WHERE serial = ?", (serial,)).fetchone()


def delete(conn: sqlite3.Connection, serial: str) -> bool:
    with transaction(conn):
        cur = conn.execute("DELETE FROM desired_config WHERE serial = ?", (serial,))
    return cur.rowcount > 0


def counts(conn: sqlite3.Connection) -> dict:
    """How many meters are in sync, drifted or unknown."""
    rows = conn.execute(f"SELECT {DRIFT_SQL} AS drift, count(*) AS n FROM meters m "
                        "LEFT JOIN desired_config d ON d.serial = m.serial GROUP BY 1").fetchall()
    out = dict.fromkeys(DRIFT_STATES, 0)
    out.update({r["drift"]: r["n"] for r in rows})
    return out
