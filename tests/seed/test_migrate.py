"""`meter migrate-seed`, end to end: a seed fleet's config files (four devices, one shared key)
against a real `tempest serve`. Every meter gets a key of its own in Tempest and in a
vault-ready inventory; each key works for its own serial and for no other; a run again changes
nothing (an encrypted vault included) unless asked to rotate. The inventory is then rendered by
Ansible itself, with the roles' own defaults and config templates, and the result is checked
by the meter's validator: the key the meter and pico roles would install is the vault's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from meter import config
from meter.cli import main as meter_cli
from tests.seed.seedfleet import FLEET, SHARED_KEY, write_configs
from tests.support import REPO, ci_guard
from tests.support.tempest_client import ADMIN_TOKEN
from tests.tempest.tempest_testdata import make_day, seed_payload

VENV_BIN = Path(sys.executable).parent
PIS = sorted(c["serial"] for c in FLEET if c["model"] != "pico-w")
PICOS = sorted(c["serial"] for c in FLEET if c["model"] == "pico-w")


def migrate(tmp_path: Path, tempest, configs: Path, *extra: str):
    token = tmp_path / "admin-token"
    token.write_text(ADMIN_TOKEN + "\n")
    return CliRunner().invoke(meter_cli, [
        "migrate-seed", "--configs", str(configs), "--inventory", str(tmp_path / "inv"),
        "--tempest-url", tempest.url + "/", "--admin-token-file", str(token), *extra])


def vault_key(inv: Path, serial: str, name: str = "vault_meter_tempest_api_key") -> str:
    for line in (inv / "host_vars" / serial / "vault.yml").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return json.loads(line.split(":", 1)[1])
    raise AssertionError(f"no {name} for {serial}")


def snapshot(inv: Path) -> dict[str, bytes]:
    return {str(p.relative_to(inv)): p.read_bytes() for p in sorted(inv.rglob("*"))
            if p.is_file()}


def upload(tempest, key: str, serial: str, day: str = "2023-05-26"):
    return tempest.post("update", data=seed_payload(serial, day), headers={"x-api-key": key})


@pytest.fixture
def fleet(tmp_path, make_tempest):
    tempest = make_tempest().start()
    return tempest, write_configs(tmp_path / "seed-configs")


def test_migrate_gives_every_seed_meter_its_own_key(tmp_path, fleet):
    tempest, configs = fleet
    # Before: the fleet's shared key is refused, with the way out.
    r = upload(tempest, SHARED_KEY, "kili")
    assert r.status_code == 401 and "meter migrate-seed" in r.json()["reason"]

    res = migrate(tmp_path, tempest, configs)
    assert res.exit_code == 0, res.output
    inv = tmp_path / "inv"
    assert "ansible-vault encrypt host_vars/*/vault.yml" in res.output
    assert "playbooks/meters.yml" in res.output and "--limit kili-pico" in res.output
    serials = sorted(c["serial"] for c in FLEET)
    keys = {s: vault_key(inv, s) for s in serials}
    assert len(set(keys.values())) == 4 and SHARED_KEY not in keys.values()
    assert all(len(k) >= 16 for k in keys.values())
    agent_keys = {s: vault_key(inv, s, "vault_meter_agent_key") for s in PIS}
    assert len(set(agent_keys.values()) | set(keys.values())) == 6
    for s in serials:
        assert (inv / "host_vars" / s / "vault.yml").stat().st_mode & 0o777 == 0o600
        assert keys[s] not in (inv / "host_vars" / s / "seed.yml").read_text()
        assert keys[s] not in res.output  # keys only ever in vault.yml
    fleet_file = (inv / "seed-fleet.yml").read_text()
    meters_part, picos_part = fleet_file.split("    picos:")
    assert all(f'"{s}"' in meters_part for s in PIS)
    assert all(f'"{s}"' in picos_part and f'"{s}"' not in meters_part for s in PICOS)
    assert "ansible_host" in (inv / "hosts.yml").read_text()  # a fresh inventory: Tempest

    # Each key works for its own serial, and for no other.
    for i, s in enumerate(serials):
        assert upload(tempest, keys[s], s).status_code == 202, s
        other = serials[(i + 1) % 4]
        r = upload(tempest, keys[s], other)
        assert r.status_code == 403 and "docs/migrate-from-seed.md" in r.json()["reason"]
        assert tempest.post("heartbeats", json={"serial": s, "ip": "192.168.86.40"},
                            headers={"x-api-key": keys[s]}).status_code == 200
        meter = tempest.get(f"api/v1/meters/{s}").json()
        assert (meter["key"], meter["timezone"]) == ("active", "Pacific/Auckland")

    # A run again changes nothing: same files, same keys, Tempest told nothing new.
    before = snapshot(inv)
    res = migrate(tmp_path, tempest, configs)
    assert res.exit_code == 0, res.output
    assert res.output.count("key kept") == 4 and "issued" not in res.output
    assert snapshot(inv) == before
    assert all(upload(tempest, keys[s], s).status_code == 202 for s in serials)

    # Once encrypted, a vault is kept as it is (Tempest already holds its key).
    password = tmp_path / "vault-pass"
    password.write_text("a long passphrase\n")
    ci_guard.require_binary(str(VENV_BIN / "ansible-vault"), why="scripts/setup.sh")
    subprocess.run([str(VENV_BIN / "ansible-vault"), "encrypt", "--vault-password-file",
                    str(password), "host_vars/meru/vault.yml"], cwd=inv, check=True,
                   capture_output=True)
    encrypted = (inv / "host_vars" / "meru" / "vault.yml").read_bytes()
    res = migrate(tmp_path, tempest, configs)
    assert res.exit_code == 0 and "meru                     pi    key kept (encrypted" in \
        res.output, res.output
    assert (inv / "host_vars" / "meru" / "vault.yml").read_bytes() == encrypted

    # Rotating one meter (its config alone): a new key, the old one refused at once.
    one = tmp_path / "just-kili"
    one.mkdir()
    shutil.copy(configs / "kili.json", one / "kili.json")
    res = migrate(tmp_path, tempest, one, "--rotate")
    assert res.exit_code == 0 and "key rotated" in res.output, res.output
    new = vault_key(inv, "kili")
    assert new != keys["kili"]
    assert upload(tempest, keys["kili"], "kili").status_code == 401
    assert upload(tempest, new, "kili").status_code == 202
    assert upload(tempest, keys["meru"], "meru").status_code == 202  # the others keep theirs


def test_the_roles_render_each_meters_config_with_its_own_key(tmp_path, fleet):
    """Ansible renders the migrated inventory with the roles' own defaults (as group_vars, so
    the host_vars win as they do over role defaults) and config templates, the vaults
    encrypted: each Pi's config.json passes the meter's validator, keeps the seed's model and
    carries its own key; each Pico's config does too, and its key is its vault's."""
    ci_guard.require_binary(str(VENV_BIN / "ansible-playbook"), str(VENV_BIN / "ansible-vault"),
                            why="scripts/setup.sh installs Ansible into .venv")
    tempest, configs = fleet
    assert migrate(tmp_path, tempest, configs).exit_code == 0
    inv = tmp_path / "inv"
    keys = {c["serial"]: vault_key(inv, c["serial"]) for c in FLEET}
    password = tmp_path / "vault-pass"
    password.write_text("a long passphrase\n")
    vaults = [str(p.relative_to(inv)) for p in sorted(inv.glob("host_vars/*/vault.yml"))]
    subprocess.run([str(VENV_BIN / "ansible-vault"), "encrypt", "--vault-password-file",
                    str(password), *vaults], cwd=inv, check=True, capture_output=True)
    for role, group in (("meter", "meters"), ("pico", "picos")):
        folder = inv / "group_vars" / group
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "roles" / role / "defaults" / "main.yml", folder / "role-defaults.yml")
    out = tmp_path / "rendered"
    out.mkdir()
    play = tmp_path / "render.yml"
    play.write_text(RENDER_PLAY)
    done = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inv), "--vault-password-file",
         str(password), str(play), "-e", f"repo={REPO}", "-e", f"out={out}",
         "-e", f"ansible_python_interpreter={sys.executable}"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    seed = {c["serial"]: c for c in FLEET}
    for serial, raw in seed.items():
        rendered = json.loads((out / f"{serial}.json").read_text())
        cfg = config.from_dict(rendered)  # what `meter check-config` checks on the device
        assert cfg.model["load_model"] == "legacy-profile"  # the seed's profile still drives it
        assert rendered["channels"] == raw["channels"] and rendered["model"] == raw["model"]
        assert rendered["timezone"] == "Pacific/Auckland"
        assert rendered["tempest_url"] == tempest.url + "/"
        if serial in PIS:
            assert rendered["tempest_api_key"] == keys[serial]
            assert rendered["agent"]["key"] == vault_key_after(inv, password, serial)
        else:
            assert "tempest_api_key" not in rendered  # a Pico's key goes to secrets.py
            assert (out / f"{serial}.key").read_text() == keys[serial]
    # ... and the keys the roles install are the ones Tempest takes.
    for serial in seed:
        body = make_day(serial, "2023-05-27")
        assert tempest.post("api/v1/days", data=body,
                            headers={"x-api-key": keys[serial]}).status_code == 202


def vault_key_after(inv: Path, password: Path, serial: str) -> str:
    text = subprocess.run([str(VENV_BIN / "ansible-vault"), "view", "--vault-password-file",
                           str(password), f"host_vars/{serial}/vault.yml"], cwd=inv,
                          check=True, capture_output=True, text=True).stdout
    line = next(x for x in text.splitlines() if x.startswith("vault_meter_agent_key:"))
    return json.loads(line.split(":", 1)[1])


# The roles' own templates, with the variables the roles read: the meter role's config.json
# (meter_tempest_api_key, meter_agent_key), and the pico role's config and the key its
# pico_sync module copies into secrets.py (pico_api_key).
RENDER_PLAY = """
- name: The Pis' config.json, as the meter role renders it
  hosts: meters
  gather_facts: false
  connection: local
  tasks:
    - name: Render it
      ansible.builtin.template:
        src: "{{ repo }}/roles/meter/templates/config.json.j2"
        dest: "{{ out }}/{{ inventory_hostname }}.json"
        mode: "0600"
- name: The Picos' config and key, as the pico role renders them
  hosts: picos
  gather_facts: false
  connection: local
  tasks:
    - name: Render it
      ansible.builtin.template:
        src: "{{ repo }}/roles/pico/templates/meter-config.json.j2"
        dest: "{{ out }}/{{ inventory_hostname }}.json"
        mode: "0600"
    - name: The key for secrets.py
      ansible.builtin.copy:
        content: "{{ pico_api_key }}"
        dest: "{{ out }}/{{ inventory_hostname }}.key"
        mode: "0600"
"""
