"""The example cluster inventory (inventory/cluster/, docs/deploy.md "A Tempest cluster") holds
together with playbooks/cluster.yml: the playbook parses against it, its groups are the ones the
roles read, and its meters deliver to the balancer, never to one node. No hosts are reached
(the lab deploy is test_cluster_deploy.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "inventory" / "cluster" / "hosts.yml"


def _ansible(program: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LC_ALL": "C.UTF-8", "ANSIBLE_NOCOLOR": "1"}
    return subprocess.run([str(Path(sys.executable).parent / program), "-i", str(INVENTORY),
                           *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_the_cluster_playbook_parses_against_the_example_inventory():
    done = _ansible("ansible-playbook", "--syntax-check", "playbooks/cluster.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_example_inventory_has_the_cluster_groups():
    done = _ansible("ansible-inventory", "--list")
    assert done.returncode == 0, done.stderr
    groups = json.loads(done.stdout)
    assert groups["postgres"]["hosts"] == ["db01"]
    assert groups["tempest"]["hosts"] == ["tempest01", "tempest02"]
    assert groups["balancer"]["hosts"] == ["lb01"]
    assert groups["meters"]["hosts"] == ["kili", "meru"]
    node = groups["_meta"]["hostvars"]["tempest02"]
    assert node["tempest_cluster_enabled"] is True
    assert "SECRET_KEY" in node["tempest_secret_settings"]


def test_the_example_meters_point_at_the_balancer():
    done = _ansible("ansible", "kili", "-m", "ansible.builtin.debug",
                    "-a", "var=meter_tempest_url")
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"meter_tempest_url": "http://192.168.1.4:8002/"' in done.stdout  # lb01
