"""Real processes for the hardening suites, each stopped by its PID.

`Tempest` keeps one loopback address across restarts, so meters configured for it find it
again after a `kill -9`; it runs `tempest serve` (web, ingest and sinks in one process) or,
for the load run, gunicorn beside a separate `tempest ingest --watch`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests import procs
from tests.procs import kill9, stop_pid  # noqa: F401  (used here and by the suites)

REPO = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "hardening-admin-token-0123456789"


def loopback(low: int = 60, high: int = 69) -> tuple[str, int]:
    """A free port on a loopback address of this suite's own (127.0.0.60-69)."""
    return procs.loopback(low, high)


class Tempest:
    """`python -m tempest serve` on a fixed loopback address."""

    def __init__(self, data_dir: Path, log_path: Path, access_log: bool = False, **env):
        self.access_log = access_log
        self.data_dir = Path(data_dir)
        self.log_path = log_path
        self.env = {**os.environ, "TEMPEST_ADMIN_TOKEN": ADMIN_TOKEN,
                    "TEMPEST_SETTLE_SECONDS": "0", "TEMPEST_RESCAN_SECONDS": "1",
                    "PYTHONUNBUFFERED": "1", **{k: str(v) for k, v in env.items()}}
        self.host, self.port = loopback()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def launch(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tempest", "serve", "--data-dir", str(self.data_dir),
                 "--host", self.host, "--port", str(self.port),
                 *([] if self.access_log else ["--no-access-log"])],
                stdout=log, stderr=log, env=self.env, cwd=REPO)

    def up(self, ingest: bool = True) -> bool:
        """Answering, and with `ingest` its ingest worker running (its start-up scan done)."""
        with contextlib.suppress(requests.RequestException, ValueError, KeyError):
            r = requests.get(self.url + "api/v1/health", timeout=2)
            return r.ok and (not ingest or r.json()["ingest"]["running"])
        return False

    def start(self, timeout: float = 30.0, ingest: bool = True) -> Tempest:
        self.launch()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tempest exited {self.proc.returncode}: "
                                   f"{self.log_path.read_text(errors='replace')[-1500:]}")
            if self.up(ingest):
                return self
            time.sleep(0.05)
        raise RuntimeError("tempest did not come up: "
                           + self.log_path.read_text(errors="replace")[-1500:])

    def kill9(self) -> None:
        kill9(self.proc)

    def stop(self) -> None:
        stop_pid(self.proc)

    def admin(self, method: str, path: str, **kw) -> requests.Response:
        return requests.request(method, self.url + path.lstrip("/"), timeout=30,
                                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, **kw)
