"""Process and polling helpers every suite shares: a free port on a loopback address of the
suite's own range, polling with a deadline, and stopping a process we started by its PID
(never by name)."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time


def loopback(low: int, high: int) -> tuple[str, int]:
    """A free port on a random address in 127.0.0.<low>-<high> (each suite has its range, so
    servers of different suites never meet on one address)."""
    host = f"127.0.0.{random.randint(low, high)}"
    with socket.socket() as s:
        s.bind((host, 0))
        return host, s.getsockname()[1]


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05, what: str = ""):
    """Poll until predicate() returns something truthy and return it; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout} s" + (f": {what}" if what else ""))
        time.sleep(interval)


def stop_pid(proc: subprocess.Popen | None, timeout: float = 15) -> None:
    """SIGTERM the process we started, by its PID; SIGKILL if it does not go."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        kill9(proc, timeout)


def kill9(proc: subprocess.Popen | None, timeout: float = 15) -> None:
    if proc is not None and proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout)
