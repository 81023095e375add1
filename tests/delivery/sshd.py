"""A minimal, hand-started sshd on a loopback address, for the rsync route.

It is a stand-in for the Tempest host's SSH: one key per meter, each pinned (as the tempest
and meter roles pin them, see docs/delivery.md) to `rrsync -wo -munge -no-del` into that
meter's own drop subfolder, `<drop>/<serial>/`, so a meter can only write files there (and a
link it sends leads nowhere). It runs as the user running the tests (root in CI) with its own
host key, config and authorized keys in a temporary folder, and is stopped by its PID.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

from .helpers import free_address, stop_pid

SSHD = "/usr/sbin/sshd"
RRSYNC = "/usr/bin/rrsync"


def missing() -> list[str]:
    """Why this cannot run here (empty when it can)."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("sshd refuses to run privilege separation as a normal user: needs root")
    for path, pkg in ((SSHD, "openssh-server"), (RRSYNC, "rsync"), ("/usr/bin/ssh-keygen",
                      "openssh-client")):
        if not os.path.exists(path):
            reasons.append(f"{path} is missing (apt-get install {pkg})")
    if shutil.which("rsync") is None or shutil.which("ssh") is None:
        reasons.append("rsync or ssh is missing (apt-get install rsync openssh-client)")
    return reasons


def keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name,
                    "-f", str(path)], check=True, capture_output=True)
    return Path(f"{path}.pub").read_text().strip()


class Sshd:
    def __init__(self, folder: Path, drop: Path):
        self.dir = folder
        self.dir.mkdir(parents=True, exist_ok=True)
        self.drop = drop
        self.host, self.port = free_address()
        self.host_key = self.dir / "host_key"
        host_pub = keygen(self.host_key)
        self.known_hosts = self.dir / "known_hosts"
        self.known_hosts.write_text(f"[{self.host}]:{self.port} {host_pub}\n")
        self.authorized = self.dir / "authorized_keys"
        self.authorized.write_text("")  # a line per meter, added by key_for()
        self.keys: dict[str, Path] = {}
        self.config = self.dir / "sshd_config"
        self.log = self.dir / "sshd.log"
        self.proc: subprocess.Popen | None = None

    def write_config(self) -> None:
        self.config.write_text("\n".join([
            f"Port {self.port}",
            f"ListenAddress {self.host}",
            f"HostKey {self.host_key}",
            "PidFile none",
            "UsePAM no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            # Only a key with a forced command gets in (rrsync); nothing else, not even root.
            "PermitRootLogin forced-commands-only",
            f"AuthorizedKeysFile {self.authorized}",
            "StrictModes no",
            "UseDNS no",
            "LogLevel VERBOSE",
            f"AllowUsers {self.user}",
            "",
        ]))

    def start(self) -> Sshd:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation folder
        self.write_config()
        check = subprocess.run([SSHD, "-t", "-f", str(self.config)], capture_output=True,
                               text=True)
        if check.returncode != 0:
            raise RuntimeError(f"sshd rejects its config: {check.stderr}")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.config)],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while b"Server listening" not in self.log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not start: {self.log.read_text()[-1500:]}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        stop_pid(self.proc)
        self.proc = None

    @property
    def user(self) -> str:
        return pwd.getpwuid(os.geteuid()).pw_name

    def key_for(self, serial: str) -> Path:
        """The meter's private key, made and authorised on first use the way the roles do it:
        its own folder `<drop>/<serial>/` (group-writable, setgid), and a line whose forced
        command is rrsync into that folder only (sshd reads the file at every login)."""
        if serial not in self.keys:
            key = self.dir / f"meter_key_{serial}"
            public = keygen(key)
            folder = self.drop / serial
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o2770)
            with open(self.authorized, "a") as f:
                f.write(f'restrict,command="{RRSYNC} -wo -munge -no-del -no-lock {folder}" '
                        f"{public} meters-drop:{serial}\n")
            self.keys[serial] = key
        return self.keys[serial]

    def target(self) -> str:
        return f"{self.user}@{self.host}:"

    def ssh_command(self, serial: str) -> str:
        """An `rsync -e` value logging in with the meter's key (for rsync runs by hand)."""
        return (f"ssh -p {self.port} -i {self.key_for(serial)} -o IdentitiesOnly=yes "
                f"-o BatchMode=yes -o UserKnownHostsFile={self.known_hosts} "
                "-o StrictHostKeyChecking=yes")

    def delivery(self, serial: str) -> dict:
        """The meter's `delivery` config section for this sshd."""
        return {"mode": "rsync", "rsync_target": self.target(),
                "ssh_key": str(self.key_for(serial)), "ssh_port": self.port,
                "ssh_known_hosts": str(self.known_hosts), "timeout_s": 5}
