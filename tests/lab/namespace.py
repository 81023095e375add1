"""The lab's private mount namespace: its own /run, /etc/crontab, /etc/cron.d and cron spool.

sshd and cron both run inside it, so everything a lab user does over SSH (crontab -, pidfiles
under /run, @reboot) stays in the lab's folder and never reaches the machine's own cron. A
`sleep infinity` holder keeps the namespace alive independently of sshd and cron; every
process in it can be found (and stopped, by PID) through /proc/PID/ns/mnt.

Only mounts are private: PIDs, users and the network are the machine's, so a pidfile written
by a lab host names a PID the tests can check from outside.
"""

from __future__ import annotations

import contextlib
import grp
import os
import select
import shlex
import shutil
import subprocess
from pathlib import Path

from tests.support import processes

from .users import LabError

# Entries of the machine's /run the lab gets its own copy of: cron's lock and @reboot marker
# (a second cron refuses to start while the machine's holds /run/crond.pid, and @reboot jobs
# run only while /run/crond.reboot is absent), sshd's privilege-separation folder, and utmp.
PRIVATE_RUN = {"crond.pid", "crond.reboot", "sshd", "sshd.pid", "utmp"}
# Login records sshd writes for interactive sessions; the lab keeps its own.
LOGIN_RECORDS = ("/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog")
CRON_SPOOL = Path("/var/spool/cron/crontabs")
SENDMAIL = Path("/usr/sbin/sendmail")
PAM_CRON = Path("/etc/pam.d/cron")


def unavailable() -> str | None:
    """Why this machine cannot make mount namespaces (e.g. a container without
    CAP_SYS_ADMIN), or None when it can."""
    if not shutil.which("unshare") or not shutil.which("nsenter"):
        return "unshare/nsenter are missing (apt-get install util-linux)"
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"unshare --mount fails: {probe.stderr.strip()}"
    return None


