"""The rsync route's far end: a real sshd (tests/support/sshd.py) on a loopback address,
standing in for the Tempest host's SSH.

One key per meter, each pinned (as the tempest and meter roles pin them, see
docs/delivery.md) to `rrsync -wo -munge -no-del` into that meter's own drop subfolder,
`<drop>/<serial>/`, so a meter can only write files there (and a link it sends leads
nowhere). It runs as the user running the tests (root in CI) with its own host key, config
and authorized keys in a temporary folder, and is stopped by its PID.
"""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

from tests.support.addresses import free_address
from tests.support.sshd import SSH_KEYGEN, SSHD, Sshd, ssh_keygen

RRSYNC = "/usr/bin/rrsync"


def missing() -> list[str]:
    """Why this cannot run here (empty when it can)."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("sshd refuses to run privilege separation as a normal user: needs root")
    for path, pkg in ((SSHD, "openssh-server"), (RRSYNC, "rsync"),
                      (SSH_KEYGEN, "openssh-client")):
        if not os.path.exists(path):
            reasons.append(f"{path} is missing (apt-get install {pkg})")
    if shutil.which("rsync") is None or shutil.which("ssh") is None:
        reasons.append("rsync or ssh is missing (apt-get install rsync openssh-client)")
    return reasons


class RsyncDrop:
    """sshd for meters' rsync into `drop`, configured in `folder`."""

    def __init__(self, folder: Path, drop: Path):
        self.dir = folder
        self.dir.mkdir(parents=True, exist_ok=True)
        self.drop = drop
        self.host, self.port = free_address()
        self.host_key = self.dir / "host_key"
        host_pub = ssh_keygen(self.host_key)
        self.known_hosts = self.dir / "known_hosts"
        self.known_hosts.write_text(f"[{self.host}]:{self.port} {host_pub}\n")
        self.authorized = self.dir / "authorized_keys"
        self.authorized.write_text("")  # a line per meter, added by key_for()
        self.keys: dict[str, Path] = {}
        self.sshd = Sshd(self.dir / "sshd_config", self.dir / "sshd.log")

    def config_text(self) -> str:
        return "\n".join([
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
        ])

    def start(self) -> RsyncDrop:
        self.sshd.write_config(self.config_text())
        self.sshd.start()
        return self

    def stop(self) -> None:
        self.sshd.stop()

    @property
    def user(self) -> str:
        return pwd.getpwuid(os.geteuid()).pw_name

    def key_for(self, serial: str) -> Path:
        """The meter's private key, made and authorised on first use the way the roles do it:
        its own folder `<drop>/<serial>/` (group-writable, setgid), and a line whose forced
        command is rrsync into that folder only (sshd reads the file at every login)."""
        if serial not in self.keys:
            key = self.dir / f"meter_key_{serial}"
            public = ssh_keygen(key)
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
