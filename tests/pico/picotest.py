"""Shared pieces of the Pico W tests: meter configs, flash images, a real Tempest, the runner.

Everything runs the real MicroPython interpreter through tests/pico_harness (fakes only for
hardware) and a real `tempest serve` (tests/support) on a loopback address, stopped by its PID.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
from pathlib import Path

from core import civil
from meter import pico_config
from meter.config import Config, from_dict
from tests.pico_harness import runner
from tests.pico_harness.harnessdir import (
    require,  # noqa: F401  (picotest.require)
    tool,
)
from tests.support import REPO
from tests.support.tempest import Tempest

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


@functools.lru_cache(maxsize=8)
def _program(archetype: str | None, country: str,
             display: str = "none") -> tuple[tuple[str, bytes], ...]:
    # Compiling ~30 modules takes a second; the image differs only by the trimmed data modules
    # (and the display's modules, when one is chosen).
    raw = {"serial": "x", "archetype": archetype or "couple", "location": {**BERLIN,
                                                                           "country": country}}
    if archetype is None:
        raw = {"serial": "x", "profile": {str(h): 0.1 for h in range(24)},
               "location": {**BERLIN, "country": country}}
    return tuple(pico_config.program_files(from_dict(raw), display=display).items())


def rom_image(files: dict[str, bytes]) -> bytes:
    """A ROMFS image (mpremote's own builder, as `mpremote romfs build`) of the program's
    compiled modules: everything in `files` but main.py, which stays on the flash."""
    import contextlib
    import io
    import tempfile

    from mpremote.romfs import make_romfs

    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            if name.endswith(".mpy"):
                (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
                (Path(tmp) / name).write_bytes(data)
        with contextlib.redirect_stdout(io.StringIO()):
            return make_romfs(tmp, mpy_cross=False)


def build_image(flash: Path, raw: dict, *, start: str | None = None, options: dict | None = None,
                secrets: bool = True, preload_fakes: bool = True, romfs: bool = False) -> Config:
    """Write a flash image for `raw` into `flash` (as the pico role would deploy it).

    preload_fakes: a boot.py that imports the fakes first, as a Pico has machine, network,
    socket and ntptime built in (they cost the program nothing there; here their heap is
    taken before the program's, so that it is not interleaved with it).
    romfs: the compiled modules go into a ROMFS image in the device's harness folder (a
    firmware with a ROMFS partition, docs/pico.md), not onto the flash."""
    cfg = from_dict(raw)
    first = pico_config.start_day(cfg, start)
    opts = {"led": False, "idle_ms": 4000, **(options or {})}
    doc = pico_config.document(cfg, opts, first)
    files = dict(_program(cfg.model["archetype"], cfg.model["country"], doc["pico"]["display"]))
    rom = flash.parent / (flash.name + ".harness") / "rom.img"
    if romfs:
        rom.parent.mkdir(parents=True, exist_ok=True)
        rom.write_bytes(rom_image(files))
        files = {name: data for name, data in files.items() if not name.endswith(".mpy")}
    else:
        rom.unlink(missing_ok=True)
    files["config.json"] = pico_config.config_text(doc).encode()
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

def pico_tempest(tmp: Path, serial: str = "pico-1",
                 address: tuple[str, int] | None = None) -> Tempest:
    """A real Tempest (tests/support/tempest.py), not yet started, that knows `serial` by the
    test key; on `address` when a Pico was configured for it before it comes up."""
    tempest = Tempest(tmp / "tempest-data", tmp / "tempest.log", address=address)
    tempest.add_meter(serial, API_KEY)
    return tempest


def flash_files(flash: Path, folder: str) -> dict[str, bytes]:
    d = flash / folder
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())} if d.exists() else {}


def mp_script(name: str) -> str:
    """A MicroPython driver script from tests/pico/mp/."""
    return (Path(__file__).parent / "mp" / name).read_text()


def parse_json_lines(text: str, prefix: str) -> list[dict]:
    return [json.loads(line[len(prefix):]) for line in text.splitlines() if line.startswith(prefix)]


def playbook(inv: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """playbooks/picos.yml over inventory `inv`: its run, and pico-1's recap counts."""
    env = {**os.environ, "ANSIBLE_ROLES_PATH": str(REPO / "roles"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_FORCE_COLOR": "0"}
    res = subprocess.run([str(tool("ansible-playbook")), "-i", str(inv),
                          str(REPO / "playbooks" / "picos.yml")],
                         capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    recap = re.search(r"pico-1\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
                      res.stdout)
    counts = dict(zip(("ok", "changed", "unreachable", "failed"),
                      (int(x) for x in recap.groups()), strict=True)) if recap else {}
    return res, counts


def why_failed(res: subprocess.CompletedProcess, dev) -> str:
    """A failed playbook run with what the board printed and did: mpremote's view alone
    cannot tell a busy board from a rebooting or wedged one."""
    events = "\n".join(" ".join(map(str, e)) for e in dev.events()[-30:])
    return (res.stdout[-3000:] + res.stderr[-1500:] + "\n--- serial (tail) ---\n"
            + dev.serial_log()[-2000:] + "\n--- events (tail) ---\n" + events)
