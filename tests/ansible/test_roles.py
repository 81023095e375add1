"""Each role on its own, in the lab: its own tiny play (tests/ansible/plays/) converges fresh lab
hosts, the state on the hosts is checked, and a second run reports changed=0.

The pico role's test is tests/pico/test_playbook.py (the real picos.yml against a virtual
Pico W, twice); the whole fleet's, site.yml twice, is test_fleet.py.

Hosts are the last four lab meter accounts, which the fleet tests never use (they take the
first six): one becomes a Tempest (the tempest role's test; the registration test registers
meters with it), one a meter (the meter role's test), and two are meters that only Tempest's
side is done for (the registration and wheelhouse tests). Each test's hosts start fresh. The
wheels are built from a snapshot of the sources into a wheelhouse of these tests' own (seeded
with the dependency wheels the fleet tests' build already holds, so nothing is downloaded), so
they never touch the fleet's build.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from tests.lab.config import Host
from tests.lab.fleet import Lab
from tests.support import ci_guard

from .conftest import FIRST_METERS
from .fleet import AGENT_PORT, TEMPEST_PORT, VAULT_PASSWORD, Fleet, Run, get_json

pytestmark = pytest.mark.slow

PLAYS = Path(__file__).parent / "plays"
ADMIN_TOKEN = "roles-admin-token-0123456789abcdef"
RRSYNC = "/usr/bin/rrsync -wo -munge -no-del -no-lock"
# An operator's line in the drop account's keys: every role that writes the file keeps it.
OPERATORS_LINE = "# kept by hand: an operator's note"


def meter_key(serial: str) -> str:
    return f"roles-test-key-{serial}-0123456789"


@dataclass
class RoleLab:
    lab: Lab
    fleet: Fleet
    tempest: Host  # a lab meter account in the tempest group
    meter: Host
    registered: list[Host]  # meters only Tempest's side is done for: [HTTP, rsync]

    def run(self, play: str, inventory: Path, *args: str) -> Run:
        return self.fleet.playbook(PLAYS / play, *args, inventory=inventory).check()

    def inventory(self, name: str, hosts: list[Host], hostvars: dict | None = None) -> Path:
        """An inventory of `hosts` with the settings every role test shares."""
        t = self.tempest
        groupvars = {
            "all": {
                # The roles read Tempest's folders from group_vars/all, as in production.
                "tempest_base_dir": str(t.home / "tempest"),
                "tempest_port": TEMPEST_PORT,
                "meter_source_dir": str(self.fleet.src),
                "meter_wheelhouse_dir": str(self.fleet.wheelhouse),
                "tempest_source_dir": str(self.fleet.src),
                "tempest_wheelhouse_dir": str(self.fleet.wheelhouse),
                "wheelhouse_source_dir": str(self.fleet.src),
                "wheelhouse_dir": str(self.fleet.wheelhouse),
                "wheelhouse_report": str(self.fleet.root / "wheelhouse-report"),
                # No root in the lab (docs/lab.md): the machine has the packages already.
                "meter_system_packages": [],
                "tempest_system_packages": [],
            },
            "tempest": {
                "tempest_bind_address": "{{ ansible_host }}",
                "tempest_admin_token": ADMIN_TOKEN,
                # No drop account of its own: the keys go into a file the Tempest account owns.
                "tempest_drop_manage_account": False,
                "tempest_drop_keys_file": str(self.drop_keys_file),
            },
            "meters": {
                "meter_agent_host": "{{ ansible_host }}",
                "meter_agent_port": AGENT_PORT,
                "meter_agent_key": "roles-agent-key-{{ inventory_hostname }}-0123456789",
                "meter_tempest_api_key": "roles-test-key-{{ inventory_hostname }}-0123456789",
            },
        }
        path = self.fleet.root / f"{name}.yml"
        return self.lab.write_inventory(path, hosts=hosts, hostvars=hostvars, groupvars=groupvars)

    @property
    def drop_keys_file(self) -> Path:
        return self.tempest.home / ".ssh" / "drop_authorized_keys"

    @property
    def drop_dir(self) -> Path:
        return self.tempest.home / "tempest" / "data" / "drop"

    def tempest_cli(self, args: str) -> str:
        base = self.tempest.home / "tempest"
        done = self.lab.ssh(self.tempest, f"{base}/venv/bin/tempest {args} --data-dir {base}/data")
        assert done.returncode == 0, done.stderr
        return done.stdout

    def crontab(self, host: Host) -> str:
        return self.lab.run(["crontab", "-u", host.user, "-l"]).stdout

    def stop(self, host: Host) -> None:
        """What a role started on the host stops (by the PID in its pidfile, through the role's
        own supervisor scripts), and cron can no longer start it again."""
        self.lab.run(["crontab", "-u", host.user, "-r"])  # fails, harmlessly, when there is none
        done = self.lab.ssh(host, "for ctl in ~/meter/agent-ctl ~/meter/loop-ctl "
                                  "~/tempest/tempest-ctl; do [ ! -x $ctl ] || $ctl stop; done")
        assert done.returncode == 0, done.stderr

    def fresh(self, host: Host) -> None:
        """The host as a new Pi: nothing running, no crontab, no role's folders."""
        self.stop(host)
        done = self.lab.ssh(host, "rm -rf ~/meter ~/tempest ~/.ansible ~/.ssh/drop_authorized_keys")
        assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def roles(lab: Lab) -> RoleLab:
    if len(lab.meters) < FIRST_METERS + 1 + 4:
        pytest.skip(f"the role tests need {FIRST_METERS + 5} lab meters "
                    f"(METERS_LAB_METERS is {len(lab.meters)})")
    ci_guard.require_binary("ssh-keygen", why="apt-get install openssh-client")
    fleet = Fleet(lab, root=lab.dir / "ansible-roles")
    fleet.wheelhouse = fleet.root / "wheelhouse"
    fleet.root.mkdir(parents=True, exist_ok=True)
    fleet.vault_password_file.write_text(VAULT_PASSWORD + "\n")  # no vault here; the runner asks
    fleet.seed_wheelhouse()
    fleet.snapshot()
    tempest, meter, http_meter, rsync_meter = lab.meters[-4:]
    rl = RoleLab(lab, fleet, replace(tempest, group="tempest"), meter, [http_meter, rsync_meter])
    yield rl
    for host in (rl.meter, rl.tempest):
        rl.stop(host)


