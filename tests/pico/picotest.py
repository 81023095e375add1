"""Shared pieces of the Pico W tests: meter configs, flash images, a real Tempest, the runner.

Everything runs the real MicroPython interpreter through tests/pico_harness (fakes only for
hardware) and a real `tempest serve` on a loopback address, stopped by its PID.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from core import civil
from meter import pico_config
from meter.config import Config, from_dict
from tests.pico_harness import runner
from tests.pico_harness.harnessdir import tool
from tests.procs import loopback
from tests.support import ci_guard

REPO = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "pico-test-admin-token-0123456789"

API_KEY = "pico-test-key-0123456789abcdef"
SSID, PASSWORD = "meters-lab", "correct horse battery"
# A Pico W the way the tests see it: 4 channels, a zone with DST, some faults.
BERLIN = {"latitude": 52.52, "longitude": 13.40, "country": "DE"}


def raw_config(serial: str = "pico-1", url: str = "http://127.0.0.1:9/", **extra) -> dict:
    raw = {"serial": serial, "archetype": "family", "timezone": "Europe/Berlin",
           "location": BERLIN, "commissioned": "2024-06-01",
           "channels": {"Total": 1.0, "Main": 0.5, "Sub1": 0.3, "Sub2": 0.2},
           "faults": {"missing_intervals": 0.003, "estimated": 0.003, "spikes": 0.001},
           "tempest_url": url}
    raw.update(extra)
    return raw


def epoch(text: str) -> int:
    """'2024-06-10T21:40:00' (UTC) -> Unix seconds."""
    day = civil.parse_day(text[:10])
    h, m, s = (int(x) for x in text[11:19].split(":"))
    return day * 86400 + h * 3600 + m * 60 + s


def require(*names: str) -> None:
    ci_guard.require_binary(*names, find=tool, why="run scripts/setup.sh --test (dev extra)")


@functools.lru_cache(maxsize=8)
def _program(archetype: str | None, country: str) -> tuple[tuple[str, bytes], ...]:
    # Compiling ~30 modules takes a second; the image differs only by the trimmed data modules.
    raw = {"serial": "x", "archetype": archetype or "couple", "location": {**BERLIN,
                                                                           "country": country}}
    if archetype is None:
        raw = {"serial": "x", "profile": {str(h): 0.1 for h in range(24)},
               "location": {**BERLIN, "country": country}}
    return tuple(pico_config.program_files(from_dict(raw)).items())


def build_image(flash: Path, raw: dict, *, start: str | None = None, options: dict | None = None,
                secrets: bool = True, preload_fakes: bool = True) -> Config:
    """Write a flash image for `raw` into `flash` (as the pico role would deploy it).

    preload_fakes: a boot.py that imports the fakes first, as a Pico has machine, network,
    socket and ntptime built in (they cost the program nothing there; here their heap is
    taken before the program's, so that it is not interleaved with it)."""
    cfg = from_dict(raw)
    files = dict(_program(cfg.model["archetype"], cfg.model["country"]))
    first = pico_config.start_day(cfg, start)
    opts = {"led": False, "idle_ms": 4000, **(options or {})}
    files["config.json"] = pico_config.config_text(pico_config.document(cfg, opts, first)).encode()
    files["registers.txt"] = pico_config.registers_text(cfg, first, 60).encode()
    pico_config.write_image(flash, files)
    if secrets:
        (flash / "secrets.py").write_text(
            f"SSID = {SSID!r}\nPASSWORD = {PASSWORD!r}\nAPI_KEY = {API_KEY!r}\n")
    if preload_fakes:
        (flash / "boot.py").write_text("# test only: the fakes first (built into a Pico)\n"
                                       "import machine, network, ntptime, socket, time\n")
    return cfg


def fast(world: str, **sections) -> dict:
    """Control knobs: a fast clock whose world starts at `world` (UTC), Wi-Fi credentials."""
    control = {"clock": {"fast": True, "world": epoch(world)},
               "wlan": {"ssid": SSID, "key": PASSWORD}}
    for name, knobs in sections.items():
        control.setdefault(name, {}).update(knobs)
    return control


def cap_for_program(tmp: Path, program_kib: int = 128) -> int:
    """The heap cap (bytes) that leaves `program_kib` for the program: the fakes' own heap
    (built in on a Pico, Python modules here) comes on top (docs/pico-harness.md)."""
    return program_kib * 1024 + runner.fakes_overhead(tmp)


# -- Tempest ------------------------------------------------------------------------------------

def free_address() -> tuple[str, int]:
    """A free port on a loopback address of its own (127.0.0.40-49)."""
    return loopback(40, 49)


class Tempest:
    """A real `tempest serve` on loopback with keys for the given serials (stopped by PID)."""

    def __init__(self, tmp: Path, serials=("pico-1",)):
        self.data = tmp / "tempest-data"
        self.log_path = tmp / "tempest.log"
        self.env = {**os.environ, "TEMPEST_ADMIN_TOKEN": ADMIN_TOKEN,
                    "TEMPEST_SETTLE_SECONDS": "0", "TEMPEST_RESCAN_SECONDS": "2"}
        self.proc: subprocess.Popen | None = None
        self.host, self.port = free_address()
        for serial in serials:
            self.add(serial)

    def add(self, serial: str) -> None:
        r = subprocess.run([sys.executable, "-m", "tempest", "meters", "add", serial,
                            "--data-dir", str(self.data), "--key-stdin"], input=API_KEY + "\n",
                           capture_output=True, text=True, cwd=REPO, timeout=60)
        assert r.returncode == 0, r.stderr

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return self.base + "/"

    def start(self, host: str | None = None, port: int | None = None) -> Tempest:
        """Serve on a fresh address, or on `host`:`port` (the one a Pico was configured with
        before Tempest came up)."""
        if host is not None:
            self.host, self.port = host, port
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tempest", "serve", "--data-dir", str(self.data),
                 "--host", self.host, "--port", str(self.port), "--no-access-log"],
                stdout=log, stderr=log, env=self.env, cwd=REPO)
        end = time.time() + 30
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("tempest exited: " + self.log_path.read_text()[-2000:])
            try:
                if requests.get(self.base + "/api/v1/health", timeout=2).ok:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError("tempest did not come up: " + self.log_path.read_text()[-2000:])

    def stop(self) -> None:
        # By PID: this server and nothing else.
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def get(self, path: str):
        return requests.get(self.base + path, timeout=10,
                            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})

    def days(self, serial: str) -> list[str]:
        r = self.get(f"/api/v1/meters/{serial}/days?per_page=100")
        if r.status_code == 404:
            return []
        return sorted(d["day"] for d in r.json()["items"])

    def day_file(self, serial: str, day: str) -> bytes | None:
        r = self.get(f"/api/v1/meters/{serial}/days/{day}/file")
        return r.content if r.status_code == 200 else None

    def heartbeats(self, serial: str) -> list[dict]:
        r = self.get(f"/api/v1/heartbeats?serial={serial}&limit=500")
        return [h["heartbeat"] for h in r.json()["items"]] if r.ok else []

    def wait_days(self, serial: str, n: int, timeout: float = 60) -> list[str]:
        end = time.time() + timeout
        while time.time() < end:
            got = self.days(serial)
            if len(got) >= n:
                return got
            time.sleep(0.2)
        raise AssertionError(f"Tempest has {self.days(serial)} of {serial}, wanted {n} days")


def flash_files(flash: Path, folder: str) -> dict[str, bytes]:
    d = flash / folder
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())} if d.exists() else {}


def mp_script(name: str) -> str:
    """A MicroPython driver script from tests/pico/mp/."""
    return (Path(__file__).parent / "mp" / name).read_text()


def parse_json_lines(text: str, prefix: str) -> list[dict]:
    return [json.loads(line[len(prefix):]) for line in text.splitlines() if line.startswith(prefix)]
