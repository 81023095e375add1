"""The lab fleet: a Tempest host and N simulated Pis as Unix accounts on this machine, each
reachable over real SSH on its own loopback address, for the Ansible tests to deploy onto.

    lab = Lab(LabConfig.from_env(meters=5))
    lab.up()                       # idempotent; reuses accounts, keys and a running sshd
    lab.ssh(lab.host("m01"), "hostname")
    ansible -i lab.inventory ...   # see docs/lab.md
    lab.down()                     # stops sshd, cron and every lab process, by PID

What it changes outside its folder (METERS_LAB_DIR, default .lab/): the lab's accounts and
their homes under /home. /run/sshd, cron's lock and spool, /etc/crontab and /etc/cron.d are
the lab's own copies inside its mount namespace (see namespace.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import processes

from . import users
from .config import REPO, Host, LabConfig
from .cron import CRON, Cron
from .inventory import known_hosts_line, render, ssh_options
from .namespace import Namespace
from .namespace import unavailable as namespace_unavailable
from .sshd import (
    RRSYNC,
    SSHD,
    ensure_key,
    lab_sshd,
    pinned_key_line,
    render_config,
    start_or_reload,
)
from .users import LabError, ensure_account, ensure_home, ensure_owned

__all__ = ["Host", "Lab", "LabConfig", "LabError", "cron_missing", "missing"]

_TOOLS = [(SSHD, "openssh-server"), ("/usr/bin/ssh", "openssh-client"),
          ("/usr/bin/ssh-keygen", "openssh-client"), ("/usr/sbin/useradd", "passwd")]


def missing() -> list[str]:
    """Why the lab cannot run here (empty when it can): the reasons tests skip with."""
    if os.geteuid() != 0:
        return ["the lab fleet needs root: it creates Unix users and runs sshd"]
    return [f"{path} is missing (apt-get install {pkg})"
            for path, pkg in _TOOLS if not os.path.exists(path)]


def cron_missing(lab: Lab | None = None) -> list[str]:
    """Why the lab's cron cannot run (empty when it can)."""
    reasons = [f"{p} is missing (apt-get install cron)"
               for p in (CRON, "/usr/bin/crontab") if not os.path.exists(p)]
    if lab is not None and not lab.ns.enabled:
        reasons.append(f"no mount namespace to isolate cron in ({lab.namespace_problem})")
    return reasons


