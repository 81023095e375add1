"""What the deploy tells Tempest about a meter, checked as a whole and stored as a whole: the
inventory's config (desired.py), the agent key the config holds (agentkeys.py) and the agent's
address (agentaddr.py).

One meter's `PUT /api/v1/meters/<serial>/desired-config` and the batch's `PUT
/api/v1/desired-configs` both go through here, so they check the same things the same way.
Every part of a meter's registration is checked before anything is written (a bad agent key
or address never leaves the config written without them), and a batch is written in one
transaction and one write of the agent keys' file.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from core import configdoc
from tempest.db import transaction
from tempest.fleetconfig import agentaddr, agentkeys, desired

# The fields of one meter's registration (the batch's items add `serial`).
FIELDS = ("config", "source", "config_hash", "agent_url")


@dataclass(frozen=True)
class Registration:
    serial: str
    config_hash: str
    public_text: str  # the config without secrets, as stored (sorted JSON)
    source: str | None
    agent_key: str | None  # the config's agent.key (kept in the secrets folder only)
    agent_url: str | None  # None: not sent, the registered address stays


def check(serial: str, body: dict) -> Registration:
    """`body` ({config, source?, config_hash?, agent_url?}) for `serial` (whose form the caller
    checked), or desired.BadDesiredConfig naming the field."""
    source = body.get("source")
    if source is not None and not isinstance(source, str):
        raise desired.BadDesiredConfig("source", "source must be a string")
    url = body.get("agent_url")
    if url is not None:
        try:
            url = agentaddr.check_url(url)
        except agentaddr.BadAgentUrl as exc:
            raise desired.BadDesiredConfig("agent_url", str(exc)) from exc
    raw, digest = desired.check(serial, body.get("config"), body.get("config_hash"))
    agent = raw.get("agent") if isinstance(raw.get("agent"), dict) else {}
    key = agent.get("key") if isinstance(agent.get("key"), str) else None
    if key is not None:
        try:
            agentkeys.check_key(key)
        except agentkeys.BadAgentKey as exc:
            raise desired.BadDesiredConfig("config.agent.key", str(exc)) from exc
    public = json.dumps(configdoc.public_config(raw), sort_keys=True)
    return Registration(serial, digest, public, (source or "")[:64] or None, key, url)


def store(conn: sqlite3.Connection, secrets_dir: Path, regs: list[Registration], *,
          create: bool, now: float | None = None) -> dict[str, bool | None]:
    """Write every registration in one transaction: {serial: changed}, None for a serial
    Tempest does not know when not `create` (nothing of it is written). With `create` a new
    serial is registered as a meter (without a key), as one meter's PUT always did."""
    now = time.time() if now is None else now
    out: dict[str, bool | None] = {}
    with transaction(conn):
        if create:
            conn.executemany("INSERT OR IGNORE INTO meters (serial, created_at) VALUES (?, ?)",
                             [(r.serial, now) for r in regs])
            known = {r.serial for r in regs}
        else:
            known = _known(conn, [r.serial for r in regs])
        held = agentkeys.KEYS.read(secrets_dir)
        keys: dict[str, str] = {}
        for reg in regs:
            if reg.serial not in known:
                out[reg.serial] = None
                continue
            changed = desired.write(conn, reg.serial, reg.public_text, reg.config_hash,
                                    reg.source, now)
            if reg.agent_url is not None:
                changed = agentaddr.write_url(conn, reg.serial, reg.agent_url, reg.source,
                                              now) or changed
            if reg.agent_key is not None:
                keys[reg.serial] = reg.agent_key
                changed = changed or held.get(reg.serial) != reg.agent_key
            out[reg.serial] = changed
        # Last, inside the transaction: if the keys' file cannot be written, nothing is.
        if keys:
            agentkeys.KEYS.update(secrets_dir, keys)
    return out


def _known(conn: sqlite3.Connection, serials: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(serials), 500):  # well under any store's parameter limit
        part = serials[start:start + 500]
        marks = ", ".join("?" * len(part))
        found.update(r["serial"] for r in conn.execute(
            f"SELECT serial FROM meters WHERE serial IN ({marks})", part))
    return found
