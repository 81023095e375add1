"""Run MicroPython code on the real unix-port interpreter, as if on a Pico W.

    from pico_harness import runner
    res = runner.run(flash_dir, heap="128K", control={"clock": {"fast": True}})
    assert res.ok, res.output

The flash folder becomes the device's "/" (VfsPosix); the fakes in fakes/ stand in for the
hardware (machine, network, ntptime, rp2) and reshape time and socket like the RP2040's.
By default boot.py then main.py run, as at power-on; `script=`, `module=` or `code=` run
something else. See docs/pico-harness.md.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .harnessdir import (
    HANG_GRACE_S,
    RESET_SIGNALS,
    START,
    HarnessDir,
    micropython_env,
    parse_heap,
    tool,
)

DEFAULT_HEAP = "128K"


@dataclass
class Result:
    returncode: int | None
    stdout: str
    stderr: str
    events: list[tuple[int, str, str]] = field(default_factory=list)
    heap_base: int | None = None  # live heap (bytes) before the program ran: harness cost
    heap_peak: int | None = None  # highest live heap seen at WDT.feed() (after a collect)
    reset: str | None = None  # "reset" (machine.reset), "wdt", "wdt-hang" (host-detected)
    timed_out: bool = False
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def kinds(self, kind: str) -> list[str]:
        """Details of every event of one kind, e.g. res.kinds("wlan-fail")."""
        return [detail for _, k, detail in self.events if k == kind]


def micropython() -> Path:
    """The interpreter: PICO_MICROPYTHON if set (another build of the unix port, e.g. the
    32-bit one bench/bench_pico.py can measure with, docs/pico.md), else the dev extra's."""
    given = os.environ.get("PICO_MICROPYTHON")
    if given:
        return Path(given)
    path = tool("micropython")
    if path is None:
        raise FileNotFoundError("micropython not found: run scripts/setup.sh (dev extra)")
    return path


class PicoProcess:
    """One running MicroPython "power-on": start it, steer it, wait for it."""

    def __init__(
        self,
        flash: Path,
        *,
        harness: Path | None = None,
        heap: str | int = DEFAULT_HEAP,
        control: dict | None = None,
        script: str | None = None,
        module: str | None = None,
        code: str | None = None,
        power_on: bool = True,
    ):
        self.flash = Path(flash).resolve()
        self.flash.mkdir(parents=True, exist_ok=True)
        hpath = harness or self.flash.parent / (self.flash.name + ".harness")
        self.hd = HarnessDir(hpath)
        if power_on:
            self.hd.power_on()
        if control is not None:
            self.hd.write_control(control)
        given = [k for k, v in (("script", script), ("module", module), ("code", code)) if v]
        if len(given) > 1:
            raise ValueError("give at most one of script=, module=, code=")
        kind, target = (given[0], script or module or code) if given else ("boot", "")
        if kind == "code":
            # Code goes through a file, never argv: exec() of a string taken from argv has
            # crashed this build ("FATAL: uncaught NLR"), compiling from a file has not.
            (self.hd.path / "code.py").write_text(code)
            kind, target = "script", "/.harness/code.py"
        heap_arg = heap if isinstance(heap, str) else str(heap)
        self.heap_bytes = parse_heap(heap_arg)
        self._since = self.hd.events_offset()
        self._out = open(self.hd.path / "stdout.txt", "w+b")  # noqa: SIM115 - closed in wait
        self._err = open(self.hd.path / "stderr.txt", "w+b")  # noqa: SIM115
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [
                str(micropython()),
                "-X",
                f"heapsize={heap_arg}",
                str(START),
                str(self.flash),
                str(self.hd.path),
                "run",
                kind,
                target,
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=self._err,
            cwd=self.flash,
            env=micropython_env(),
        )
        self.hang = False
        self._watch = threading.Thread(target=self._watch_wdt, daemon=True)
        self._watch.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def control(self, **sections: dict) -> dict:
        """Change knobs while the program runs, e.g. p.control(wlan={"up": False})."""
        return self.hd.update_control(**sections)

    def events(self) -> list[tuple[int, str, str]]:
        return self.hd.events(self._since)

    def stdout_so_far(self) -> str:
        return (self.hd.path / "stdout.txt").read_text(errors="replace")

    def _watch_wdt(self) -> None:
        # The fakes catch a starved watchdog at the next sleep or feed; a program stuck in a
        # blocking call never gets there, so the host watches the feed stamp's age too.
        timeout_s = None
        while self.proc.poll() is None:
            time.sleep(0.1)
            if timeout_s is None:
                starts = [d for _, k, d in self.events() if k == "wdt-start"]
                if not starts:
                    continue
                timeout_s = int(starts[-1]) / 1000
            stamp = self.hd.wdt_stamp()
            if stamp is None or not self.hd.read_control().get("wdt", {}).get("enforce", True):
                continue
            if time.time() - stamp > timeout_s + HANG_GRACE_S:
                self.hang = True
                self._kill()
                return

    def _kill(self) -> None:
        # By PID only: this process and nothing else.
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self._kill()
        self.proc.wait()

    def wait(self, timeout: float = 60) -> Result:
        timed_out = False
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            self.stop()
        self._watch.join(timeout=1)
        duration = time.monotonic() - self.started
        self._out.close()
        self._err.close()
        rc = self.proc.returncode
        events = self.events()
        heaps = [int(d) for _, k, d in events if k == "heap"]
        bases = [int(d) for _, k, d in events if k == "heap-base"]
        reset = "wdt-hang" if self.hang else RESET_SIGNALS.get(rc)
        return Result(
            returncode=rc,
            stdout=(self.hd.path / "stdout.txt").read_text(errors="replace"),
            stderr=(self.hd.path / "stderr.txt").read_text(errors="replace"),
            events=events,
            heap_base=bases[-1] if bases else None,
            heap_peak=max(heaps) if heaps else None,
            reset=reset,
            timed_out=timed_out and not self.hang,
            duration_s=duration,
        )