# -- wheelhouse --------------------------------------------------------------------------------

def test_the_wheelhouse_role_builds_once_then_changes_nothing(roles: RoleLab):
    hosts = roles.registered
    inventory = roles.inventory("wheelhouse", [roles.tempest, *hosts])
    report = roles.fleet.root / "wheelhouse-report"
    shutil.rmtree(report, ignore_errors=True)
    report.mkdir()
    # Its fingerprints forgotten: the first run builds, as after a change of the sources.
    shutil.rmtree(roles.fleet.wheelhouse / ".stamps", ignore_errors=True)

    first = roles.run("wheelhouse.yml", inventory)
    builds = {h.name: json.loads((report / f"{h.name}.json").read_text()) for h in hosts}
    build = builds[hosts[0].name]
    assert builds[hosts[1].name] == build  # one build, the same fact on every host of the play
    assert build["built"] is True
    assert sum(first.changed().values()) == 1, first.recap  # run_once: one build, not two
    for name, bundle in build["bundles"].items():
        tar = Path(bundle["path"])
        assert tar == roles.fleet.wheelhouse.resolve() / "bundles" / f"{name}-{build['version']}.tar"
        assert hashlib.sha256(tar.read_bytes()).hexdigest() == bundle["sha256"]
        # The same wheels installed once into a site-packages tree: what a host unpacks.
        tree = Path(bundle["tree"]["path"])
        assert tree.name == f"{name}-{build['version']}-site.tar.gz"
        assert hashlib.sha256(tree.read_bytes()).hexdigest() == bundle["tree"]["sha256"]
    assert {"numpy", "flask"} <= {w.split("-")[0] for w in build["bundles"]["meter"]["wheels"]}
    assert "gunicorn" in {w.split("-")[0] for w in build["bundles"]["tempest"]["wheels"]}

    second = roles.run("wheelhouse.yml", inventory)
    assert second.changed() == {h: 0 for h in second.recap}, second.explain()
    again = json.loads((report / f"{hosts[0].name}.json").read_text())
    assert again["built"] is False
    assert {k: v for k, v in again.items() if k != "built"} == \
        {k: v for k, v in build.items() if k != "built"}
    print(f"wheelhouse role: first run {first.seconds:.1f} s, second {second.seconds:.1f} s")


