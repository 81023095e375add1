"""The delivery tests' own pieces: the fault proxy (a process, stopped by its PID), a meter's
folder with its config and `meter` commands, and times. Tempest comes from tests/support."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from core import civil
from meter import config, operations
from tests.support.addresses import free_address
from tests.support.processes import stop_process

HERE = Path(__file__).resolve().parent


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
        stop_process(self.proc)


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
