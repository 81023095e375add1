"""How each meter's data reaches Tempest: its delivery route, recorded from what happened.

The registry keeps two facts (tempest/schema.sql, `meters`):

- `route`, the route the meter's last good day file came by, written by the ingest
  transaction beside the meter's other counters (tempest/store.py). The files row's `source`
  says where ingest found the file; the route says who brought it there:

      source   where found                         route
      upload   top of the drop folder (a POST)     upload, or concentrator if the meter is
                                                   registered behind one (its batch route)
      dlms     top (Tempest's own collector)       dlms
      drop     the meter's folder, <serial>_<day>.mqtt-<sha>.json
                                                   mqtt (tempest mqtt-subscribe's name)
      drop     the meter's folder, any other name  rsync (the only other writer there)
      rsync    the meter's folder                  rsync
      drop     top of the drop folder              collect (the collect playbook)
      reingest / an operator's `tempest ingest`    no change: not the meter's route

  A meter no day has come from yet shows `dlms` if Tempest is registered to dial it.
- `heartbeat_route`, the route of its last heartbeat: `http` (POST /api/v1/heartbeats),
  `concentrator` (a batch) or `mqtt` (`tempest mqtt-subscribe`).

A route is only a label: a meter that names its rsync file like the MQTT subscriber's is shown
as on MQTT, and gains nothing else by it.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

ROUTES = ("upload", "rsync", "collect", "dlms", "mqtt", "concentrator")
LABELS = {"upload": "HTTP push", "rsync": "rsync", "collect": "collect", "dlms": "DLMS pull",
          "mqtt": "MQTT", "concentrator": "concentrator"}
HEARTBEAT_ROUTES = ("http", "mqtt", "concentrator")

# tempest/mqtt/subscriber.py's drop_name().
_MQTT_NAME = re.compile(r".+_\d{4}-\d{2}-\d{2}\.mqtt-[0-9a-f]{16}\.json\Z")


def sql(alias: str = "meters") -> str:
    """The shown route as an SQL expression over the meters row `alias`."""
    return (f"COALESCE({alias}.route, (SELECT 'dlms' FROM dlms_meters dm "
            f"WHERE dm.serial = {alias}.serial))")


def of_delivery(conn: sqlite3.Connection, drop: Path, path: Path, source: str, serial: str,
                name: str) -> str | None:
    """The route a day file found at `path` came by (the table above); None: no change."""
    if source == "dlms":
        return "dlms"
    if source == "reingest":
        return None
    try:
        depth = len(path.relative_to(drop).parts)
    except ValueError:
        return None  # an operator's `tempest ingest` of a file elsewhere
    if source == "upload":
        behind = conn.execute("SELECT 1 FROM concentrator_meters WHERE serial = ?",
                              (serial,)).fetchone()
        return "concentrator" if behind is not None else "upload"
    if depth == 2:
        return "mqtt" if _MQTT_NAME.fullmatch(name) else "rsync"
    return "collect" if depth == 1 else None