# -- tempest -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tempest_deployed(roles: RoleLab) -> Run:
    """The tempest role's first run on a fresh host: the Tempest the registration test uses."""
    roles.fresh(roles.tempest)
    inventory = roles.inventory("tempest", [roles.tempest])
    return roles.run("tempest.yml", inventory)


def test_the_tempest_role_converges_then_changes_nothing(roles: RoleLab, tempest_deployed: Run):
    t = roles.tempest
    assert tempest_deployed.recap[t.name]["changed"] > 0
    health = get_json(f"http://{t.address}:{TEMPEST_PORT}/api/v1/health")
    assert health["status"] == "ok"
    base = t.home / "tempest"
    assert (base / "venv" / "bin" / "tempest").is_file()
    assert (base / "data" / "tempest.sqlite3").is_file()
    assert "ADMIN_TOKEN" not in (base / "data" / "tempest.toml").read_text()
    secrets = base / "secrets"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    assert stat.S_IMODE((secrets / "tempest.env").stat().st_mode) == 0o600
    assert f"TEMPEST_ADMIN_TOKEN={ADMIN_TOKEN}\n" in (secrets / "tempest.env").read_text()
    assert stat.S_IMODE(roles.drop_dir.stat().st_mode) == 0o2750
    assert roles.drop_keys_file.exists()
    crontab = roles.crontab(t)
    assert "#Ansible: tempest at boot" in crontab and "#Ansible: tempest watchdog" in crontab

    second = roles.run("tempest.yml", roles.inventory("tempest", [t]))
    assert second.changed() == {t.name: 0}, second.explain()
    # The no-change check found Tempest as the first run left it: nothing else ran.
    assert SETTINGS_TASK not in second.stdout, second.explain()
    print(f"tempest role: first run {tempest_deployed.seconds:.1f} s, "
          f"second {second.seconds:.1f} s")


SETTINGS_TASK = "Write Tempest's settings file."


def test_the_tempest_role_puts_back_what_changed_behind_its_back(
        roles: RoleLab, tempest_deployed: Run):
    """The no-change check looks at the host too: a settings file edited there, or a stopped
    Tempest, makes a full run that puts it back; then the check passes again. With
    tempest_state_check=false every task runs, and changes nothing."""
    t = roles.tempest
    inventory = roles.inventory("tempest", [t])
    toml = t.home / "tempest" / "data" / "tempest.toml"
    before = toml.read_bytes()
    health = f"http://{t.address}:{TEMPEST_PORT}/api/v1/health"
    for spoil in ("edit", "stop"):
        if spoil == "edit":
            toml.write_bytes(before + b"# edited by hand\n")  # same owner and mode
        else:
            done = roles.lab.ssh(t, "tempest/tempest-ctl stop")
            assert done.returncode == 0 and "stopped" in done.stdout, done.stderr
        run = roles.run("tempest.yml", inventory)
        # A stopped Tempest may be started again by the role's cron watchdog before the run
        # looks (the lab's cron runs when an earlier test of the session started it): then the
        # check rightly finds it running. The edit has no such race.
        if spoil == "edit":
            assert run.recap[t.name]["changed"] > 0, run.explain()
            assert SETTINGS_TASK in run.stdout
        else:
            assert run.returncode == 0, run.explain()
        assert toml.read_bytes() == before
        assert get_json(health)["status"] == "ok"
        again = roles.run("tempest.yml", inventory)
        assert again.changed() == {t.name: 0} and SETTINGS_TASK not in again.stdout, \
            again.explain()
    full = roles.run("tempest.yml", inventory, "-e", "tempest_state_check=false")
    assert full.changed() == {t.name: 0} and SETTINGS_TASK in full.stdout, full.explain()


# -- meter -------------------------------------------------------------------------------------

