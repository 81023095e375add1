"""A concentrator as an inventory host (a count, a mix, a serial range): the meter role renders
its config and the tempest_registration role registers it with a real Tempest, all on this
machine with a local connection (no lab, nothing shared): tests/concentrator/plays/."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support import REPO

PLAY = Path(__file__).parent / "plays" / "concentrator_host.yml"
KEY = "concentrator-key-for-town-0123456789"


def inventory(tmp: Path, tempest, **host) -> Path:
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    town = {**local, "meter_count": 50, "meter_mix": True, "meter_concentrator_id": "dcu-town",
            "meter_concentrator_key": KEY, "meter_base_dir": str(tmp / "town"),
            "meter_venv_dir": str(REPO / ".venv"), "meter_tempest_url": tempest.url + "/",
            "meter_timezone": "Pacific/Auckland", "meter_install_enabled": False,
            "tempest_venv_dir": str(REPO / ".venv"), "tempest_data_dir": str(tempest.data_dir),
            **host}
    doc = {"all": {"children": {"tempest": {"hosts": {"tempest-here": local}},
                                "concentrators": {"hosts": {"town": town}}}}}
    path = tmp / "hosts.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


def playbook(tmp: Path, hosts: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
           "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(tmp / "facts"),
           "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"), "ANSIBLE_FORCE_COLOR": "0",
           "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}"}
    return subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(hosts),
                           str(PLAY)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)


def recap(out: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", out, re.M)}


def test_a_concentrator_host_is_rendered_and_registered_then_nothing_changes(tmp_path,
                                                                             make_tempest):
    tempest = make_tempest().start()
    hosts = inventory(tmp_path, tempest)
    first = playbook(tmp_path, hosts)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    assert recap(first.stdout)["town"] > 0
    config_path = tmp_path / "town" / "config.json"
    config = json.loads(config_path.read_text())
    assert config["serial"] == "town" and "tempest_api_key" not in config
    assert config["concentrator"] == {"id": "dcu-town", "key": KEY, "batch_files": 200}
    assert config_path.stat().st_mode & 0o077 == 0
    shown = tempest.get("api/v1/concentrators/dcu-town").json()
    assert shown["key"] == "active" and shown["meters"] == 50
    assert shown["serials"][0] == "town-0001" and shown["serials"][-1] == "town-0050"
    # the vault's key is the one Tempest holds: a batch with it is taken
    r = tempest.post("api/v1/concentrator/heartbeats", headers={"x-api-key": KEY},
                     json={"heartbeats": [{"serial": "town-0050"}]})
    assert r.json()["accepted"] == 1
    assert KEY not in first.stdout + first.stderr
    second = playbook(tmp_path, hosts)
    assert second.returncode == 0, second.stdout[-3000:]
    assert recap(second.stdout)["town"] == 0, second.stdout[-3000:]


def test_a_concentrator_without_a_count_stops_naming_the_settings(tmp_path, make_tempest):
    tempest = make_tempest()  # never started: the play stops before it needs Tempest
    out = playbook(tmp_path, inventory(tmp_path, tempest, meter_count=0))
    assert out.returncode != 0
    assert "meter_count" in out.stdout and "meter_concentrator_id" in out.stdout
    assert KEY not in out.stdout
