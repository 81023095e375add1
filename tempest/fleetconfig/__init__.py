"""What config each meter should run and what it runs: the inventory's desired config, drift,
agent keys, and pushes to the meter's agent (`POST /config`).

- `desired`: the config Ansible deploys, sent to Tempest with `PUT
  /api/v1/meters/<serial>/desired-config`; stored without secrets, with the hash of the whole
  config, which a heartbeat's `config_hash` must equal for the meter to be in sync.
- `agentkeys`: each meter agent's key (the agent's `agent.key`), kept in a 0600 file in the
  secrets folder outside the data dir, never in the store and never shown.
- `push`: send a config to the meter's agent at the `agent_url` of its heartbeats.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from tempest import db


def init_db(path: Path | str) -> None:
    """Create this package's tables (idempotent)."""
    conn = db.connect(path)
    name = "schema_pg.sql" if db.is_url(path) else "schema.sql"
    try:
        conn.executescript(resources.files("tempest.fleetconfig").joinpath(name).read_text())
    finally:
        conn.close()
