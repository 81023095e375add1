"""The lab fleet as the Ansible tests (and bench/bench_ansible_deploy.py) deploy it.

A `Fleet` writes an inventory folder like inventory/production/ (hosts.yml from the lab, plus
group_vars with the lab's settings and an encrypted vault.yml holding the meters' keys), keeps
a snapshot of the repository's sources for the roles to build from (so edits made while a
test runs cannot change what is deployed), and runs playbooks, reading their PLAY RECAP.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.lab.config import REPO, Host
from tests.lab.fleet import Lab

SOURCE_PARTS = ("pyproject.toml", "README.md", "core", "loadmodel", "meter", "tempest")
TEMPEST_PORT = 8002
AGENT_PORT = 8001
VAULT_PASSWORD = "meters-lab-vault"  # guards nothing real: the lab's keys are made up
ADMIN_TOKEN = "lab-admin-token-0123456789abcdef"
# A fleet of varied meters; delivery alternates so both routes are always in the fleet.
ARCHETYPES = ("couple", "family", "retired", "single", "home_office")
ZONES = ("Europe/Berlin", "UTC", "Pacific/Auckland")
_RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$", re.M)


def api_key(serial: str) -> str:
    """A meter's API key: stable across test sessions, so a redeploy finds the same key in
    Tempest instead of a different one it must refuse."""
    return "lab-" + hashlib.sha256(f"meters-lab-key:{serial}".encode()).hexdigest()[:32]


def agent_key(serial: str) -> str:
    """A meter's own agent key (one meter's key opens no other's agent), stable like api_key."""
    return "lab-agent-" + hashlib.sha256(f"meters-lab-agent-key:{serial}".encode()).hexdigest()[:32]


def delivery_of(host: Host) -> str:
    """m01, m02, m03 deliver by HTTP; m04 and m05 by rsync; then alternating."""
    n = int(host.name[1:])
    return "rsync" if n in (4, 5) or (n > 5 and n % 2 == 0) else "http"


def meter_vars(host: Host) -> dict:
    n = int(host.name[1:])
    out = {
        "meter_archetype": ARCHETYPES[(n - 1) % len(ARCHETYPES)],
        "meter_timezone": ZONES[(n - 1) % len(ZONES)],
        "meter_delivery_mode": delivery_of(host),
    }
    if n % 3 == 2:
        out["meter_pv_kwp"] = 4.5
    if n == 2:
        out["meter_interval_min"] = 1  # cron ticks it every minute: the cron test watches it
    return out


