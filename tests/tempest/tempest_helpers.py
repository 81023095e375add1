"""Helpers for Tempest's tests: keys, headers, real `tempest serve` processes, waiting."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from tempest import keys
from tests.procs import kill9, loopback, stop_pid, wait_for  # noqa: F401  (wait_for: for the suite)

ADMIN_TOKEN = "test-admin-token-0123456789"
REPO = Path(__file__).resolve().parents[2]


def issue_key(conn, serial: str, timezone: str | None = None) -> str:
    return keys.add(conn, serial, timezone=timezone, rotate=True).key


def admin_headers() -> dict:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def free_address() -> tuple[str, int]:
    """A free port on a loopback address of its own (127.0.0.20-29)."""
    return loopback(20, 29)


class TempestProcess:
    """A real `python -m tempest serve` in a subprocess."""

    def __init__(self, data_dir: Path, log_path: Path, **env):
        self.data_dir = data_dir
        self.log_path = log_path
        self.env = {**os.environ, "TEMPEST_ADMIN_TOKEN": ADMIN_TOKEN,
                    "TEMPEST_SETTLE_SECONDS": "0", "TEMPEST_RESCAN_SECONDS": "2",
                    "PYTHONUNBUFFERED": "1", **{k: str(v) for k, v in env.items()}}
        self.proc: subprocess.Popen | None = None
        self.host, self.port = free_address()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, wait: bool = True, *extra: str) -> TempestProcess:
        self.host, self.port = free_address()
        self.ingest = "--no-ingest" not in extra
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child keeps it)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tempest", "serve", "--data-dir", str(self.data_dir),
             "--host", self.host, "--port", str(self.port), "--no-access-log", *extra],
            stdout=log, stderr=log, env=self.env, cwd=REPO)
        log.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tempest exited {self.proc.returncode}: "
                                   f"{self.log_path.read_text()[-2000:]}")
            try:
                health = requests.get(self.url + "/api/v1/health", timeout=5)
                # With ingest on, also wait for the worker's first report (its start-up scan
                # is done by then).
                if health.ok and (not self.ingest or health.json()["ingest"]["running"]):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("tempest did not come up: " + self.log_path.read_text()[-2000:])

    def kill9(self) -> None:
        kill9(self.proc, 10)

    def stop(self) -> None:
        stop_pid(self.proc, 15)

    def get(self, path: str, **kw):
        return requests.get(self.url + path, timeout=10, **kw)

    def post(self, path: str, **kw):
        return requests.post(self.url + path, timeout=10, **kw)