def test_the_meter_role_converges_then_changes_nothing(roles: RoleLab):
    m = roles.meter
    roles.fresh(m)
    inventory = roles.inventory("meter", [roles.tempest, m])
    first = roles.run("meter.yml", inventory, "--limit", m.name)
    assert first.recap[m.name]["changed"] > 0
    base = m.home / "meter"
    assert (base / "venv" / "bin" / "meter").is_file()
    assert not list((base / "wheelhouse").glob("*.tar*"))  # the tree, unpacked, is not kept
    assert len(list((base / "venv").glob(".installed-*"))) == 1
    config = json.loads((base / "config.json").read_text())
    assert stat.S_IMODE((base / "config.json").stat().st_mode) == 0o600
    assert config["serial"] == m.name
    assert config["tempest_url"] == f"http://{roles.tempest.address}:{TEMPEST_PORT}/"
    assert config["tempest_api_key"] == meter_key(m.name)
    crontab = roles.crontab(m)
    for entry in ("meter tick", "meter delivery", "meter heartbeat", "meter agent at boot",
                  "meter agent watchdog"):
        assert f"#Ansible: {entry}\n" in crontab, crontab
    status = get_json(f"http://{m.address}:{AGENT_PORT}/")
    assert status["serial"] == m.name and status["ip"] == m.address
    # The meter role alone tells Tempest nothing and writes nothing on the Tempest host.
    assert "-> " + roles.tempest.name not in first.stdout
    assert "-> localhost" in first.stdout  # the wheelhouse build

    second = roles.run("meter.yml", inventory, "--limit", m.name)
    assert second.changed() == {m.name: 0}, second.explain()
    print(f"meter role: first run {first.seconds:.1f} s, second {second.seconds:.1f} s")


# -- tempest_registration ----------------------------------------------------------------------

def _registration_vars(roles: RoleLab, tmp: Path) -> dict[str, dict]:
    """What the meter role would hand over for each meter: here given by hand."""
    out = {}
    for host, mode in zip(roles.registered, ("http", "rsync"), strict=True):
        config = {
            "serial": host.name, "archetype": "couple", "interval_min": 5, "timezone": "UTC",
            "tempest_url": f"http://{roles.tempest.address}:{TEMPEST_PORT}/",
            "tempest_api_key": meter_key(host.name), "heartbeat": {"enabled": True},
            "agent": {"host": host.address, "port": AGENT_PORT,
                      "url": f"http://{host.address}:{AGENT_PORT}/",
                      "key": f"roles-agent-key-{host.name}-0123456789"},
            "delivery": {"mode": mode},
        }
        out[host.name] = {
            "tempest_registration_api_key": meter_key(host.name),
            "tempest_registration_config": config,
            "tempest_registration_agent_url": config["agent"]["url"],
            "tempest_registration_rsync": mode == "rsync",
            "tempest_registration_drop_keys_file": str(roles.drop_keys_file),
            "tempest_registration_drop_keys_become": False,
        }
        if mode == "http":  # also read over DLMS by Tempest (dlms.yml's one call)
            out[host.name].update({
                "tempest_registration_dlms": {"port": DLMS_PORT, "password": dlms_password(host.name)},
                "tempest_registration_dlms_host": host.address,
                "tempest_registration_timezone": "Europe/Berlin"})
        if mode == "rsync":
            key = tmp / f"id_{host.name}"
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "x", "-f",
                            str(key)], check=True)
            public = " ".join(Path(f"{key}.pub").read_text().split()[:2])
            out[host.name]["tempest_registration_ssh_public_key"] = public
    return out


DLMS_PORT = 4061  # never dialled here: the lab's Tempest collects nothing over DLMS


def dlms_password(serial: str) -> str:
    return f"lls-{serial}"[:32]


def _keys(roles: RoleLab) -> dict[str, str]:
    listed = json.loads(roles.tempest_cli("meters list --json"))
    return {m["serial"]: m["key"] for m in listed}


