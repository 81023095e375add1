"""Which sinks the settings switch on, and the `sinks` table the ingest hook reads.

The hook runs inside the store's transaction with no access to the settings, so the sink
service writes the configured sinks into the store when it starts (and `tempest ingest` does
before a one-shot run). A sink whose URL is removed from the settings stays in the table,
disabled: new days are no longer queued for it, and what it still had waiting stays visible.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from tempest import db
from tempest.db import transaction

INFLUXDB, MDMS = "influxdb", "mdms"


@dataclass(frozen=True)
class Spec:
    name: str
    kind: str
    target: str  # shown in status: the URL without credentials


def _public(url: str) -> str:
    """A URL without user:password, for status pages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def configured(config) -> list[Spec]:
    out = []
    if config.get("SINK_INFLUX_URL"):
        out.append(Spec(INFLUXDB, INFLUXDB, f"{_public(config['SINK_INFLUX_URL'])} "
                        f"bucket={config['SINK_INFLUX_BUCKET']}"))
    if config.get("SINK_MDMS_URL"):
        out.append(Spec(MDMS, MDMS, f"{_public(config['SINK_MDMS_URL'])} "
                        f"({config['SINK_MDMS_FORMAT']})"))
    return out


def build(config, name: str):
    """The sink object that delivers for `name` (its client opened)."""
    timeout = float(config["SINK_TIMEOUT_SECONDS"])
    if name == INFLUXDB:
        from tempest.sinks.influx import InfluxSink

        return InfluxSink(config["SINK_INFLUX_URL"], config.get("SINK_INFLUX_TOKEN"),
                          config.get("SINK_INFLUX_ORG"), config["SINK_INFLUX_BUCKET"],
                          int(config["SINK_INFLUX_BATCH_POINTS"]), timeout)
    if name == MDMS:
        from tempest.sinks.mdms import MdmsSink

        return MdmsSink(config["SINK_MDMS_URL"], config.get("SINK_MDMS_API_KEY"),
                        config["SINK_MDMS_FORMAT"], timeout)
    raise KeyError(name)


def sync(conn: sqlite3.Connection, config, now: float | None = None) -> list[Spec]:
    """Write the configured sinks into the store; disable the ones no longer configured."""
    now = time.time() if now is None else now
    specs = configured(config)
    with transaction(conn):
        for spec in specs:
            conn.execute(
                "INSERT INTO sinks (name, kind, target, enabled, registered_at, updated_at) "
                "VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, "
                "target = excluded.target, enabled = 1, updated_at = excluded.updated_at",
                (spec.name, spec.kind, spec.target, now, now))
        names = [s.name for s in specs]
        sql = "UPDATE sinks SET enabled = 0, updated_at = ? WHERE enabled = 1"
        if names:
            sql += f" AND name NOT IN ({', '.join('?' * len(names))})"
        conn.execute(sql, (now, *names))
    return specs


def sync_path(database, config) -> list[Spec]:
    """`sync` on a connection of its own (for start-up code that holds none)."""
    conn = db.connect(database)
    try:
        return sync(conn, config)
    finally:
        conn.close()


def known(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM sinks ORDER BY name")]
