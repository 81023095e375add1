"""A real Mosquitto broker for a test: Debian's `mosquitto`, on a free loopback address.

Started with a config file of its own (one listener, anonymous clients, persistence in the
test's folder so a restart keeps the sessions and queued messages), stopped by its PID. A
restart reuses the same address, port and persistence file, as an operator's restart would.
Missing under CI=true, it fails the test instead of skipping (tests/support/ci_guard.py).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path

from tests.support import ci_guard
from tests.support.addresses import free_address
from tests.support.processes import stop_process
from tests.support.waiting import wait_for

CANDIDATES = ("mosquitto", "/usr/sbin/mosquitto")


def binary() -> str:
    for name in CANDIDATES:
        found = shutil.which(name) or (name if Path(name).exists() else None)
        if found:
            return found
    ci_guard.skip_missing("mosquitto", "Debian's mosquitto: scripts/setup.sh --test")
    raise AssertionError("unreachable")


class Mosquitto:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.binary = binary()
        self.host, self.port = free_address()
        self.conf = self.folder / "mosquitto.conf"
        self.log = self.folder / "mosquitto.log"
        self.conf.write_text(
            f"listener {self.port} {self.host}\n"
            # Run as root, Mosquitto would switch to the `mosquitto` user, who cannot write
            # the test's folder: stay whoever runs the test.
            f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.folder}/\n"
            "persistence_file mosquitto.db\n"
            # Queued QoS 1 messages for an offline persistent session: no silent drop.
            "max_queued_messages 0\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> Mosquitto:
        log = open(self.log, "ab")  # noqa: SIM115 - the child keeps it open
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        wait_for(self._listening, timeout=15, what=f"mosquitto on {self.host}:{self.port}")
        return self

    def _listening(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"mosquitto exited: {self.log.read_text()[-2000:]}")
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM by PID: Mosquitto saves its persistence file on the way out."""
        stop_process(self.proc)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
