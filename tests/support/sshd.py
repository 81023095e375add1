"""A real OpenSSH server for tests: `/usr/sbin/sshd -D -e -f CONFIG`, stopped by its PID.

The caller writes the config (what the server is for: the delivery tests' rrsync drop, the
lab fleet's accounts); this class checks it with `sshd -t`, starts sshd in the foreground so
the PID recorded is sshd's own, waits until its log says it listens, reloads it with SIGHUP
and stops it by the PID in its pidfile (checked against the process's start time, so a
reused PID is never signalled). The pidfile lets a server outlive the command that started
it (`python -m tests.lab up`, then `down`).
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.support import processes
from tests.support.waiting import WaitTimeout, wait_for

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
LISTENING = b"Server listening on "


class SshdError(RuntimeError):
    """sshd refused its config, exited or did not listen; the message says where to look."""


def ssh_keygen(path: Path, comment: str | None = None) -> str:
    """An ed25519 key pair at `path` (made unless it exists); its public key line."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment or path.name,
                        "-f", str(path)], check=True, capture_output=True)
    return Path(f"{path}.pub").read_text().strip()


class Sshd:
    """sshd with the config at `config`, logging to `log`, its PID in `pidfile` (default:
    beside the config). `launcher` returns an argv prefix to run sshd (and `sshd -t`) with,
    e.g. nsenter into a mount namespace; `detach` starts it in a session of its own, so it
    outlives the process that started it."""

    def __init__(self, config: Path, log: Path, pidfile: Path | None = None, *,
                 launcher: Callable[[], list[str]] = list, detach: bool = False):
        self.config = Path(config)
        self.log = Path(log)
        self.pidfile = Path(pidfile or self.config.with_name("sshd.pid"))
        self.launcher = launcher
        self.detach = detach

    @property
    def pid(self) -> int | None:
        """sshd's PID if it runs, else None."""
        return processes.read_pidfile(self.pidfile)

    def write_config(self, text: str) -> bool:
        """Write the config (mode 600); True if it changed."""
        if self.config.exists() and self.config.read_text() == text:
            return False
        self.config.parent.mkdir(parents=True, exist_ok=True)
        self.config.write_text(text)
        self.config.chmod(0o600)
        return True

    def check(self) -> None:
        """`sshd -t`: SshdError with sshd's reason if it rejects the config."""
        if not self.launcher():
            # In the machine's own mount namespace: sshd (even `sshd -t`) wants its privilege
            # separation folder, which nothing creates on a machine without systemd.
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        result = subprocess.run(self.launcher() + [SSHD, "-t", "-f", str(self.config)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise SshdError(f"sshd rejects {self.config}: {result.stderr.strip()}")

    def start(self) -> bool:
        """Start sshd unless it runs; True if this call started it."""
        self.check()
        if self.pid is not None:
            return False
        prefix = self.launcher()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        before = self._listening_count()
        with open(self.log, "ab") as log:
            # -D: stay in the foreground so the PID we record is sshd's own; -e: log to the file.
            proc = subprocess.Popen(prefix + [SSHD, "-D", "-e", "-f", str(self.config)],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=self.detach, cwd="/")
        processes.write_pidfile(self.pidfile, proc.pid)
        self._wait_listening(proc.pid, before)
        return True

    def reload(self) -> None:
        """SIGHUP: sshd re-executes itself with the config as it is now."""
        self.check()
        pid = self.pid
        if pid is None:
            raise SshdError(f"sshd is not running (no live PID in {self.pidfile})")
        before = self._listening_count()
        os.kill(pid, signal.SIGHUP)
        self._wait_listening(pid, before)

    def stop(self) -> int | None:
        """Stop sshd by its PID (SIGTERM, then SIGKILL); the PID it had, None if none ran."""
        return processes.stop_pidfile(self.pidfile)

    def _listening_count(self) -> int:
        return self.log.read_bytes().count(LISTENING) if self.log.exists() else 0

    def _wait_listening(self, pid: int, before: int) -> None:
        try:
            wait_for(lambda: self._listening_count() > before or not processes.alive(pid), 10,
                     what="sshd to listen")
        except WaitTimeout as exc:
            raise SshdError(f"sshd did not start listening; see {self.log}") from exc
        if not processes.alive(pid):
            tail = self.log.read_text(errors="replace")[-1500:]
            raise SshdError(f"sshd exited; see {self.log}:\n{tail}")
