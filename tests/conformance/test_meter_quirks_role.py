"""The inventory's `meter_quirks` reaches the meter's config.json: the meter role's own
template and defaults, rendered by ansible-playbook on this host (no lab, nothing deployed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import yaml

from meter import config
from meter.conformance.meter_quirks import MeterQuirks
from tests.support import REPO, ci_guard

VENV_BIN = REPO / ".venv" / "bin"
PLAY = """
- name: The meter's config.json, as the meter role renders it
  hosts: meters
  gather_facts: false
  connection: local
  tasks:
    - name: Render it
      ansible.builtin.template:
        src: "{{ repo }}/roles/meter/templates/config.json.j2"
        dest: "{{ out }}/{{ inventory_hostname }}.json"
        mode: "0600"
"""
QUIRKS = {"clock": "utc_all_year", "multiplier": 2, "revised_days": 0.05}


def test_meter_quirks_flow_from_the_inventory_into_config_json(tmp_path):
    ci_guard.require_binary(str(VENV_BIN / "ansible-playbook"),
                            why="scripts/setup.sh installs Ansible into .venv")
    inv = tmp_path / "inv"
    (inv / "group_vars" / "meters").mkdir(parents=True)
    # The role's defaults as group_vars, so the host's own vars win as over role defaults.
    shutil.copy(REPO / "roles" / "meter" / "defaults" / "main.yml",
                inv / "group_vars" / "meters" / "role-defaults.yml")
    hosts = {"all": {"children": {"meters": {"hosts": {
        "quirky": {"meter_quirks": QUIRKS, "meter_timezone": "Europe/Berlin"},
        "plain": {}}}}}}
    (inv / "hosts.yml").write_text(yaml.safe_dump(hosts))
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "play.yml").write_text(PLAY)
    done = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inv / "hosts.yml"),
         str(tmp_path / "play.yml"), "-e", f"repo={REPO}", "-e", f"out={out}",
         "-e", f"ansible_python_interpreter={sys.executable}"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    quirky = json.loads((out / "quirky.json").read_text())
    assert quirky["quirks"] == QUIRKS
    mq = MeterQuirks.of(config.from_dict(quirky))  # what `meter check-config` checks
    assert (mq.clock, mq.multiplier, mq.revised_p) == ("utc_all_year", 2, 0.05)
    plain = json.loads((out / "plain.json").read_text())
    assert "quirks" not in plain  # the default {} leaves the config as it was
