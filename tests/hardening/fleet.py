"""Bulk meter groups driven by real `meter` processes with a stepped clock, and their truth.

A group is one base config and `--count N --mix` (meter/bulk.py): N households with their own
serials, seeds and keys (a keys file from `tempest meters add --json`), each in its own folder.
Every command is a subprocess with `--at`, so simulated days pass as fast as the meters can
write them. The ground truth of a day is what meter.daybuild regenerates for it, byte for byte.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from core import civil
from meter import config as meter_config
from meter import daybuild, registers
from meter.bulk import derive_all
from tests.support import REPO

LOCATIONS = {
    "Europe/Berlin": {"latitude": 52.52, "longitude": 13.40, "country": "DE"},
    "Pacific/Auckland": {"latitude": -36.85, "longitude": 174.76, "country": "NZ"},
    "America/New_York": {"latitude": 40.71, "longitude": -74.0, "country": "US"},
}


@dataclass
class Group:
    name: str  # the base serial: meters are <name>-0001 ...
    count: int
    zone: str
    folder: Path  # config.json and keys.json
    data: Path  # one folder per meter inside
    extra: dict = field(default_factory=dict)  # more config (interval, faults, ...)
    commissioned: str = "2024-09-25"

    def base(self, tempest_url: str) -> dict:
        return {"serial": self.name, "timezone": self.zone, "location": LOCATIONS[self.zone],
                "commissioned": self.commissioned,
                "tempest_url": tempest_url, "tempest_api_keys_file": "keys.json",
                "delivery": {"timeout_s": 5}, **self.extra}

    @property
    def serials(self) -> list[str]:
        return [f"{self.name}-{i:04d}" for i in range(1, self.count + 1)]

    def write(self, tempest_url: str, keys: dict[str, str]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "keys.json").write_text(json.dumps(keys))
        self.raw = self.base(tempest_url)
        (self.folder / "config.json").write_text(json.dumps(self.raw, indent=1))

    def argv(self, command: str, at: str, *extra: str) -> list[str]:
        return [sys.executable, "-m", "meter", command, "--config",
                str(self.folder / "config.json"), "--data-dir", str(self.data),
                "--count", str(self.count), "--mix", "--at", at, *extra]

    def run(self, command: str, at: str, *extra: str, log: Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
        try:
            return subprocess.run(self.argv(command, at, *extra), cwd=REPO, stdout=out,
                                  stderr=out, timeout=timeout)
        finally:
            if log:
                out.close()

    def run_out(self, command: str, at: str, *extra: str, timeout: float = 300) -> dict:
        """Run a command and return the JSON it prints ({} if it printed none)."""
        r = subprocess.run(self.argv(command, at, *extra), cwd=REPO, capture_output=True,
                           text=True, timeout=timeout)
        try:
            return json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {}

    def start(self, command: str, at: str, *extra: str, log: Path) -> subprocess.Popen:
        with open(log, "ab") as out:
            return subprocess.Popen(self.argv(command, at, *extra), cwd=REPO, stdout=out,
                                    stderr=out)

    def configs(self) -> list[meter_config.Config]:
        raws = derive_all(self.raw, self.count, True, self.folder)
        return [meter_config.from_dict(r) for r in raws]

    def truth(self, last_day: str) -> dict[tuple[str, str], str]:
        """(serial, day) -> the sealed file's text, for every day up to last_day that the
        meter records (outage days have no file)."""
        out = {}
        for cfg in self.configs():
            first = cfg.model["commissioned_day"]
            last = civil.parse_day(last_day)
            for built in daybuild.build_days(cfg, first, last, registers.opening(cfg, first)):
                if built.text is not None:
                    out[(cfg.serial, civil.format_day(built.day))] = built.text
        return out

    def folders(self, sub: str) -> dict[tuple[str, str], Path]:
        """(serial, day) -> file, for the sealed files in each meter's `sub` folder."""
        out = {}
        for serial in self.serials:
            d = self.data / serial / sub
            for p in d.glob(f"{serial}_*.json") if d.exists() else ():
                day = p.name[len(serial) + 1:len(serial) + 11]
                out[(serial, day)] = p
        return out


def together(groups: list[Group], command: str, at: str, *extra: str,
             log: Path) -> subprocess.Popen:
    """One `meter` process for several groups of the same size sharing one data dir (one
    interpreter start instead of one per group: it is most of a step's cost)."""
    assert len({g.count for g in groups}) == 1 and len({g.data for g in groups}) == 1
    argv = [sys.executable, "-m", "meter", command]
    for g in groups:
        argv += ["--config", str(g.folder / "config.json")]
    argv += ["--data-dir", str(groups[0].data), "--count", str(groups[0].count), "--mix",
             "--at", at, *extra]
    with open(log, "ab") as out:
        return subprocess.Popen(argv, cwd=REPO, stdout=out, stderr=out)
