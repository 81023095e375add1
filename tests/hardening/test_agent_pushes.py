"""Config pushes go where the inventory says, with each meter's own agent key, and cannot move
where a meter delivers (docs/security.md, "Agent keys and addresses").

Real servers only: a `tempest serve`, real `meter agent`s for two meters (kili, meru), each with
its own agent key and registered by the deploy's call (`PUT .../desired-config` with the
config and `agent_url`), and an impostor: a third real agent at an address a heartbeat reports.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from tempest.cli import main as tempest_cli
from tests.hardening.agents import Agent, ansible_env
from tests.support import REPO
from tests.support.nginx import TlsProxy
from tests.support.tempest import Tempest
from tests.support.tempest_client import ADMIN_TOKEN

KILI_AGENT_KEY = "kili-agent-key-0123456789abcdef"
MERU_AGENT_KEY = "meru-agent-key-fedcba9876543210"
IMPOSTOR_AGENT_KEY = "impostor-agent-key-000000000000"
ELSEWHERE = "http://127.0.0.69:9/"  # a Tempest that is not ours (nothing listens there)


@dataclass
class Fleet:
    tempest: Tempest
    meter_keys: dict[str, str]
    kili: Agent
    meru: Agent
    impostor: Agent

    def push(self, serial: str, raw: dict) -> requests.Response:
        return self.tempest.admin("POST", f"api/v1/meters/{serial}/config/push",
                                  json={"config": raw})


@pytest.fixture
def fleet(tmp_path):
    data = tmp_path / "data"
    r = CliRunner().invoke(tempest_cli, ["meters", "add", "kili", "meru", "--json",
                                         "--data-dir", str(data)])
    assert r.exit_code == 0, r.output
    keys = json.loads(r.stdout)
    tempest = Tempest(data, tmp_path / "tempest.log").start()
    started: list[Agent] = []
    try:
        kili = Agent(tmp_path / "kili", "kili", tempest.url, keys["kili"], KILI_AGENT_KEY)
        meru = Agent(tmp_path / "meru", "meru", tempest.url, keys["meru"], MERU_AGENT_KEY)
        # Someone else's agent, claiming to be kili, with kili's old annual figure.
        impostor = Agent(tmp_path / "impostor", "kili", tempest.url, keys["kili"],
                         IMPOSTOR_AGENT_KEY, verbose=True, annual_kwh=1111)
        for agent in (kili, meru, impostor):
            started.append(agent.start())
        # What the meter role does on every deploy: the inventory's config (carrying the
        # meter's own agent key) and the agent's address, from the inventory.
        for serial, agent in (("kili", kili), ("meru", meru)):
            r = tempest.admin("PUT", f"api/v1/meters/{serial}/desired-config",
                              json={"config": agent.raw, "source": "ansible",
                                    "agent_url": agent.url})
            assert r.status_code == 200, r.text
        yield Fleet(tempest, keys, kili, meru, impostor)
    finally:
        for agent in started:
            agent.stop()
        tempest.stop()


def _heartbeat(fleet: Fleet, serial: str, **fields) -> None:
    r = requests.post(fleet.tempest.url + "/api/v1/heartbeats", timeout=10,
                      json={"serial": serial, **fields},
                      headers={"x-api-key": fleet.meter_keys[serial]})
    assert r.status_code == 200, r.text


def test_a_heartbeat_cannot_redirect_pushes_nor_the_agent_fetch(fleet):
    impostor_config = fleet.impostor.config_bytes()
    # kili's heartbeat (with kili's own meter key) reports the impostor's address.
    _heartbeat(fleet, "kili", agent_url=fleet.impostor.url)
    reported = requests.get(fleet.tempest.url + "/api/v1/meters/kili", timeout=10).json()
    assert reported["agent_url"] == fleet.impostor.url  # recorded as reported, never used

    r = fleet.push("kili", {**fleet.kili.raw, "annual_kwh": 6100})
    assert r.status_code == 200, r.text
    assert r.json()["agent_url"] == fleet.kili.url
    assert fleet.kili.config()["annual_kwh"] == 6100

    # The UI's "load the agent's config" fetch goes to the registered address too.
    s = requests.Session()
    assert s.post(fleet.tempest.url + "/ui/login", data={"token": ADMIN_TOKEN},
                  timeout=10).ok
    r = s.get(fleet.tempest.url + "/ui/config/kili/agent", timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["config"]["annual_kwh"] == 6100

    # The impostor received nothing: no request for /config at all (so no agent key either).
    assert fleet.impostor.config_bytes() == impostor_config
    log = fleet.impostor.log()
    assert '"GET / HTTP' in log  # it does log every request it serves (its readiness probe)
    assert "/config" not in log, log[-2000:]


def test_a_push_cannot_move_where_the_meter_delivers(fleet):
    kili = fleet.kili
    before = kili.config_bytes()
    moves = {
        "tempest_url": {**kili.raw, "tempest_url": ELSEWHERE},
        "delivery.rsync_target": {**kili.raw, "delivery": {
            "mode": "rsync", "rsync_target": "someone@127.0.0.69:", "ssh_key": "/tmp/k"}},
        # A push cannot grant itself the permission either.
        "agent.allow_redirect": {**kili.raw,
                                 "agent": {**kili.raw["agent"], "allow_redirect": True}},
    }
    for field, raw in moves.items():
        r = kili.post_config(raw, key=KILI_AGENT_KEY)  # straight to the agent, with its key
        assert r.status_code == 403, (field, r.text)
        body = r.json()
        assert body["error"] == "redirect_refused" and body["field"] == field, body
        assert "inventory" in body["reason"]
        assert kili.config_bytes() == before, field
    # Through Tempest: the agent's refusal comes back as the answer; nothing changed.
    r = fleet.push("kili", moves["tempest_url"])
    assert r.status_code == 502, r.text
    assert r.json()["agent_status"] == 403
    assert r.json()["answer"]["field"] == "tempest_url"
    assert kili.config_bytes() == before

    # The inventory's word: a config Ansible wrote with agent.allow_redirect lets a push move
    # the meter (e.g. to a new Tempest host during a migration).
    allowed = {**kili.raw, "agent": {**kili.raw["agent"], "allow_redirect": True}}
    kili.path.write_text(json.dumps(allowed, indent=2))
    r = kili.post_config({**allowed, "tempest_url": ELSEWHERE}, key=KILI_AGENT_KEY)
    assert r.status_code == 200, r.text
    assert kili.config()["tempest_url"] == ELSEWHERE


def test_one_meters_agent_key_does_not_open_another_meters_agent(fleet):
    meru = fleet.meru
    before = meru.config_bytes()
    for key in (KILI_AGENT_KEY, IMPOSTOR_AGENT_KEY):
        r = meru.post_config({**meru.raw, "annual_kwh": 4000}, key=key)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized", r.text
        r = requests.post(meru.url + "tick", headers={"x-api-key": key}, timeout=30)
        assert r.status_code == 401, r.text
    assert meru.config_bytes() == before
    # Tempest holds each meter's own key: a push to meru opens meru's agent only.
    r = fleet.push("meru", {**meru.raw, "annual_kwh": 4000})
    assert r.status_code == 200, r.text
    assert meru.config()["annual_kwh"] == 4000
    assert fleet.kili.config_bytes() != meru.config_bytes()


def test_the_production_inventory_gives_each_meter_its_own_agent_key(tmp_path):
    """inventory/production with its example vaults filled in (as an operator copies them):
    every meter's `meter_agent_key` is its own. A debug task on a local connection only."""
    prod = REPO / "inventory" / "production"
    vaults = sorted(prod.glob("group_vars/*/vault.yml.example"))
    env = ansible_env(tmp_path)
    argv = [str(Path(sys.executable).parent / "ansible"), "-i", str(prod / "hosts.yml"), "meters",
            "-o", "-m", "ansible.builtin.debug", "-a", "var=meter_agent_key",
            "-e", "ansible_connection=local",
            # The meter role's default (roles/meter/defaults), which an ad-hoc run does not load.
            "-e", "meter_serial={{ inventory_hostname }}"]
    for vault in vaults:
        argv += ["-e", f"@{vault}"]
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    keys = {m[1]: json.loads(m[2])["meter_agent_key"]
            for m in re.finditer(r"^(\S+) \| SUCCESS => ({.*})$", done.stdout, re.M)}
    assert set(keys) == {"kili", "meru", "elgon"}, done.stdout
    assert all(k and "VARIABLE IS NOT DEFINED" not in k for k in keys.values()), keys
    assert len(set(keys.values())) == len(keys), f"meters share an agent key: {keys}"


