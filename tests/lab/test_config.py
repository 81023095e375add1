"""The lab's pure parts (names, addresses, generated files); these run anywhere, no root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from . import fleet
from .config import LabConfig
from .inventory import known_hosts_line, render
from .sshd import pinned_key_line, render_config


def test_hosts_get_consecutive_loopback_addresses_after_tempest():
    cfg = LabConfig(meters=12)
    assert (cfg.tempest.name, cfg.tempest.user, cfg.tempest.address) == (
        "tempest01", "lab-tempest", "127.0.0.10")
    assert [(m.name, m.user, m.address) for m in cfg.meter_hosts[:2]] == [
        ("m01", "lab-m01", "127.0.0.11"), ("m02", "lab-m02", "127.0.0.12")]
    assert cfg.meter_hosts[-1].address == "127.0.0.22"
    assert cfg.drop.address == cfg.tempest.address
    assert cfg.meter_hosts[0].home == Path("/home/lab-m01")


def test_large_fleets_run_past_the_last_octet():
    hosts = LabConfig(meters=200).meter_hosts
    assert hosts[0].name == "m001"
    assert hosts[-1].address == "127.0.0.210"
    assert LabConfig(meters=200).checked()
    with pytest.raises(ValueError):
        LabConfig(meters=201).checked()


def test_from_env_reads_the_lab_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("METERS_LAB_DIR", str(tmp_path))
    monkeypatch.setenv("METERS_LAB_PORT", "2300")
    monkeypatch.setenv("METERS_LAB_PREFIX", "lab2-")
    monkeypatch.setenv("METERS_LAB_METERS", "3")
    cfg = LabConfig.from_env()
    assert (cfg.dir, cfg.port, cfg.prefix, cfg.meters) == (tmp_path, 2300, "lab2-", 3)
    assert LabConfig.from_env(meters=7).meters == 7
    with pytest.raises(ValueError):
        LabConfig.from_env(prefix="lab; rm")


def test_sshd_config_pins_every_account_and_restricts_the_drop():
    cfg = LabConfig(meters=20)
    text = render_config(cfg, Path("/lab/ssh/host_key"))
    assert [ln for ln in text.splitlines() if ln.startswith("ListenAddress")] == [
        "ListenAddress 0.0.0.0"]
    assert "UsePAM no" in text
    assert "Match User lab-m20 LocalAddress *,!127.0.0.30\n    DenyUsers *" in text
    assert "Match User lab-tempest LocalAddress *,!127.0.0.10" in text
    allow = next(line for line in text.splitlines() if line.startswith("AllowUsers"))
    assert allow.split()[1:] == [h.user for h in cfg.accounts]
    # No ForceCommand for the drop account: it would override each key's own forced command
    # (rrsync into that meter's folder) and put every key back at the top of the drop folder.
    drop = text[text.index("Match User lab-drop\n"):]
    assert "ForceCommand" not in drop and "PermitTTY no" in drop
    assert "AuthorizedKeysCommand /usr/bin/cat /home/lab-tempest/.ssh/drop_authorized_keys" in drop


def test_the_drop_accounts_keys_are_pinned_to_one_folder_each():
    cfg = LabConfig(meters=2)
    line = pinned_key_line(cfg, "ssh-ed25519 AAAAkey probe", cfg.drop_probe_dir)
    assert line == ('restrict,command="/usr/bin/rrsync -wo -munge -no-del -no-lock '
                    '/home/lab-tempest/drop/.labprobe" ssh-ed25519 AAAAkey probe')


def test_known_hosts_cover_every_address_with_the_port():
    cfg = LabConfig(meters=2, port=2222)
    line = known_hosts_line(cfg, "ssh-ed25519 AAAAkey meters-lab-host")
    assert line == ("[127.0.0.10]:2222,[127.0.0.11]:2222,[127.0.0.12]:2222 "
                    "ssh-ed25519 AAAAkey\n")
    assert known_hosts_line(LabConfig(meters=1, port=22), "ssh-ed25519 K").startswith(
        "127.0.0.10,127.0.0.11 ")


def test_inventory_is_yaml_ansible_understands():
    cfg = LabConfig(meters=2)
    doc = yaml.safe_load(render(cfg, Path("/k"), Path("/kh"), cfg.ansible_hosts))
    assert set(doc["all"]["children"]) == {"tempest", "meters"}
    assert doc["all"]["vars"]["lab_drop_dir"] == "/home/lab-tempest/drop"


def test_missing_says_why_when_not_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert fleet.missing() == ["the lab fleet needs root: it creates Unix users and runs sshd"]


def test_lab_users_are_matched_by_exact_names(monkeypatch):
    from . import users

    class Entry:
        def __init__(self, name, gecos="Meters lab host x"):
            self.pw_name, self.pw_gecos = name, gecos

    accounts = [Entry("lab-m01"), Entry("lab-tempest"), Entry("lab-2-m01"), Entry("lab-drop"),
                Entry("lab-m02", gecos="someone real"), Entry("lab-mx")]
    monkeypatch.setattr(users.pwd, "getpwall", lambda: accounts)
    assert users.lab_users("lab-") == ["lab-drop", "lab-m01", "lab-tempest"]
    assert users.lab_users("lab-2-") == ["lab-2-m01"]