@dataclass
class Run:
    """One ansible-playbook run: its output and its recap per host."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        tail = self.stdout[self.stdout.rfind("PLAY RECAP"):]
        return {m["host"]: {k: int(v) for k, v in (p.split("=") for p in m["counts"].split())}
                for m in _RECAP.finditer(tail)}

    def changed(self) -> dict[str, int]:
        return {host: c["changed"] for host, c in self.recap.items()}

    def check(self) -> Run:
        assert self.returncode == 0, self.explain()
        bad = {h: c for h, c in self.recap.items() if c["failed"] or c["unreachable"]}
        assert not bad, self.explain()
        return self

    def explain(self) -> str:
        return (f"{' '.join(self.argv)} exited {self.returncode}\n--- stdout (tail)\n"
                f"{self.stdout[-6000:]}\n--- stderr (tail)\n{self.stderr[-3000:]}")


class Fleet:
    def __init__(self, lab: Lab, root: Path | None = None):
        self.lab = lab
        self.root = root or lab.dir / "ansible"
        self.src = self.root / "src"
        self.wheelhouse = self.root / "wheelhouse"
        self.vault_password_file = self.root / "vault-pass"

    # -- the sources the roles build from ---------------------------------------------------

    def snapshot(self, target: Path | None = None, version: str | None = None) -> Path:
        """Copy the package sources; with `version`, bump it (pyproject and __version__)."""
        target = target or self.src
        target.mkdir(parents=True, exist_ok=True)
        for part in SOURCE_PARTS:
            src, dst = REPO / part, target / part
            if dst.is_dir():
                shutil.rmtree(dst)
            if src.is_dir():
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            elif src.exists():
                shutil.copy2(src, dst)
        if version:
            py = target / "pyproject.toml"
            py.write_text(re.sub(r'(?m)^version = ".*"$', f'version = "{version}"', py.read_text()))
            # The one __version__ every part reports (core/, since the shared core moved out).
            init = target / "core" / "__init__.py"
            bumped = re.sub(r'(?m)^__version__ = ".*"$', f'__version__ = "{version}"',
                            init.read_text())
            assert bumped != init.read_text(), f"no __version__ in {init}"
            init.write_text(bumped)
        return target

    def seed_wheelhouse(self) -> None:
        """The dependency wheels the fleet tests' build holds, linked in (no download); the
        meters wheel and the bundles are the caller's own to build."""
        self.wheelhouse.mkdir(parents=True, exist_ok=True)
        shared = self.lab.dir / "ansible" / "wheelhouse"
        for wheel in shared.glob("*.whl") if shared.is_dir() else []:
            target = self.wheelhouse / wheel.name
            if not wheel.name.startswith("meters-") and not target.exists():
                os.link(wheel, target)

    # -- the inventory --------------------------------------------------------------------------

    def group_vars(self, source: Path | None = None) -> dict[str, dict]:
        cfg = self.lab.config
        tempest = self.lab.tempest
        source = source or self.src
        return {
            "all": {
                "meter_source_dir": str(source),
                "meter_wheelhouse_dir": str(self.wheelhouse),
                "tempest_source_dir": str(source),
                "tempest_wheelhouse_dir": str(self.wheelhouse),
                "tempest_base_dir": str(tempest.home / "tempest"),
                "tempest_drop_dir": str(cfg.drop_dir),
                "tempest_port": TEMPEST_PORT,
                "meters_api_keys": "{{ vault_meter_tempest_api_keys }}",
                # No root in the lab (docs/lab.md): the machine has the packages already.
                "meter_system_packages": [],
                "tempest_system_packages": [],
            },
            "tempest": {
                "tempest_bind_address": tempest.address,
                "tempest_admin_token": "{{ vault_tempest_admin_token }}",
                # The lab made lab-drop and pins it to rrsync in its own sshd config.
                "tempest_drop_manage_account": False,
                "tempest_drop_user": cfg.drop.user,
                "tempest_drop_keys_file": str(cfg.drop_keys_file),
                "tempest_settings": {"ONLINE_SECONDS": 180},
            },
            "meters": {
                "meter_agent_host": "{{ ansible_host }}",
                "meter_agent_port": AGENT_PORT,
                "meter_agent_key": "{{ vault_meter_agent_keys[meter_serial] }}",
                "meter_tempest_api_key": "{{ meters_api_keys[meter_serial] }}",
                "meter_drop_user": cfg.drop.user,
                "meter_drop_port": cfg.port,
                "meter_drop_keys_file": str(cfg.drop_keys_file),
                "meter_drop_keys_become": False,
                # The lab's known_hosts lists its one host key for every lab address.
                "meter_drop_known_hosts": self.lab.known_hosts.read_text().strip(),
            },
        }

    def write_inventory(self, meters: list[Host], name: str = "inventory",
                        source: Path | None = None) -> Path:
        """An inventory folder: hosts.yml (Tempest and `meters`), group_vars/<group>/vars.yml
        and an encrypted group_vars/all/vault.yml, host_vars per meter. Returns hosts.yml."""
        inv = self.root / name
        for sub in ("group_vars", "host_vars"):
            if (inv / sub).exists():
                shutil.rmtree(inv / sub)
        inv.mkdir(parents=True, exist_ok=True)
        for group, values in self.group_vars(source).items():
            folder = inv / "group_vars" / group
            folder.mkdir(parents=True)
            (folder / "vars.yml").write_text("---\n" + yaml.safe_dump(values, sort_keys=False))
        (inv / "host_vars").mkdir()
        for host in meters:
            (inv / "host_vars" / f"{host.name}.yml").write_text(
                "---\n" + yaml.safe_dump(meter_vars(host), sort_keys=False))
        self._write_vault(inv / "group_vars" / "all" / "vault.yml", meters)
        hosts = inv / "hosts.yml"
        self.lab.write_inventory(hosts, hosts=[self.lab.tempest, *meters])
        return hosts

    def _write_vault(self, path: Path, meters: list[Host]) -> None:
        self.vault_password_file.write_text(VAULT_PASSWORD + "\n")
        self.vault_password_file.chmod(0o600)
        secrets = {
            "vault_meter_tempest_api_keys": {h.name: api_key(h.name) for h in self.lab.meters},
            "vault_meter_agent_keys": {h.name: agent_key(h.name) for h in self.lab.meters},
            "vault_tempest_admin_token": ADMIN_TOKEN,
        }
        path.write_text("---\n" + yaml.safe_dump(secrets, sort_keys=False))
        done = subprocess.run(
            [str(self._venv_bin("ansible-vault")), "encrypt", "--vault-password-file",
             str(self.vault_password_file), str(path)],
            env=self.lab.ansible_env(), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    @staticmethod
    def _venv_bin(program: str) -> Path:
        import sys

        return Path(sys.executable).parent / program

    # -- running playbooks -------------------------------------------------------------------

    def playbook(self, name: str | Path, *args: str, inventory: Path, env: dict | None = None,
                 timeout: float = 900) -> Run:
        """Run playbooks/<name>, or the playbook at `name` when it is a Path (a role's own
        play under tests/ansible/plays/)."""
        import time

        path = name if isinstance(name, Path) else REPO / "playbooks" / name
        argv = [str(self._venv_bin("ansible-playbook")), "-i", str(inventory),
                "--vault-password-file", str(self.vault_password_file), str(path), *args]
        started = time.monotonic()
        done = subprocess.run(argv, cwd=REPO, env={**self.lab.ansible_env(), **(env or {})},
                              capture_output=True, text=True, timeout=timeout)
        return Run(argv, done.returncode, done.stdout, done.stderr, time.monotonic() - started)


# -- talking to what was deployed ------------------------------------------------------------

def get_json(url: str, headers: dict | None = None, timeout: float = 10) -> dict:
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def post_json(url: str, headers: dict | None = None, timeout: float = 60) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=b"", method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")