def test_the_tempest_registration_role_registers_then_changes_nothing(
        roles: RoleLab, tempest_deployed: Run, tmp_path: Path):
    http_meter, rsync_meter = roles.registered
    hostvars = _registration_vars(roles, tmp_path)
    inventory = roles.inventory("registration", [roles.tempest, *roles.registered], hostvars)
    keys_file = roles.drop_keys_file
    keys_file.write_text(keys_file.read_text() + OPERATORS_LINE + "\n")

    first = roles.run("tempest_registration.yml", inventory)
    assert all(first.recap[h.name]["changed"] > 0 for h in roles.registered), first.recap
    keys = _keys(roles)
    assert keys[http_meter.name] == keys[rsync_meter.name] == "active"
    # The rsync meter: its own folder, and its key pinned to rrsync into it; the HTTP one: none.
    folder = roles.drop_dir / rsync_meter.name
    assert stat.S_IMODE(folder.stat().st_mode) == 0o2770
    assert not (roles.drop_dir / http_meter.name).exists()
    public = hostvars[rsync_meter.name]["tempest_registration_ssh_public_key"]
    assert keys_file.read_text().splitlines() == [
        OPERATORS_LINE,
        f'restrict,command="{RRSYNC} {folder}" {public} meters-drop:{rsync_meter.name}']
    # What Tempest keeps for the meter: its config (secrets left out) and its agent's address.
    desired = get_json(f"http://{roles.tempest.address}:{TEMPEST_PORT}/api/v1/meters/"
                       f"{http_meter.name}/desired-config")
    assert desired["config"]["archetype"] == "couple" and desired["agent_key"] is True
    assert desired["agent_url"] == f"http://{http_meter.address}:{AGENT_PORT}/"
    assert desired["source"] == "ansible"
    # The DLMS meter: its endpoint, a password (never shown) and its zone, for the collector.
    record = get_json(f"http://{roles.tempest.address}:{TEMPEST_PORT}/api/v1/meters/"
                      f"{http_meter.name}")
    assert record["timezone"] == "Europe/Berlin"
    assert {k: record["dlms"][k] for k in ("host", "port", "password")} == \
        {"host": http_meter.address, "port": DLMS_PORT, "password": True}
    assert dlms_password(http_meter.name) not in first.stdout

    second = roles.run("tempest_registration.yml", inventory)
    assert second.changed() == {h.name: 0 for h in roles.registered}, second.explain()

    # Deregistering (playbooks/decommission.yml's first half): keys revoked, the line gone,
    # the operator's line kept; then nothing more to do.
    out = roles.run("tempest_deregistration.yml", inventory)
    assert all(out.recap[h.name]["changed"] > 0 for h in roles.registered), out.recap
    keys = _keys(roles)
    assert keys[http_meter.name] == keys[rsync_meter.name] == "revoked"
    assert keys_file.read_text().splitlines() == [OPERATORS_LINE]
    again = roles.run("tempest_deregistration.yml", inventory)
    assert again.changed() == {h.name: 0 for h in roles.registered}, again.explain()
    print(f"tempest_registration role: {first.seconds:.1f} s, again {second.seconds:.1f} s; "
          f"deregister {out.seconds:.1f} s, again {again.seconds:.1f} s")


def test_the_tempest_registration_role_stops_on_an_rsync_meter_without_a_key(
        roles: RoleLab, tempest_deployed: Run, tmp_path: Path):
    """Without the meter role's SSH key, the role stops before it writes anything on the
    Tempest host, naming what is missing."""
    rsync_meter = roles.registered[1]
    hostvars = _registration_vars(roles, tmp_path)
    hostvars[rsync_meter.name]["tempest_registration_ssh_public_key"] = ""
    inventory = roles.inventory("registration-nokey", [roles.tempest, rsync_meter], hostvars)
    before = roles.drop_keys_file.read_text()
    run = roles.fleet.playbook(PLAYS / "tempest_registration.yml", "--limit", rsync_meter.name,
                               inventory=inventory)
    assert run.returncode != 0
    assert "for an rsync meter, its public SSH key" in run.stdout, run.explain()
    assert roles.drop_keys_file.read_text() == before


def test_the_tempest_registration_role_stops_a_meter_whose_config_tempest_refuses(
        roles: RoleLab, tempest_deployed: Run, tmp_path: Path):
    """The batch's one call: Tempest refuses one meter's config (an interval that does not
    divide its zone's offsets); that meter fails, named with the field, and writes nothing;
    the other meter of the batch is registered."""
    http_meter, rsync_meter = roles.registered
    hostvars = _registration_vars(roles, tmp_path)
    hostvars[rsync_meter.name]["tempest_registration_config"]["interval_min"] = 7
    inventory = roles.inventory("registration-refused", [roles.tempest, *roles.registered],
                                hostvars)
    url = f"http://{roles.tempest.address}:{TEMPEST_PORT}/api/v1/meters/{{}}/desired-config"
    before = get_json(url.format(rsync_meter.name))
    run = roles.fleet.playbook(PLAYS / "tempest_registration.yml", inventory=inventory)
    assert run.returncode != 0, run.explain()
    assert run.recap[rsync_meter.name]["failed"] == 1, run.recap
    assert run.recap[http_meter.name]["failed"] == 0, run.explain()
    assert (f"Tempest did not take the config of meter {rsync_meter.name}: "
            "config.interval_min:") in run.stdout, run.explain()
    after = get_json(url.format(rsync_meter.name))
    assert after["config_hash"] == before["config_hash"]
    assert get_json(url.format(http_meter.name))["config"]["interval_min"] == 5
    assert meter_key(rsync_meter.name) not in run.stdout
