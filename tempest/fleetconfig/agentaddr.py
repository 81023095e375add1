"""Where Tempest calls each meter's agent: the address the inventory registered, never the one
a meter reports.

A heartbeat's `agent_url` is the meter's own claim, and anyone who holds a meter's Tempest key
can send heartbeats: if Tempest called that address, a heartbeat could send the next config
push, with the meter's agent key, to any server. So the address is registered by the deploy,
with the admin token, beside the agent key (the tempest_registration role sends it with the
inventory's config: `PUT .../desired-config` with `agent_url`; by hand, `PUT .../agent-key`
with `url`), and kept here. The heartbeat's `agent_url` is still recorded and shown, and used
for nothing.

The same goes for how: https:// addresses are verified against TEMPEST_AGENT_CA_BUNDLE (or the
system's CAs), and TEMPEST_AGENT_HTTPS_ONLY refuses plain http (settings.py beside this).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from tempest.db import transaction
from tempest.fleetconfig import settings

MAX_URL = 512


class BadAgentUrl(ValueError):
    pass


class NoTarget(Exception):
    """Tempest will not call this meter's agent: no registered address, or plain http where
    only https is allowed."""

    def __init__(self, error: str, reason: str):
        super().__init__(reason)
        self.error = error
        self.reason = reason


@dataclass(frozen=True)
class Target:
    url: str  # ends with "/"
    verify: str | bool  # requests' verify=: the CA bundle, or True for the system's CAs


def check_url(url) -> str:
    """An http(s) base URL with a host and nothing else (no user, query or fragment), ending
    with "/"."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL or not url.isprintable():
        raise BadAgentUrl(f"an agent address is an http:// or https:// URL of at most {MAX_URL} "
                          "characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a port out of range)
    except ValueError as exc:
        raise BadAgentUrl(f"not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadAgentUrl("an agent address is an http:// or https:// URL with a host")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise BadAgentUrl("an agent address has no user, password, query or fragment")
    return url if url.endswith("/") else url + "/"


def set_url(conn: sqlite3.Connection, serial: str, url: str, source: str | None = None,
            now: float | None = None) -> bool:
    """Register `url` (checked) as the address of `serial`'s agent. True if it changed."""
    url = check_url(url)
    now = time.time() if now is None else now
    with transaction(conn):
        return write_url(conn, serial, url, source, now)


def write_url(conn: sqlite3.Connection, serial: str, url: str, source: str | None,
              now: float) -> bool:
    """set_url inside the caller's transaction, `url` already checked (registration.py)."""
    old = conn.execute("SELECT url FROM agent_addresses WHERE serial = ?", (serial,)).fetchone()
    if old is not None and old["url"] == url:
        return False
    conn.execute("INSERT OR REPLACE INTO agent_addresses (serial, url, source, set_at) "
                 "VALUES (?, ?, ?, ?)", (serial, url, (source or "")[:64] or None, now))
    return True


def get(conn: sqlite3.Connection, serial: str) -> str | None:
    row = conn.execute("SELECT url FROM agent_addresses WHERE serial = ?", (serial,)).fetchone()
    return row["url"] if row else None


def serials(conn: sqlite3.Connection) -> set[str]:
    return {r["serial"] for r in conn.execute("SELECT serial FROM agent_addresses")}


def target(conn: sqlite3.Connection, config, serial: str) -> Target:
    """How to call `serial`'s agent (NoTarget says why not)."""
    url = get(conn, serial)
    if url is None:
        raise NoTarget("no_agent", f"Tempest has no agent_url registered for meter {serial}: "
                       "the deploy registers it (PUT /api/v1/meters/<serial>/desired-config "
                       "with agent_url, or PUT .../agent-key with url); the agent_url a meter "
                       "reports in its heartbeats is never used")
    if settings.https_only(config) and not url.startswith("https://"):
        raise NoTarget("insecure_agent_url", f"the agent address of meter {serial} is plain "
                       "http and TEMPEST_AGENT_HTTPS_ONLY is set: register its https:// address")
    return Target(url, settings.verify(config))