def start(flash: Path, **kw) -> PicoProcess:
    """Start without waiting: steer it with .control(...), then .wait()."""
    return PicoProcess(flash, **kw)


def run(flash: Path, *, timeout: float = 60, **kw) -> Result:
    """Run to the end (or timeout) and return what happened. Keywords as PicoProcess."""
    return PicoProcess(flash, **kw).wait(timeout=timeout)


def find_min_heap(
    flash: Path,
    *,
    low: int = 8 * 1024,
    high: int = 256 * 1024,
    step: int = 1024,
    timeout: float = 60,
    **kw,
) -> int | None:
    """The smallest heap (bytes, to `step`) with which the run still succeeds.

    The true peak demand including transient garbage the WDT.feed() samples miss, found by
    bisection: log2((high-low)/step) runs, so keep the program short or fast-forwarded.
    None if it fails even at `high`.
    """

    def ok(size: int) -> bool:
        return run(flash, heap=str(size), timeout=timeout, **kw).ok

    if not ok(high):
        return None
    lo, hi = low // step, high // step  # hi always passes; lo is assumed to fail
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid * step):
            hi = mid
        else:
            lo = mid
    return hi * step


def fakes_overhead(tmp: Path, heap: str = DEFAULT_HEAP) -> int:
    """Heap (bytes) the fakes themselves hold once all are imported.

    On a Pico machine/network/ntptime are built in and cost no heap; here they are Python
    modules on the same heap, so a program test can add this much to the cap.
    """
    code = (
        "import gc\ngc.collect()\na=gc.mem_alloc()\n"
        "import time, machine, network, socket, ntptime, rp2\n"
        "gc.collect()\nprint(gc.mem_alloc()-a)\n"
    )
    res = run(Path(tmp) / "overhead-flash", heap=heap, code=code, timeout=30)
    if not res.ok:
        raise RuntimeError(res.output)
    return int(res.stdout.split()[-1])


def mpy_cross(src: Path, out: Path | None = None, args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Compile one .py file with mpy-cross (bytecode .mpy for the firmware's version)."""
    exe = tool("mpy-cross")
    if exe is None:
        raise FileNotFoundError("mpy-cross not found: run scripts/setup.sh (dev extra)")
    cmd = [str(exe), *args]
    if out is not None:
        cmd += ["-o", str(out)]
    cmd.append(str(src))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@contextlib.contextmanager
def limited_flash(path: Path, kib: int) -> Iterator[Path]:
    """Make `path` a tmpfs of `kib` KiB for the flash, so a full flash is a real ENOSPC.

    Needs root (mount); raises PermissionError otherwise, for the test to skip on.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={kib}k,mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        raise PermissionError(f"cannot mount a tmpfs flash: {res.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], capture_output=True)
