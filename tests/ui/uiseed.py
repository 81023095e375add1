"""Seeded data for the UI tests: real day files from the meter's own vectorised engine, a
fleet of registered meters in every status, heartbeats, a quarantined file, inventory configs.

Everything goes through Tempest's own paths: day files are dropped into its drop folder (and
ingested by its worker), heartbeats and uploads go over its API; meters whose last heartbeat
must lie in the past are recorded with Tempest's registry code at that past time.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core import civil, configdoc
from meter import config as meter_config
from meter.daybuild import build_days
from tempest import create_app, keys, registry
from tempest.db import connect
from tempest.ingest.dropbox import write_atomic
from tempest.settings import layout

AGENT_KEY = "agent-key-for-ui-tests-0123456789"
TODAY = datetime.now(UTC).date()
KILI_FIRST = TODAY - timedelta(days=100)
KILI_LAST = TODAY - timedelta(days=2)  # the live test delivers the day after
BERLIN_DAYS = 20
FLEET = {"online": 24, "stale": 12, "offline": 12, "never_seen": 8}
AGE = {"online": 20, "stale": 1200, "offline": 3 * 86400}


def kili_config(tempest_url: str, api_key: str, agent_host: str, agent_port: int) -> dict:
    return {
        "serial": "kili", "timezone": "Pacific/Auckland",
        "location": {"latitude": -36.85, "longitude": 174.76, "country": "NZ"},
        "interval_min": 5, "archetype": "family", "annual_kwh": 5200, "pv": {"kwp": 4.5},
        "channels": {"Total": 1.0, "Main": 0.6, "Sub1": 0.4},
        "faults": {"missing_intervals": 0.004, "estimated": 0.004},
        "commissioned": "2024-01-01", "tempest_url": tempest_url + "/",
        "tempest_api_key": api_key,
        "agent": {"key": AGENT_KEY, "host": agent_host, "port": agent_port},
    }


def berlin_config() -> dict:
    return {"serial": "berlin-01", "timezone": "Europe/Berlin", "interval_min": 15,
            "archetype": "family", "annual_kwh": 3500, "commissioned": "2024-01-01"}


def day_files(raw: dict, first, last) -> dict[str, bytes]:
    """{reading_day: sealed day file} from the meter's engine (outage days have none)."""
    cfg = meter_config.from_dict(raw)
    out = {}
    opening = [4_200_000] * len(cfg.channel_names)
    for built in build_days(cfg, civil.parse_day(first.isoformat()),
                            civil.parse_day(last.isoformat()), opening):
        if built.text is not None:
            out[civil.format_day(built.day)] = built.text.encode()
    return out


def init_store(data_dir: Path) -> Path:
    app = create_app({"DATA_DIR": str(data_dir)})
    return layout(app.config).database


def register_fleet(database: Path) -> dict[str, str]:
    """The filler fleet, with heartbeats at past times so every status shows. {serial: key}"""
    conn = connect(database)
    issued = {}
    now = time.time()
    try:
        n = 0
        for status, count in FLEET.items():
            for _ in range(count):
                n += 1
                serial = f"fleet-{n:03d}"
                issued[serial] = keys.add(conn, serial, timezone="Europe/Berlin").key
                if status == "never_seen":
                    continue
                body = {"serial": serial, "kind": "pi", "version": "0.1.0" if n % 3 else "0.0.9",
                        "outbox_backlog": n % 5, "address": f"10.0.0.{n}"}
                registry.record(conn, serial, body, now - AGE[status] - n)
    finally:
        conn.close()
    return issued


def drop(data_dir: Path, serial: str, files: dict[str, bytes]) -> None:
    drop_dir = data_dir / "drop"
    for day, data in files.items():
        write_atomic(drop_dir, f"{serial}_{day}.json", data, durable=False)


def heartbeat(cfg_raw: dict, agent_url: str | None = None) -> dict:
    now = datetime.now(UTC).astimezone()
    body = {"serial": cfg_raw["serial"], "kind": "pi", "version": "0.1.0",
            "config_hash": configdoc.config_hash(cfg_raw), "outbox_backlog": 0,
            "free_disk_bytes": 12_000_000_000, "timestamp": now.isoformat(timespec="seconds")}
    if agent_url:
        body.update(agent_url=agent_url, address=agent_url.split("//")[1].split(":")[0])
    return body


def write_meter_folder(root: Path, raw: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "config.json"
    path.write_text(json.dumps(raw, indent=1))
    return path