class Lab:
    def __init__(self, config: LabConfig | None = None):
        self.config = config or LabConfig.from_env()
        d = self.config.dir
        self.dir = d
        # Namespaces are used wherever the machine allows them; METERS_LAB_NAMESPACE=0 turns
        # them off to try the fallback (no cron) on a machine that has them.
        self.namespace_problem = (
            "turned off by METERS_LAB_NAMESPACE=0"
            if os.environ.get("METERS_LAB_NAMESPACE") == "0" else namespace_unavailable())
        self.ns = Namespace(d, enabled=self.namespace_problem is None)
        self.sshd = lab_sshd(self.config, self.ns)
        self.cron = Cron(d, self.ns)
        self.key = d / "ssh" / "id_ed25519"
        self.host_key = d / "ssh" / "ssh_host_ed25519_key"
        self.known_hosts = d / "ssh" / "known_hosts"
        self.inventory = d / "inventory.yml"

    # -- the hosts -----------------------------------------------------------------------

    @property
    def hosts(self) -> list[Host]:
        """Ansible hosts: Tempest, then the meters."""
        return self.config.ansible_hosts

    @property
    def meters(self) -> list[Host]:
        return self.config.meter_hosts

    @property
    def tempest(self) -> Host:
        return self.config.tempest

    @property
    def drop(self) -> Host:
        return self.config.drop

    def host(self, name: str) -> Host:
        for host in self.config.accounts:
            if name in (host.name, host.user):
                return host
        raise KeyError(name)

    # -- lifecycle -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self):
        # Two pytest runs (or pytest and scripts/lab.sh) must not set up the lab at once.
        (self.dir / "state").mkdir(parents=True, exist_ok=True)
        with open(self.dir / "state" / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def up(self, wipe_homes: bool = False) -> bool:
        """Bring the lab up (idempotent). True if this call started sshd, so the caller
        knows whether the lab is its own to take down."""
        reasons = missing()
        if reasons:
            raise LabError("; ".join(reasons))
        cfg = self.config
        with self._locked():
            for sub in ("ssh", "log"):
                (self.dir / sub).mkdir(parents=True, exist_ok=True)
            (self.dir / "ssh").chmod(0o700)
            controller_key = ensure_key(self.key, "meters-lab-controller")
            host_key = ensure_key(self.host_key, "meters-lab-host")
            if wipe_homes:
                self._stop_user_processes()
            for host in cfg.accounts:  # Tempest comes first: the drop account joins its group
                is_drop = host == cfg.drop
                ensure_account(host, "/bin/sh" if is_drop else "/bin/bash",
                               (cfg.tempest.user,) if is_drop else ())
                if wipe_homes:
                    users.wipe_home(host)
                if is_drop:  # the controller's key too writes only a folder of its own
                    ensure_home(host, pinned_key_line(cfg, controller_key, cfg.drop_probe_dir),
                                key_blob=controller_key.split()[1])
                else:
                    ensure_home(host, controller_key)
            # As the tempest role leaves them: the top of the drop folder is Tempest's alone
            # (the drop account only passes through), each folder the drop account writes is
            # group-writable and setgid, so what it writes stays Tempest's to move or delete;
            # the Tempest account keeps the drop account's keys.
            ensure_owned(cfg.drop_dir, cfg.tempest.user, 0o2750, is_dir=True)
            ensure_owned(cfg.drop_probe_dir, cfg.tempest.user, 0o2770, is_dir=True)
            ensure_owned(cfg.drop_keys_file, cfg.tempest.user, 0o600, is_dir=False)
            self.known_hosts.write_text(known_hosts_line(cfg, host_key))
            self.write_inventory()
            (self.dir / "state" / "config.json").write_text(
                json.dumps({"meters": cfg.meters, "port": cfg.port, "prefix": cfg.prefix}))
            changed = self.sshd.write_config(render_config(cfg, self.host_key))
            if not self.ns.running:
                # A namespace that died took our view of sshd's and cron's world with it.
                self.cron.stop()
                self.sshd.stop()
                self.ns.stop()
            self.ns.start()
            if wipe_homes:
                self.cron.clear_spool()
                for mail in self.ns.mail.iterdir():
                    mail.unlink()
            return start_or_reload(self.sshd, cfg, reload=changed)

    def down(self) -> None:
        """Stop cron, sshd and every process of the lab, by PID. Accounts and homes stay."""
        with self._locked():
            self.cron.stop()
            self.sshd.stop()
            self.ns.stop()
            self._stop_user_processes()

    def _stop_user_processes(self) -> None:
        uids = {users.uid_of(user) for user in users.lab_users(self.config.prefix)} - {None}
        processes.stop_pids(processes.pids_of_uids(uids))

    def wipe_homes(self) -> None:
        """Every host back to a fresh image: processes, homes, crontabs and cron mail."""
        self.up(wipe_homes=True)

    def status(self) -> dict:
        return {
            "dir": str(self.dir),
            "port": self.config.port,
            "meters": self.config.meters,
            "sshd_pid": self.sshd.pid,
            "cron_pid": self.cron.pid,
            "namespace_pid": self.ns.pid,
            "namespace_problem": self.namespace_problem,
            "inventory": str(self.inventory) if self.inventory.exists() else None,
            "users": users.lab_users(self.config.prefix) if os.geteuid() == 0 else [],
        }

    # -- using it ------------------------------------------------------------------------

    def ssh_argv(self, host: Host, command: str = "", user: str | None = None,
                 address: str | None = None) -> list[str]:
        """ssh argv for `command` (a remote shell string) as `host`; `user`/`address`
        override the pair, e.g. to show that pinning refuses a user on the wrong address."""
        target = f"{user or host.user}@{address or host.address}"
        argv = ["ssh", "-F", "/dev/null", "-i", str(self.key), "-p", str(self.config.port),
                *ssh_options(self.known_hosts), "--", target]
        return argv + [command] if command else argv

    def ssh(self, host: Host, command: str = "true", timeout: float = 60,
            **kwargs) -> subprocess.CompletedProcess:
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        return subprocess.run(self.ssh_argv(host, command), timeout=timeout, **kwargs)

    def rsync_ssh(self) -> str:
        """The `rsync -e` value that reaches lab hosts with the controller's key."""
        return " ".join(self.ssh_argv(self.drop)[:-2])

    def run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Run a command as root inside the lab's namespace (sees the lab's cron spool)."""
        return self.ns.run(argv, **kwargs)

    def write_inventory(self, path: Path | None = None, hosts: list[Host] | None = None,
                        hostvars: dict[str, dict] | None = None,
                        groupvars: dict[str, dict] | None = None) -> Path:
        """Write an inventory for `hosts` (default: all Ansible hosts) and return its path.
        `hostvars` maps host name to extra variables; `groupvars` maps group name (or 'all')
        to group variables."""
        path = path or self.inventory
        text = render(self.config, self.key, self.known_hosts, hosts or self.hosts,
                      hostvars, groupvars)
        path.write_text(text)
        return path

    def ansible(self, *args: str, program: str = "ansible", inventory: Path | None = None,
                cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
        """Run an Ansible program from the venv against the lab inventory, e.g.
        lab.ansible("all", "-m", "ansible.builtin.ping") or
        lab.ansible("playbooks/site.yml", program="ansible-playbook").
        cwd defaults to the repository, so its ansible.cfg applies."""
        argv = [str(Path(sys.executable).parent / program),
                "-i", str(inventory or self.inventory), *args]
        return subprocess.run(argv, env=self.ansible_env(), cwd=cwd or REPO,
                              capture_output=True, text=True, timeout=timeout)

    def ansible_env(self) -> dict[str, str]:
        """Environment for ansible commands against the lab: the venv's tools first on PATH
        and a UTF-8 locale (ansible-core refuses to run without one)."""
        env = dict(os.environ)
        venv_bin = str(Path(sys.executable).parent)
        env["PATH"] = f"{venv_bin}:{env.get('PATH', '/usr/bin:/bin')}"
        if "UTF-8" not in env.get("LC_ALL", env.get("LANG", "")).upper():
            env["LC_ALL"] = "C.UTF-8"
        env["ANSIBLE_NOCOLOR"] = "1"
        return env


def rrsync_available() -> bool:
    return os.path.exists(RRSYNC) and shutil.which("rsync") is not None
