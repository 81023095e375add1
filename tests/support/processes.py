"""Stopping exactly the processes we started, by PID (never by name).

Two kinds: a child we hold a Popen for (a server a test started; `stop_process`), and a
process recorded in a pidfile (the lab's sshd, cron and namespace, which outlive the command
that started them; `write_pidfile`, `stop_pidfile`). A pidfile holds "PID STARTTIME", the
kernel's start time in clock ticks, because a bare PID can be reused by an unrelated process
after a crash: a PID whose start time does not match is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

# -- children we hold ---------------------------------------------------------------------------


def stop_process(proc: subprocess.Popen | None, timeout: float = 15.0) -> None:
    """SIGTERM a child we started, by its PID; SIGKILL if it is not gone after `timeout`."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        kill_process(proc, timeout)


def kill_process(proc: subprocess.Popen | None, timeout: float = 15.0) -> None:
    """SIGKILL a child we started (a crash, as a test means it) and reap it."""
    if proc is not None and proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout)


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (e.g. gunicorn's workers), from /proc."""
    found = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                for child in map(int, f.read().split()):
                    found += [child, *descendants(child)]
    return found


# -- processes named by pidfiles ----------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    return raw[raw.rindex(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """The process's start time (field 22 of /proc/PID/stat), None if it is gone or a zombie."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def alive(pid: int | None) -> bool:
    return pid is not None and start_time(pid) is not None


def write_pidfile(path: Path, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{pid} {start_time(pid)}\n")
    tmp.replace(path)


def read_pidfile(path: Path) -> int | None:
    """The PID in the file if that very process is still running, else None."""
    try:
        pid_text, started = path.read_text().split()
        pid = int(pid_text)
    except (FileNotFoundError, ValueError):
        return None
    return pid if str(start_time(pid)) == started else None


def _reap(pid: int) -> None:
    # Our own children stay zombies until waited for; other processes are reaped by init.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop_pids(pids: list[int], timeout: float = 5.0) -> None:
    """SIGTERM each PID, wait up to `timeout`, then SIGKILL whatever is left (each checked
    against the start time it had when we began, so a reused PID is left alone)."""
    started = {pid: start_time(pid) for pid in pids}
    started = {pid: t for pid, t in started.items() if t is not None}
    for pid in started:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while True:
        for pid in started:
            _reap(pid)
        left = [pid for pid, t in started.items() if start_time(pid) == t]
        if not left:
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _reap(pid)


def stop_pidfile(path: Path, timeout: float = 5.0) -> int | None:
    """Stop the process a pidfile names (if it is still that process); return its PID."""
    pid = read_pidfile(path)
    if pid is not None:
        stop_pids([pid], timeout)
    path.unlink(missing_ok=True)
    return pid


# -- finding processes --------------------------------------------------------------------------


def all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def mount_ns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


def pids_in_mount_ns(ns: str, exclude: tuple[int, ...] = ()) -> list[int]:
    """Every process living in mount namespace `ns` (e.g. 'mnt:[4026532301]')."""
    return [p for p in all_pids() if p not in exclude and mount_ns(p) == ns]


def pids_of_uids(uids: set[int]) -> list[int]:
    found = []
    for pid in all_pids():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("Uid:"):
                    if int(line.split()[1]) in uids:  # the real UID
                        found.append(pid)
                    break
        except OSError:
            continue
    return found
