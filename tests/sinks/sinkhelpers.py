"""Helpers for the sink and export tests: realistic stored days from the meter package, a
Tempest store to ingest them into, and the real servers (VictoriaMetrics, the reference MDMS)
each started on a loopback address of its own and stopped by its PID."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from core import civil
from meter import config as meter_config
from meter import daybuild, registers
from tempest import db, keys, names, settings
from tempest.ingest.service import IngestService
from tempest.sinks import registry
from tempest.sinks.service import SinkService
from tests.procs import kill9, loopback, stop_pid, wait_for  # noqa: F401  (wait_for: for the suite)
from tests.support import ci_guard

REPO = Path(__file__).resolve().parents[2]
VM_BINARY = "/usr/bin/victoria-metrics"

SYDNEY = {"latitude": -33.87, "longitude": 151.21, "country": "AU"}
AUCKLAND = {"latitude": -36.85, "longitude": 174.76, "country": "NZ"}
BERLIN = {"latitude": 52.52, "longitude": 13.40, "country": "DE"}
NEW_YORK = {"latitude": 40.71, "longitude": -74.0, "country": "US"}


def free_address(low: int = 30, high: int = 39) -> tuple[str, int]:
    return loopback(low, high)


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


# -- processes ----------------------------------------------------------------------------------

class Process:
    """A subprocess stopped by its PID (SIGTERM, then SIGKILL)."""

    proc: subprocess.Popen | None = None

    def stop(self) -> None:
        stop_pid(self.proc, 10)

    def kill9(self) -> None:
        kill9(self.proc, 10)


class VictoriaMetrics(Process):
    """A real VictoriaMetrics on loopback, keeping points for 100 years (its default one month
    would silently drop the test's older days)."""

    def __init__(self, folder: Path):
        ci_guard.require_binary(VM_BINARY, why="Debian's victoria-metrics: scripts/setup.sh "
                                "--test as root")
        self.folder = folder
        self.host, self.port = free_address()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> VictoriaMetrics:
        log = open(self.folder / "vm.log", "ab")  # noqa: SIM115 (the child keeps it)
        self.proc = subprocess.Popen(
            [VM_BINARY, "-retentionPeriod=100y", f"-storageDataPath={self.folder / 'data'}",
             f"-httpListenAddr={self.host}:{self.port}", "-loggerLevel=ERROR"],
            stdout=log, stderr=log)
        log.close()
        wait_for(self._healthy, 20, what="victoria-metrics /health")
        return self

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError((self.folder / "vm.log").read_text()[-2000:])
        try:
            return requests.get(self.url + "/health", timeout=2).ok
        except requests.RequestException:
            return False

    def export(self, match: str = '{__name__="consumption_reading"}') -> list[dict]:
        # Freshly written points become searchable when VictoriaMetrics flushes (every few
        # seconds); this endpoint does it now.
        requests.get(self.url + "/internal/force_flush", timeout=10).raise_for_status()
        r = requests.post(self.url + "/api/v1/export", data={"match[]": match}, timeout=30)
        r.raise_for_status()
        return [json.loads(line) for line in r.text.splitlines() if line.strip()]

    def samples(self) -> dict[tuple[str, str], dict[int, list[float]]]:
        """(serial, datastream) -> {timestamp ms: [values, duplicates kept]}."""
        out: dict = {}
        for s in self.export():
            series = out.setdefault((s["metric"]["serial"], s["metric"]["datastream"]), {})
            for ts, v in zip(s["timestamps"], s["values"], strict=True):
                series.setdefault(ts, []).append(v)
        return out


class ReferenceMdms(Process):
    """`python -m tempest.sinks.reference_mdms` in a subprocess."""

    def __init__(self, folder: Path, api_key: str | None = "mdms-test-key",
                 stall_seconds: float = 3.0):
        self.folder = folder
        self.api_key = api_key
        self.stall_seconds = stall_seconds
        self.host, self.port = free_address(40, 49)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ReferenceMdms:
        cmd = [sys.executable, "-m", "tempest.sinks.reference_mdms", "--host", self.host,
               "--port", str(self.port), "--dir", str(self.folder),
               "--stall-seconds", str(self.stall_seconds)]
        if self.api_key:
            cmd += ["--api-key", self.api_key]
        log = open(self.folder.parent / f"{self.folder.name}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, cwd=REPO)
        log.close()
        wait_for(self._up, 20, what="reference MDMS up")
        return self

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError("reference MDMS exited")
        try:
            return requests.get(self.url + "/", timeout=2).ok
        except requests.RequestException:
            return False

    def mode(self, mode: str, count: int | None = None, match: str | None = None,
             seconds: float = 0.0) -> None:
        r = requests.post(self.url + "/_admin/mode", json={
            "mode": mode, "count": count, "match": match, "seconds": seconds}, timeout=5,
            headers={"x-api-key": self.api_key or ""})  # /_admin/* needs the receiver's key
        r.raise_for_status()

    def requests(self) -> list[dict]:
        path = self.folder / "requests.jsonl"
        if not path.exists():
            return []
        return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]

    def accepted(self) -> list[dict]:
        return [r for r in self.requests() if r["outcome"] == "accepted"]


@pytest.fixture
def servers(tmp_path):
    """Factory for VictoriaMetrics and reference MDMS processes, all stopped at the end."""
    started: list[Process] = []

    def vm() -> VictoriaMetrics:
        folder = tmp_path / f"vm{len(started)}"
        folder.mkdir()
        p = VictoriaMetrics(folder)
        started.append(p)
        return p

    def mdms(**kw) -> ReferenceMdms:
        p = ReferenceMdms(tmp_path / f"mdms{len(started)}", **kw)
        started.append(p)
        return p

    class Factory:
        pass

    f = Factory()
    f.vm, f.mdms = vm, mdms
    yield f
    for p in started:
        p.stop()