@pytest.mark.parametrize("shared", [False, True])
def test_the_meter_role_refuses_meters_sharing_an_agent_key(tmp_path, shared):
    """The meter role's preflight on a local connection, three meters: with a key each it
    passes; with two sharing one it stops every meter of the run, printing no key."""
    keys = {"a": KILI_AGENT_KEY, "b": KILI_AGENT_KEY if shared else MERU_AGENT_KEY,
            "c": IMPOSTOR_AGENT_KEY}
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"meters": {
        "hosts": {h: {"meter_agent_key": k} for h, k in keys.items()},
        "vars": {"meter_tempest_api_key": "k" * 32, "meter_tempest_register": False,
                 "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}))
    play = tmp_path / "play.yml"
    play.write_text(json.dumps([{
        "name": "The meter role's checks.", "hosts": "meters", "gather_facts": False,
        "tasks": [{"name": "Run the meter role's preflight.",
                   "ansible.builtin.include_role": {"name": "meter",
                                                    "tasks_from": "preflight.yml"}},
                  {"name": "Go on.", "ansible.builtin.debug": {"msg": "went on"}}]}]))
    done = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i",
                           str(inventory), str(play)], cwd=REPO, env=ansible_env(tmp_path),
                          capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    if not shared:
        assert done.returncode == 0 and out.count('"msg": "went on"') == 3, out
        return
    assert done.returncode != 0 and "went on" not in out, out
    assert "the same agent key" in out, out
    assert all(k not in out for k in keys.values()), out


def test_pushes_to_agents_behind_tls_are_verified_and_plain_http_refused(tmp_path):
    """docs/operations.md, "Meter agents over TLS": nginx terminates TLS in front of each
    agent; Tempest verifies it against TEMPEST_AGENT_CA_BUNDLE and, with
    TEMPEST_AGENT_HTTPS_ONLY, sends no agent key over plain http."""
    data = tmp_path / "data"
    keys = json.loads(CliRunner().invoke(tempest_cli, ["meters", "add", "kili", "meru", "--json",
                                                       "--data-dir", str(data)]).stdout)
    started: list = []
    try:
        kili = Agent(tmp_path / "kili", "kili", "http://127.0.0.1:8002/", keys["kili"],
                     KILI_AGENT_KEY)
        meru = Agent(tmp_path / "meru", "meru", "http://127.0.0.1:8002/", keys["meru"],
                     MERU_AGENT_KEY, verbose=True)
        started += [kili.start(), meru.start()]
        trusted = TlsProxy(tmp_path / "tls-kili", kili.url)  # its certificate is the bundle
        stranger = TlsProxy(tmp_path / "tls-meru", meru.url)  # a certificate nobody vouches for
        started += [trusted.start(), stranger.start()]
        tempest = Tempest(data, tmp_path / "tempest.log",
                          TEMPEST_AGENT_CA_BUNDLE=str(trusted.cert),
                          TEMPEST_AGENT_HTTPS_ONLY="true")
        started.append(tempest.start())
        for serial, agent, url in (("kili", kili, trusted.url), ("meru", meru, stranger.url)):
            r = tempest.admin("PUT", f"api/v1/meters/{serial}/desired-config",
                              json={"config": agent.raw, "agent_url": url})
            assert r.status_code == 200 and r.json()["agent_url"] == url, r.text

        def push(serial: str, raw: dict) -> requests.Response:
            return tempest.admin("POST", f"api/v1/meters/{serial}/config/push",
                                 json={"config": raw})

        r = push("kili", {**kili.raw, "annual_kwh": 6100})
        assert r.status_code == 200 and r.json()["agent_url"] == trusted.url, r.text
        assert kili.config()["annual_kwh"] == 6100
        assert "POST /config" in trusted.requests_seen()

        before = meru.config_bytes()
        r = push("meru", {**meru.raw, "annual_kwh": 4000})  # its certificate fails
        assert r.status_code == 502 and r.json()["answer"]["error"] == "unreachable", r.text
        assert "SSLError" in r.json()["answer"]["reason"]
        assert "/config" not in stranger.requests_seen()
        # Plain http, with TEMPEST_AGENT_HTTPS_ONLY: refused before anything is sent.
        r = tempest.admin("PUT", "api/v1/meters/meru/agent-key",
                          json={"key": MERU_AGENT_KEY, "url": meru.url})
        assert r.status_code == 200, r.text
        r = push("meru", {**meru.raw, "annual_kwh": 4000})
        assert r.status_code == 409 and "TEMPEST_AGENT_HTTPS_ONLY" in r.json()["reason"], r.text
        assert meru.config_bytes() == before
        assert "/config" not in meru.log()
    finally:
        for proc in reversed(started):
            proc.stop()
