"""What the controller needs to reach the lab: known_hosts, ssh options and an inventory."""

from __future__ import annotations

from pathlib import Path

import yaml

from .config import Host, LabConfig


def known_hosts_line(cfg: LabConfig, host_public_key: str) -> str:
    """One line for every lab address; all of them share the lab's one host key."""
    addresses = sorted({h.address for h in cfg.accounts})
    if cfg.port == 22:
        patterns = addresses
    else:
        patterns = [f"[{a}]:{cfg.port}" for a in addresses]
    key_type, key = host_public_key.split()[:2]
    return f"{','.join(patterns)} {key_type} {key}\n"


def ssh_options(known_hosts: Path) -> list[str]:
    """Client options: trust exactly the lab's host key, offer exactly the lab's key."""
    return [
        "-o", f"UserKnownHostsFile={known_hosts}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=10",
    ]


def render(cfg: LabConfig, key: Path, known_hosts: Path, hosts: list[Host],
           hostvars: dict[str, dict] | None = None, groupvars: dict[str, dict] | None = None
           ) -> str:
    """The lab inventory as YAML: groups `tempest` and `meters`, one entry per host."""
    hostvars = hostvars or {}
    groupvars = groupvars or {}
    common = " ".join(ssh_options(known_hosts))
    groups: dict[str, dict] = {"tempest": {"hosts": {}}, "meters": {"hosts": {}}}
    for host in hosts:
        entry = {
            "ansible_host": host.address,
            "ansible_port": cfg.port,
            "ansible_user": host.user,
            "ansible_ssh_private_key_file": str(key),
            "ansible_ssh_common_args": common,
            "ansible_python_interpreter": cfg.python,
            **hostvars.get(host.name, {}),
        }
        groups.setdefault(host.group, {"hosts": {}})["hosts"][host.name] = entry
    for group, values in groupvars.items():
        if group != "all":
            groups.setdefault(group, {"hosts": {}})["vars"] = values
    lab_vars = {
        "lab_dir": str(cfg.dir),
        "lab_drop_user": cfg.drop.user,
        "lab_drop_address": cfg.drop.address,
        "lab_drop_dir": str(cfg.drop_dir),
        "lab_drop_keys_file": str(cfg.drop_keys_file),
    }
    document = {"all": {"vars": {**lab_vars, **groupvars.get("all", {})}, "children": groups}}
    header = f"# Lab inventory for {cfg.dir}, written by tests/lab (scripts/lab.sh up).\n"
    return header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=1000)
