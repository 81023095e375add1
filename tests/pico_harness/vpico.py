"""A virtual Pico W: a serial port (pty) that mpremote drives like a real board.

    with vpico(tmp_path) as dev:
        subprocess.run(["mpremote", "connect", dev.port, "fs", "ls"])

Design: a supervisor process owns two ptys. The "client" pty's slave (dev.port, a
/dev/pts/N path, or the dev.link symlink) is the board's USB serial port. Behind the
"device" pty runs the unix-port MicroPython (heap-capped, flash = a folder, fakes for the
hardware: see runner.py and fakes/). The supervisor relays bytes both ways. The unix port's
own REPL already speaks the raw REPL and raw-paste protocols; what it lacks is a soft reset
(Ctrl-D makes it exit), so the supervisor provides one by restarting it:

- Ctrl-D in the raw REPL: "OK", "MPY: soft reboot", boot.py (not main.py: a real board
  skips main.py when soft-reset from the raw REPL), then "raw REPL; CTRL-B to exit\\r\\n>".
- Ctrl-D in the friendly REPL, or SystemExit from boot.py/main.py: "MPY: soft reboot",
  boot.py, main.py, then the friendly REPL.
- machine.reset(), the watchdog, a crash: a hard reset: boot.py, main.py, friendly REPL.
- Ctrl-C: the device pty keeps ISIG on, so it is a real SIGINT -> KeyboardInterrupt. When
  the interpreter aborts on it instead ("uncaught NLR", a quirk of this build), the board
  comes back in the raw REPL, as a real board would be after Ctrl-C and Ctrl-A.
- A started watchdog survives soft resets, as the RP2040's does: if it is not fed for its
  timeout (+2 s grace), the supervisor kills the interpreter and hard-resets the board.

Every boot is logged in the harness events as "vpico-boot <friendly|raw|hard>" and all
serial output is copied to <harness>/serial.log.
Run by hand: python -m pico_harness.vpico --flash DIR [--link PATH] (from tests/).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import json
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time
import tty
from collections.abc import Iterator
from pathlib import Path

from .harnessdir import (
    HANG_GRACE_S,
    SOFT_RESET_EXIT,
    START,
    WDT_RESET,
    HarnessDir,
    micropython_env,
    tool,
)

RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
RAW_MARKER = b"\x00vpico-raw\x00"  # printed by fakes/_start.py after boot.py in raw mode
ABORT_ON_CTRL_C = b"uncaught NLR"  # the interpreter's last words when it aborts on a Ctrl-C
PR_SET_PDEATHSIG = 1


def _child_setup() -> None:
    # New session with the device pty as controlling terminal, so that Ctrl-C (ISIG)
    # reaches the interpreter as SIGINT; and die with the supervisor, never orphaned.
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Supervisor:
    def __init__(self, flash: Path, harness: Path, heap: str):
        self.flash = flash
        self.hd = HarnessDir(harness)
        self.heap = heap
        self.exe = tool("micropython")
        if self.exe is None:
            raise FileNotFoundError("micropython not found: run scripts/setup.sh")
        self.client, client_slave = pty.openpty()
        tty.setraw(client_slave)
        # Held open so that the master never sees a hangup between mpremote sessions.
        self.client_slave = client_slave
        self.port = os.ttyname(client_slave)
        os.set_blocking(self.client, False)
        self.serial_log = open(self.hd.path / "serial.log", "ab")  # noqa: SIM115
        self.child: subprocess.Popen | None = None
        self.dev: int | None = None
        self.raw = False  # which REPL the interpreter is in, from what it printed
        self.tail = b""
        self.filter: str | None = None  # stage of entering the raw REPL after a reboot
        self.held = b""  # client input held back while the filter runs
        self.buf = b""  # device output held back while the filter runs
        self.events_at = 0  # how far the event log has been read for "wdt-start"
        self.wdt_timeout_s: float | None = None
        self.events_seen = 0
        self.ctrl_c_at = float("-inf")  # when the client last sent a Ctrl-C
        self.running = True

    # ---- interpreter lifecycle ---------------------------------------------------------
    def spawn(self, mode: str, why: str) -> None:
        master, slave = pty.openpty()
        tty.setraw(slave)
        attrs = termios.tcgetattr(slave)
        attrs[3] |= termios.ISIG
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        self._event("vpico-boot", why)
        self.child = subprocess.Popen(
            [
                str(self.exe),
                "-i",
                "-X",
                f"heapsize={self.heap}",
                str(START),
                str(self.flash),
                str(self.hd.path),
                mode,
                "boot",
                "",
            ],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=self.flash,
            env=micropython_env(),
            preexec_fn=_child_setup,
        )
        os.close(slave)
        self.dev = master
        self.tail = b""
        self.raw = mode == "raw"
        self.filter = "marker" if mode == "raw" else None
        self.buf = b""

    def _event(self, kind: str, detail: str) -> None:
        with open(self.hd.events_file, "a") as f:
            f.write(f"0 {kind} {detail}\n")

    def child_exited(self, rc: int) -> None:
        self._drain_device()
        if self.dev is not None:
            os.close(self.dev)
            self.dev = None
        # 0: Ctrl-D in a REPL; SOFT_RESET_EXIT: SystemExit from boot.py/main.py. Anything
        # else (machine.reset() and the watchdog by signal, a crash) is a hard reset.
        if (rc not in (0, SOFT_RESET_EXIT) and ABORT_ON_CTRL_C in self.tail
                and time.monotonic() - self.ctrl_c_at < 5):
            # This interpreter build sometimes aborts ("uncaught NLR") instead of raising
            # KeyboardInterrupt when a Ctrl-C lands at an unlucky moment. A real board stops
            # the program and gives its REPL, its watchdog still running: so does this one,
            # straight into the raw REPL the Ctrl-C's sender (mpremote) asks for next.
            self._event("vpico-ctrl-c-abort", str(rc))
            self.spawn("raw", "ctrl-c")
            return
        if rc not in (0, SOFT_RESET_EXIT):
            # A hard reset ends the watchdog too; the new boot may start it again.
            self.wdt_timeout_s = None
            self.hd.wdt_file.unlink(missing_ok=True)
            self.spawn("friendly", "hard")
            return
        self.to_client(b"MPY: soft reboot\r\n")
        self.spawn("raw" if self.raw else "friendly", "raw" if self.raw else "friendly")

    def kill_child(self) -> None:
        if self.child is not None and self.child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.child.pid, signal.SIGKILL)
            self.child.wait()

    # ---- byte relay --------------------------------------------------------------------
    def to_client(self, data: bytes) -> None:
        self.serial_log.write(data)
        self.serial_log.flush()
        # Nobody reading the port: dropped, as a board's USB CDC output would be.
        with contextlib.suppress(BlockingIOError):
            os.write(self.client, data)

    def from_device(self, data: bytes) -> None:
        self.tail = (self.tail + data)[-64:]
        if RAW_BANNER in self.tail:
            self.raw = True
        if b'Type "help()"' in self.tail:
            self.raw = False
        if self.filter is None:
            self.to_client(data)
            return
        self.buf += data
        if self.filter == "marker":
            i = self.buf.find(RAW_MARKER)
            if i < 0:
                return
            self.to_client(self.buf[:i])  # what boot.py printed
            self.buf = self.buf[i + len(RAW_MARKER) :]
            self.filter = "prompt"
        if self.filter == "prompt":
            if b">>> " not in self.buf:
                return
            self.buf = b""
            self.filter = "banner"
            os.write(self.dev, b"\x01")
            return
        if self.filter == "banner":
            i = self.buf.find(RAW_BANNER)
            if i < 0:
                return
            rest = self.buf[i:]
            self.buf = b""
            self.filter = None
            self.raw = True
            self.to_client(rest)
            if self.held:
                os.write(self.dev, self.held)
                self.held = b""

    def from_client(self, data: bytes) -> None:
        if b"\x03" in data:
            self.ctrl_c_at = time.monotonic()
        if self.filter is not None or self.dev is None:
            self.held += data
        else:
            os.write(self.dev, data)

    def _drain_device(self) -> None:
        while self.dev is not None:
            r, _, _ = select.select([self.dev], [], [], 0)
            if not r:
                return
            try:
                data = os.read(self.dev, 4096)
            except OSError:
                return
            if not data:
                return
            self.from_device(data)

    # ---- watchdog across soft resets ---------------------------------------------------
    def check_wdt(self) -> None:
        if self.wdt_timeout_s is None:
            new = self.hd.events(self.events_at)
            self.events_at = self.hd.events_offset()
            for _, kind, detail in new:
                if kind == "wdt-start":
                    self.wdt_timeout_s = int(detail) / 1000
            if self.wdt_timeout_s is None:
                return
        stamp = self.hd.wdt_stamp()
        enforce = self.hd.read_control().get("wdt", {}).get("enforce", True)
        if stamp is None or not enforce:
            return
        if time.time() - stamp > self.wdt_timeout_s + HANG_GRACE_S:
            self._event("wdt-expired", "host")
            (self.hd.state / "reset_cause").write_text(str(WDT_RESET))
            self.kill_child()  # child_exited() then sees SIGKILL: a hard reset

    def loop(self) -> None:
        self.spawn("friendly", "power-on")
        last_check = 0.0
        while self.running:
            fds = [self.client] + ([self.dev] if self.dev is not None else [])
            try:
                r, _, _ = select.select(fds, [], [], 0.05)
            except InterruptedError:
                continue
            if self.client in r:
                with contextlib.suppress(BlockingIOError, OSError):
                    self.from_client(os.read(self.client, 4096))
            if self.dev is not None and self.dev in r:
                try:
                    data = os.read(self.dev, 4096)
                except OSError:
                    data = b""
                if data:
                    self.from_device(data)
            if self.child is not None:
                rc = self.child.poll()
                if rc is not None:
                    self.child_exited(rc)
            if time.monotonic() - last_check > 0.2:
                last_check = time.monotonic()
                self.check_wdt()
        self.kill_child()


class VirtualPico:
    """Handle on a running supervisor: .port, .link, .flash, .harness, .pid, .stop()."""

    def __init__(self, flash: Path, harness: Path, link: Path | None, heap: str):
        self.flash = Path(flash).resolve()
        self.flash.mkdir(parents=True, exist_ok=True)
        self.harness = HarnessDir(harness)
        self.harness.power_on()
        self.link = link
        env = dict(os.environ)
        env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
        cmd = [
            sys.executable,
            "-m",
            "pico_harness.vpico",
            "--flash",
            str(self.flash),
            "--harness",
            str(self.harness.path),
            "--heap",
            heap,
        ]
        if link is not None:
            cmd += ["--link", str(link)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=5)
            raise RuntimeError("virtual Pico did not start")
        info = json.loads(line)
        self.port: str = info["port"]
        self.pid: int = self.proc.pid

    @property
    def device(self) -> str:
        """What an inventory would name: the link if there is one, else the pty."""
        return str(self.link) if self.link is not None else self.port

    def control(self, **sections: dict) -> dict:
        return self.harness.update_control(**sections)

    def events(self) -> list[tuple[int, str, str]]:
        return self.harness.events()

    def wait_for_event(self, kind: str, count: int = 1, timeout: float = 10) -> bool:
        """Wait until the event log holds `count` events of `kind` (e.g. "vpico-boot")."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if sum(1 for _, k, _ in self.events() if k == kind) >= count:
                return True
            time.sleep(0.05)
        return False

    def wait_for_output(self, text: str, timeout: float = 10) -> bool:
        """Wait until the serial log (everything the board printed) contains text."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.serial_log():
                return True
            time.sleep(0.05)
        return False

    def serial_log(self) -> str:
        return (self.harness.path / "serial.log").read_text(errors="replace")

    def mpremote(
        self, *args: str, timeout: float = 30, port: str | None = None
    ) -> subprocess.CompletedProcess:
        """Run `mpremote connect <port> args...` and return its result (text)."""
        exe = tool("mpremote")
        if exe is None:
            raise FileNotFoundError("mpremote not found: run scripts/setup.sh")
        return subprocess.run(
            [str(exe), "connect", port or self.port, *args], capture_output=True, text=True, timeout=timeout
        )

    def stop(self) -> None:
        # SIGTERM by PID: the supervisor kills its interpreter (also by PID) and exits.
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


@contextlib.contextmanager
def vpico(
    tmp_path: Path,
    *,
    heap: str = "128K",
    control: dict | None = None,
    files: dict[str, str] | None = None,
    link: bool = True,
) -> Iterator[VirtualPico]:
    """A powered-on virtual Pico with its flash at tmp_path/flash.

    files: flash contents to write before power-on (e.g. {"main.py": "..."}); control: the
    fakes' knobs; link: also make tmp_path/ttyACM0 point at the port, like a real board.
    """
    flash = Path(tmp_path) / "flash"
    flash.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        path = flash / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    harness = HarnessDir(Path(tmp_path) / "flash.harness")
    if control is not None:
        harness.write_control(control)
    dev = VirtualPico(flash, harness.path, Path(tmp_path) / "ttyACM0" if link else None, heap)
    try:
        # A board with no program sits at its prompt long before anyone deploys to it; wait
        # for that, so that a loaded machine's slow first boot is not a deploy's first race.
        if not (flash / "main.py").exists() and not dev.wait_for_output(">>> ", timeout=60):
            raise RuntimeError("the virtual Pico never reached its prompt:\n"
                                   + dev.serial_log()[-2000:])
        yield dev
    finally:
        dev.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Serve a virtual Pico W on a pty.")
    ap.add_argument("--flash", required=True, help="folder that is the board's flash")
    ap.add_argument("--harness", help="harness folder (default: FLASH.harness)")
    ap.add_argument("--heap", default="128K", help="MicroPython heap size")
    ap.add_argument("--link", help="also make this path a symlink to the port")
    args = ap.parse_args(argv)
    flash = Path(args.flash).resolve()
    harness = Path(args.harness) if args.harness else flash.parent / (flash.name + ".harness")
    sup = Supervisor(flash, harness, args.heap)
    link = Path(args.link) if args.link else None
    if link is not None:
        link.unlink(missing_ok=True)
        link.symlink_to(sup.port)

    def stop(_signo, _frame):
        sup.running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({"port": sup.port, "pid": os.getpid()}), flush=True)
    try:
        sup.loop()
    finally:
        sup.kill_child()
        if link is not None:
            link.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
