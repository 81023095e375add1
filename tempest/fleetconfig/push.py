"""Push a config to a meter's agent: `POST <agent_url>config` with the agent key.

The address is the one the inventory registered (agentaddr.py), never a heartbeat's; https://
agents are verified (TEMPEST_AGENT_CA_BUNDLE) and redirects are not followed, so the key goes to
that address only. Every push is recorded in `config_pushes` with the agent's answer, masked
(core.masking) with the pushed config's secrets, as is every refusal's reason.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from core import masking
from tempest.db import transaction
from tempest.fleetconfig import agentaddr, agentkeys, desired

TIMEOUT_S = 10.0


class PushRefused(Exception):
    """Tempest cannot push: no registered agent address, no agent key, or a bad config."""

    def __init__(self, error: str, reason: str, field: str | None = None):
        super().__init__(reason)
        self.error = error
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class Pushed:
    ok: bool
    status: int | None  # the agent's HTTP status, None when it did not answer
    answer: dict  # the agent's JSON answer, or {"error", "reason"} when it did not answer
    agent_url: str


def _record(conn: sqlite3.Connection, serial: str, pushed: Pushed, now: float) -> None:
    with transaction(conn):
        conn.execute(
            "INSERT INTO config_pushes (serial, at, agent_url, config_hash, status, result) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (serial, now, pushed.agent_url, pushed.answer.get("config_hash") if pushed.ok
             else None, pushed.status, json.dumps(pushed.answer)[:4000]))


def push(conn: sqlite3.Connection, secrets_dir: Path, serial: str, raw: dict, config=None,
         timeout: float = TIMEOUT_S) -> Pushed:
    """`config`: Tempest's settings (the agents' TLS settings); None: the defaults."""
    row = conn.execute("SELECT serial FROM meters WHERE serial = ?", (serial,)).fetchone()
    if row is None:
        raise PushRefused("not_found", f"no meter {serial}")
    try:
        to = agentaddr.target(conn, config or {}, serial)
    except agentaddr.NoTarget as exc:
        raise PushRefused(exc.error, exc.reason) from exc
    key = agentkeys.get(secrets_dir, serial)
    if key is None:
        raise PushRefused("no_agent_key", f"Tempest has no agent key for meter {serial} "
                          "(PUT /api/v1/meters/<serial>/agent-key)")
    try:
        desired.check(serial, raw)
    except desired.BadDesiredConfig as exc:
        raise PushRefused("bad_request", masking.mask(exc.reason, raw), exc.field) from exc
    try:
        r = requests.post(to.url + "config", json=raw, headers={"x-api-key": key},
                          timeout=timeout, allow_redirects=False, verify=to.verify)
    except requests.RequestException as exc:
        pushed = Pushed(False, None, {"error": "unreachable",
                                      "reason": f"the agent did not answer: {type(exc).__name__}"},
                        to.url)
    else:
        try:
            answer = r.json()
        except ValueError:
            answer = {"error": "bad_answer", "reason": f"HTTP {r.status_code}, not JSON"}
        if not isinstance(answer, dict):
            answer = {"answer": answer}
        # An agent of an older release may quote a secret in its refusal: never keep it.
        answer = masking.mask_doc(answer, raw, {"agent": {"key": key}})
        pushed = Pushed(r.status_code == 200, r.status_code, answer, to.url)
    _record(conn, serial, pushed, time.time())
    return pushed


def recent(conn: sqlite3.Connection, serial: str, limit: int = 10) -> list:
    return conn.execute("SELECT id, at, agent_url, config_hash, status, result FROM config_pushes "
                        "WHERE serial = ? ORDER BY id DESC LIMIT ?", (serial, limit)).fetchall()
