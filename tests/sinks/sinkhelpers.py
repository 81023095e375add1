"""Helpers for the sink and export tests: realistic stored days from the meter package and a
Tempest store to ingest them into. The real servers they deliver to (VictoriaMetrics, the
reference MDMS) are tests/support/sink_servers.py's, through the `sink_servers` fixture."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from core import civil
from meter import config as meter_config
from meter import daybuild, registers
from tempest import db, keys, names, settings
from tempest.ingest.service import IngestService
from tempest.sinks import registry
from tempest.sinks.service import SinkService

SYDNEY = {"latitude": -33.87, "longitude": 151.21, "country": "AU"}
AUCKLAND = {"latitude": -36.85, "longitude": 174.76, "country": "NZ"}
BERLIN = {"latitude": 52.52, "longitude": 13.40, "country": "DE"}
NEW_YORK = {"latitude": 40.71, "longitude": -74.0, "country": "US"}


# -- realistic days ----------------------------------------------------------------------------

def meter_raw(serial: str, zone: str, location: dict, **extra) -> dict:
    raw = {"serial": serial, "timezone": zone, "location": location,
           "commissioned": "2024-01-01", "archetype": "family"}
    raw.update(extra)
    return raw


def day_files(raw: dict, first: str, last: str) -> dict[str, str]:
    """Sealed day files from the meter package, by file name (outage days have none)."""
    cfg = meter_config.from_dict(raw)
    f, la = civil.parse_day(first), civil.parse_day(last)
    return {f"{raw['serial']}_{civil.format_day(b.day)}.json": b.text
            for b in daybuild.build_days(cfg, f, la, registers.opening(cfg, f)) if b.text}


# -- a Tempest store ----------------------------------------------------------------------------

def _serial_of(text: str | bytes) -> str | None:
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    serial = doc.get("serial") if isinstance(doc, dict) else None
    return serial if names.valid_serial(serial) else None


class Store:
    """A data dir with a store, ingest by the real ingest path, sinks registered from settings."""

    def __init__(self, data_dir: Path, **overrides):
        self.config = dict(settings.DEFAULTS)
        self.config.update(DATA_DIR=str(data_dir), SETTLE_SECONDS=0.0, SINK_POLL_SECONDS=0.05,
                           SINK_BACKOFF_SECONDS=0.05, SINK_BACKOFF_MAX_SECONDS=0.5,
                           SINK_TIMEOUT_SECONDS=5.0)
        self.config.update(overrides)
        settings.check(self.config)
        self.layout = settings.layout(self.config)
        self.layout.ensure()
        db.init_db(self.layout.database)
        self.conn = db.connect(self.layout.database)
        registry.sync(self.conn, self.config)

    def register(self, *serials: str) -> None:
        """Register meters, as `tempest meters add` does: ingest stores days only of meters
        Tempest knows."""
        for serial in serials:
            keys.add(self.conn, serial)

    def ingest(self, files: dict[str, str | bytes]) -> list[str]:
        """Drop files (name -> content), register the meters they name, ingest them; returns
        the outcomes."""
        self.register(*sorted({s for s in map(_serial_of, files.values()) if s}))
        for name, text in files.items():
            if isinstance(text, bytes):
                text = text.decode()
            tmp = self.layout.drop / f".{name}.tmp"
            tmp.write_text(text)
            os.replace(tmp, self.layout.drop / name)
        return [i.outcome for i in IngestService(self.config).run_once()]

    def queue(self, sink: str | None = None) -> list[dict]:
        sql = "SELECT * FROM sink_queue"
        params: tuple = ()
        if sink:
            sql += " WHERE sink = ?"
            params = (sink,)
        return [dict(r) for r in self.conn.execute(sql + " ORDER BY id", params)]

    def delivered(self, sink: str) -> dict[tuple[str, str], dict]:
        return {(r["serial"], r["reading_day"]): dict(r) for r in self.conn.execute(
            "SELECT * FROM sink_delivered WHERE sink = ?", (sink,))}

    def days(self) -> list[tuple[str, str]]:
        return [tuple(r) for r in self.conn.execute(
            "SELECT serial, reading_day FROM days ORDER BY serial, reading_day")]

    def close(self) -> None:
        self.conn.close()


@contextlib.contextmanager
def delivering(store: Store):
    """The sink workers running against `store` for the duration of the block."""
    service = SinkService(store.config)
    service.start()
    try:
        yield service
    finally:
        service.stop()