class Namespace:
    """The lab's mount namespace. Disabled (enabled=False) where namespaces are not allowed:
    then sshd runs in the machine's namespace with a real /run/sshd, and there is no cron."""

    def __init__(self, lab_dir: Path, launcher: tuple[str, ...] = (), enabled: bool = True):
        # `launcher` prefixes the unshare call; tests use it to nest the namespace in a fake
        # machine whose own /etc/crontab has jobs.
        self.launcher = list(launcher)
        self.enabled = enabled
        self.root = lab_dir / "ns"
        self.state = lab_dir / "state"
        self.pidfile = self.state / "ns.pid"
        self.idfile = self.state / "ns.id"  # survives the holder, to sweep leftovers
        self.log = lab_dir / "log" / "namespace.log"

    @property
    def pid(self) -> int | None:
        return processes.read_pidfile(self.pidfile)

    @property
    def running(self) -> bool:
        return self.pid is not None or not self.enabled

    @property
    def spool(self) -> Path:
        """The lab's cron spool (the real /var/spool/cron/crontabs inside the namespace)."""
        return self.root / "crontabs"

    @property
    def mail(self) -> Path:
        """Output of cron jobs: cron 'mails' it and the lab's sendmail appends it here."""
        return self.root / "mail"

    def prefix(self) -> list[str]:
        """argv prefix that runs a command inside the namespace (nsenter execs, same PID)."""
        if not self.enabled:
            return []
        pid = self.pid
        if pid is None:
            raise LabError("the lab namespace is not running (scripts/lab.sh up)")
        return ["nsenter", f"--target={pid}", "--mount", "--"]

    def run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        return subprocess.run(self.prefix() + argv, **kwargs)

    def _prepare(self) -> None:
        for sub in ("hostrun", "cron.d", "logins"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "cron.d").chmod(0o755)  # cron ignores cron.d unless root-owned, 0755
        crontab = self.root / "crontab"
        crontab.write_text("# Meters lab: the machine's /etc/crontab jobs do not run here.\n")
        crontab.chmod(0o644)
        # Same ownership and sticky, group-writable mode as Debian's spool, so the setgid
        # crontab(1) can write into it and cron trusts what it finds.
        self.spool.mkdir(exist_ok=True)
        with contextlib.suppress(KeyError):  # no cron installed: the spool is never mounted
            os.chown(self.spool, 0, grp.getgrnam("crontab").gr_gid)
        self.spool.chmod(0o1730)
        self.mail.mkdir(exist_ok=True)
        self.mail.chmod(0o1777)
        sendmail = self.root / "sendmail"
        sendmail.write_text(
            "#!/bin/sh\n# The lab's sendmail: keep cron job output instead of mailing it.\n"
            f'{{ echo "From cron $(date -u +%FT%TZ)"; cat; echo; }} >> {self.mail}/"$(id -un)"\n')
        sendmail.chmod(0o755)
        if PAM_CRON.exists():
            # pam_loginuid fails where the kernel's audit login UID is not writable (containers),
            # and as "required" it makes cron drop every job; in the lab it is optional.
            text = PAM_CRON.read_text().replace(
                "required     pam_loginuid.so", "optional     pam_loginuid.so")
            (self.root / "pam-cron").write_text(text)
        for record in LOGIN_RECORDS:
            (self.root / "logins" / Path(record).name).touch()

    def _script(self) -> str:
        q = shlex.quote
        hostrun = q(str(self.root / "hostrun"))
        lines = [
            "set -eu",
            # Keep a handle on the machine's /run, put an empty tmpfs on /run and bring back
            # every entry except the ones the lab must own (see PRIVATE_RUN).
            f"mount --rbind /run {hostrun}",
            "mount -t tmpfs -o mode=0755,size=64m lab-run /run",
        ]
        # Listed by the shell, not by Python: the namespace may be nested in another one.
        private = " ".join(sorted(PRIVATE_RUN))
        lines += [
            f'for src in {hostrun}/* {hostrun}/.[!.]*; do',
            '  [ -e "$src" ] || [ -L "$src" ] || continue',
            '  name=${src##*/}; dst=/run/$name',
            f'  case " {private} " in *" $name "*) continue;; esac',
            '  if [ -L "$src" ]; then ln -s "$(readlink "$src")" "$dst"',
            '  elif [ -d "$src" ]; then mkdir "$dst" && mount --rbind "$src" "$dst"',
            '  else touch "$dst" && mount --bind "$src" "$dst"; fi || true',
            "done",
        ]
        lines += [
            f"umount --lazy {hostrun}",
            "mkdir -m 0755 /run/sshd",
            f"mount --bind {q(str(self.root / 'crontab'))} /etc/crontab",
            f"mount --bind {q(str(self.root / 'cron.d'))} /etc/cron.d",
        ]
        optional = [(self.spool, CRON_SPOOL), (self.root / "sendmail", SENDMAIL),
                    (self.root / "pam-cron", PAM_CRON)]
        optional += [(self.root / "logins" / Path(r).name, Path(r)) for r in LOGIN_RECORDS]
        for src, dst in optional:
            if dst.exists():
                lines.append(f"mount --bind {q(str(src))} {q(str(dst))}")
        lines += ["echo ready", "exec sleep infinity"]
        return "\n".join(lines) + "\n"

    def start(self) -> int | None:
        """Start the namespace holder if it is not running; return its PID."""
        if not self.enabled:
            # sshd's privilege-separation folder is then the machine's own.
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
            return None
        if self.pid is not None:
            return self.pid
        self._prepare()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            holder = subprocess.Popen(
                [*self.launcher, "unshare", "--mount", "--propagation", "private", "--",
                 "/bin/sh", "-c", self._script()],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                start_new_session=True, cwd="/")
        ready, _, _ = select.select([holder.stdout], [], [], 10)
        line = holder.stdout.readline() if ready else b""
        holder.stdout.close()
        if line.strip() != b"ready":
            processes.stop_pids([holder.pid])
            raise LabError(f"could not set up the lab namespace; see {self.log}")
        processes.write_pidfile(self.pidfile, holder.pid)
        self.idfile.write_text(processes.mount_ns(holder.pid) or "")
        return holder.pid

    def members(self) -> list[int]:
        """PIDs of every process in the namespace (sshd, sessions, cron, jobs, the holder)."""
        if not self.enabled:
            return []
        ns = self.idfile.read_text().strip() if self.idfile.exists() else ""
        if not ns or ns == processes.mount_ns(os.getpid()):
            return []  # never sweep the namespace we ourselves live in
        return processes.pids_in_mount_ns(ns)

    def stop(self) -> None:
        """Stop every process left in the namespace, by PID, then the holder."""
        holder = self.pid
        processes.stop_pids([p for p in self.members() if p != holder])
        if holder is not None:
            processes.stop_pids([holder])
        self.pidfile.unlink(missing_ok=True)
        self.idfile.unlink(missing_ok=True)
