"""Real processes for the delivery tests: Tempest (`python -m tempest serve`), the fault proxy,
`meter` commands, and a meter's folder with its config. Every process is stopped by its PID."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests
from click.testing import CliRunner

from core import civil
from meter import config, operations
from tests.procs import loopback, stop_pid, wait_for  # noqa: F401  (the suite imports them from here)

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ADMIN_TOKEN = "delivery-tests-admin-token-0123456789"


def free_address() -> tuple[str, int]:
    """A free port on a loopback address of our own (127.0.0.40-59; the lab uses .10 up)."""
    return loopback(40, 59)


class TempestServer:
    """A real Tempest: `python -m tempest serve` on a loopback address of its own."""

    def __init__(self, data_dir: Path, log_path: Path, **env):
        self.data_dir = Path(data_dir)
        self.log_path = log_path
        self.env = {**os.environ, "TEMPEST_ADMIN_TOKEN": ADMIN_TOKEN,
                    "TEMPEST_SETTLE_SECONDS": "0", "TEMPEST_RESCAN_SECONDS": "1",
                    "PYTHONUNBUFFERED": "1", **{k: str(v) for k, v in env.items()}}
        self.proc: subprocess.Popen | None = None
        self.host, self.port = free_address()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> TempestServer:
        """Start (again) on the same address, so meters configured for it find it back."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tempest", "serve", "--data-dir", str(self.data_dir),
                 "--host", self.host, "--port", str(self.port), "--no-access-log"],
                stdout=log, stderr=log, env=self.env, cwd=REPO)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tempest exited: {self.log_path.read_text()[-2000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "api/v1/health", timeout=1).ok:
                    return self
            time.sleep(0.05)
        raise RuntimeError("tempest did not come up: " + self.log_path.read_text()[-2000:])

    def stop(self) -> None:
        stop_pid(self.proc)

    def add_meter(self, serial: str) -> str:
        """`tempest meters add SERIAL`: the meter's new key."""
        from tempest.cli import main

        res = CliRunner().invoke(main, ["meters", "add", serial, "--rotate",
                                        "--data-dir", str(self.data_dir)])
        assert res.exit_code == 0, res.output
        return res.stdout.strip().splitlines()[-1]

    def admin(self, path: str) -> requests.Response:
        return requests.get(self.url + path.lstrip("/"), timeout=10,
                            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})

    def days(self, serial: str) -> dict[str, dict]:
        r = self.admin(f"api/v1/meters/{serial}/days?per_page=1000")
        if r.status_code == 404:
            return {}
        r.raise_for_status()
        return {d["day"]: d for d in r.json()["items"]}

    def day_file(self, serial: str, day: str) -> bytes:
        r = self.admin(f"api/v1/meters/{serial}/days/{day}/file")
        r.raise_for_status()
        return r.content

    def files(self, serial: str) -> list[dict]:
        r = self.admin(f"api/v1/meters/{serial}/files?per_page=1000")
        r.raise_for_status()
        return r.json()["items"]

    def wait_days(self, serial: str, days: list[str], timeout: float = 20) -> dict:
        return wait_for(lambda: (lambda got: got if set(days) <= set(got) else None)(
            self.days(serial)), timeout)


class FaultProxy:
    """tests/delivery/faultproxy.py in its own process, in front of `upstream`."""

    def __init__(self, tmp: Path, upstream: str):
        self.control = tmp / "proxy-control.json"
        self.log = tmp / "proxy-log.jsonl"
        self.host, self.port = free_address()
        self.set("pass")
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "faultproxy.py"), self.host, str(self.port), upstream,
             str(self.control), str(self.log)], stdout=subprocess.PIPE)
        assert self.proc.stdout.readline().strip() == b"ready"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def set(self, mode: str, **kw) -> None:
        self.control.write_text(json.dumps({"mode": mode, **kw}))

    def requests(self, phase: str = "received") -> list[dict]:
        if not self.log.exists():
            return []
        return [d for d in map(json.loads, self.log.read_text().splitlines())
                if d["phase"] == phase]

    def stop(self) -> None:
        stop_pid(self.proc)


def day(text: str) -> int:
    return civil.parse_day(text)


def minute(iso: str) -> int:
    from meter import clock

    return int(clock.parse_instant(iso) // 60)


def seconds(iso: str) -> float:
    from meter import clock

    return clock.parse_instant(iso)


class MeterDir:
    """A meter's folder with its config.json (Pacific/Auckland, 5-minute intervals)."""

    def __init__(self, root: Path, serial: str, **fields):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.serial = serial
        self.raw = {"serial": serial, "timezone": "Pacific/Auckland",
                    "commissioned": "2024-03-01", **fields}
        self.write()

    @property
    def path(self) -> Path:
        return self.root / "config.json"

    def write(self) -> None:
        self.path.write_text(json.dumps(self.raw, indent=1))
        self.cfg = config.read(self.path)

    def update(self, **fields) -> None:
        self.raw.update(fields)
        self.write()

    def tick(self, at: str) -> dict:
        return operations.tick(self.cfg, self.root, minute(at))

    def names(self, folder: str) -> list[str]:
        d = self.root / folder
        return sorted(n for n in os.listdir(d) if not n.startswith(".")) if d.exists() else []

    def events(self) -> list[dict]:
        from meter.delivery import events

        return events.read(self.root, 10000)

    def cli(self, *args: str, at: str | None = None):
        """Run `meter ARGS --config ... [--at ...]` in this process (click's runner)."""
        from meter.cli import main

        argv = [args[0], "--config", str(self.path)] + list(args[1:])
        if at:
            argv += ["--at", at]
        return CliRunner().invoke(main, argv, catch_exceptions=False)

    def argv(self, *args: str, at: str | None = None) -> list[str]:
        """The same as a real command line, for a subprocess."""
        argv = [sys.executable, "-m", "meter", args[0], "--config", str(self.path), *args[1:]]
        return argv + (["--at", at] if at else [])
