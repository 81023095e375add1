"""The real Debian cron daemon, for lab accounts only.

Debian's cron has no option to skip /etc/crontab or /etc/cron.d (its flags are -f, -l, -n
and -L), so isolation comes from the lab namespace: there /etc/crontab is an empty lab file,
/etc/cron.d an empty lab folder, and the spool is the lab's own. User crontabs written over
SSH (`crontab -`, Ansible's cron module) land in that spool; a `crontab -u` typed in a shell
outside the lab writes the machine's spool, which the lab's cron never reads.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

from tests.support import processes

from .namespace import Namespace
from .users import LabError

CRON = "/usr/sbin/cron"


class Cron:
    def __init__(self, lab_dir: Path, ns: Namespace):
        self.ns = ns
        self.pidfile = lab_dir / "state" / "cron.pid"
        self.log = lab_dir / "log" / "cron.log"

    @property
    def pid(self) -> int | None:
        return processes.read_pidfile(self.pidfile)

    def start(self) -> bool:
        """Start cron in the lab namespace unless it runs; True if this call started it.

        The first start in a namespace runs @reboot entries (the namespace's /run has no
        crond.reboot yet), like a Pi booting; restarting cron in the same namespace does not.
        """
        if self.pid is not None:
            return False
        if not self.ns.enabled:
            raise LabError("no mount namespace here, so cron cannot be kept from the "
                           "machine's own jobs; the lab runs without cron")
        if not Path(CRON).exists() or not shutil.which("crontab"):
            raise LabError("cron is not installed: apt-get install cron (scripts/setup.sh --test)")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            # -f keeps cron in the foreground so the PID is cron's; -L 15 logs every job
            # (to syslog, when the machine has one).
            proc = subprocess.Popen(self.ns.prefix() + [CRON, "-f", "-L", "15"],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=True, cwd="/")
        processes.write_pidfile(self.pidfile, proc.pid)
        # cron takes its lock in /run/crond.pid at once; give a failing start time to exit.
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(0.3)
        if proc.returncode is not None:
            raise LabError(f"cron exited at start; see {self.log}")
        return True

    def stop(self) -> int | None:
        """Stop the daemon by PID. Jobs it already started finish on their own."""
        return processes.stop_pidfile(self.pidfile)

    def install(self, user: str, text: str) -> None:
        """`crontab -u USER -` inside the lab, i.e. into the lab's spool."""
        result = self.ns.run(["crontab", "-u", user, "-"], input=text)
        if result.returncode != 0:
            raise LabError(f"crontab -u {user} failed: {result.stderr.strip()}")

    def show(self, user: str) -> str:
        """The user's lab crontab, '' if there is none."""
        result = self.ns.run(["crontab", "-u", user, "-l"])
        return result.stdout if result.returncode == 0 else ""

    def remove(self, user: str) -> None:
        self.ns.run(["crontab", "-u", user, "-r"])

    def clear_spool(self) -> None:
        """Forget every lab crontab (part of wiping the lab's hosts)."""
        if not self.ns.spool.is_dir():
            return
        for path in self.ns.spool.iterdir():
            path.unlink()
        # crontab(1) touches the folder so cron rereads it; do the same.
        self.ns.spool.touch()
