"""Keys are stored hashed, compared in constant time, never logged, never shown, and kept in
Ansible Vault (docs/security.md#keys).

The log test is a real run: `tempest serve` with its access log on, a real `meter agent`, a
meter that ticks, uploads and heartbeats, and every kind of call with right and wrong keys;
then every log and every file the run wrote is searched for each secret."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import requests
from click.testing import CliRunner

from tempest.cli import main as tempest_cli
from tests.hardening import corpus
from tests.support import REPO
from tests.support.addresses import free_address
from tests.support.processes import stop_process
from tests.support.tempest import Tempest
from tests.support.tempest_client import ADMIN_TOKEN
from tests.support.waiting import wait_for

AGENT_KEY = "agent-secret-key-for-the-log-test-0123"
# Files whose job is to hold a secret (the meter's config, its last good copy) or that the test
# wrote itself; Tempest's agent_keys.json only in its secrets folder, outside the data dir.
KEEPERS = {"config.json", "config.json.last-good", "keys.json"}


def _meter_config(tmp_path, url: str, key: str, host: str, port: int) -> Path:
    raw = {**corpus.meter_config(), "tempest_url": url, "tempest_api_key": key,
           "commissioned": "2024-05-20", "agent": {"host": host, "port": port, "key": AGENT_KEY}}
    folder = tmp_path / "meter"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(raw))
    return folder / "config.json"


def _meter(path: Path, *args: str, at: str = "2024-05-23T10:00:00+12:00") -> None:
    subprocess.run([sys.executable, "-m", "meter", *args, "--config", str(path), "--at", at],
                   cwd=REPO, capture_output=True, timeout=120, check=False)


def test_keys_are_never_logged_nor_written_anywhere_but_their_keepers(tmp_path):
    data = tmp_path / "data"
    r = CliRunner().invoke(tempest_cli, ["meters", "add", "kili", "mac", "--json",
                                         "--data-dir", str(data)])
    keys = json.loads(r.stdout)
    secrets = {"kili key": keys["kili"], "mac key": keys["mac"], "admin token": ADMIN_TOKEN,
               "agent key": AGENT_KEY}
    tempest = Tempest(data, tmp_path / "tempest.log", access_log=True).start()
    host, port = free_address()
    path = _meter_config(tmp_path, tempest.url, keys["kili"], host, port)
    with open(tmp_path / "agent.log", "ab") as log:
        agent = subprocess.Popen([sys.executable, "-m", "meter", "agent", "--config", str(path)],
                                 cwd=REPO, stdout=log, stderr=log)
    try:
        agent_url = f"http://{host}:{port}/"
        wait_for(lambda: _answers(agent_url), 20, what="the agent up")
        _meter(path, "tick")
        _meter(path, "upload")
        _meter(path, "heartbeat")
        _every_kind_of_call(tempest, agent_url, keys)
    finally:
        stop_process(agent)
        tempest.stop()
    found = []
    agent_keys = data.with_name("data.secrets") / "agent_keys.json"
    assert agent_keys.is_file()
    for p in tmp_path.rglob("*"):
        if not p.is_file() or p.name in KEEPERS or p == agent_keys:
            continue
        data_bytes = p.read_bytes()
        for what, secret in secrets.items():
            if secret.encode() in data_bytes:
                found.append(f"{what} in {p.relative_to(tmp_path)}")
    assert found == []
    assert "POST /api/v1/days" in (tmp_path / "tempest.log").read_text()  # it did log requests
    assert "refused POST /config" in (tmp_path / "agent.log").read_text()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


def _every_kind_of_call(tempest: Tempest, agent_url: str, keys: dict) -> None:
    url = tempest.url + "/"
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    wrong = {"x-api-key": keys["kili"][::-1]}
    requests.post(url + "api/v1/heartbeats", json=corpus.heartbeat(), headers=wrong, timeout=10)
    requests.post(url + "update", data=b"{}", headers={"x-api-key": keys["mac"]}, timeout=10)
    requests.get(url + "api/v1/meters", headers={"Authorization": "Bearer " + ADMIN_TOKEN[:-1]},
                 timeout=10)
    requests.post(url + "api/v1/meters", json={"serial": "elgon", "key": keys["mac"] + "x"},
                  headers=admin, timeout=10)
    assert requests.put(url + "api/v1/meters/kili/agent-key",
                        json={"key": AGENT_KEY, "url": agent_url}, headers=admin, timeout=10).ok
    cfg = requests.get(agent_url + "config", timeout=10).json()
    r = requests.post(url + "api/v1/meters/kili/config/push", json={"config": cfg},
                      headers=admin, timeout=30)
    assert r.status_code == 200, r.text
    requests.post(agent_url + "config", json=cfg, headers={"x-api-key": AGENT_KEY[:-1]},
                  timeout=10)
    requests.post(agent_url + "tick?at=2024-05-24T10:00:00%2B12:00", timeout=60,
                  headers={"x-api-key": AGENT_KEY})
    s = requests.Session()
    s.post(url + "ui/login", data={"token": ADMIN_TOKEN + "x"}, timeout=10)
    s.post(url + "ui/login", data={"token": ADMIN_TOKEN}, timeout=10)
    s.get(url + "ui/config/kili", timeout=10)


def test_keys_are_hashed_and_never_shown(tmp_path):
    from tests.hardening.state import Stored

    s = Stored(tmp_path)
    row = s.conn.execute("SELECT key_hash FROM meters WHERE serial = 'kili'").fetchone()
    assert row[0] == hashlib.sha256(s.key.encode()).hexdigest()
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    cfg = corpus.meter_config()
    assert s.client.put("/api/v1/meters/kili/desired-config", json={"config": cfg},
                        headers=admin).status_code == 200
    secrets = [s.key, s.other_key, ADMIN_TOKEN, cfg["agent"]["key"], cfg["tempest_api_key"]]
    c = s.app.test_client()
    c.post("/ui/login", data={"token": ADMIN_TOKEN})
    for url in ("/api/v1/meters", "/api/v1/meters/kili", "/api/v1/meters/kili/desired-config",
                "/api/v1/heartbeats", "/ui/meters", "/ui/meters/kili", "/ui/config/kili",
                "/ui/config", "/meters", "/api/v1/summary"):
        body = c.get(url, headers=admin).get_data()
        assert body and not any(k.encode() in body for k in secrets), url
    s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store = s.layout.database.read_bytes()
    assert not any(k.encode() in store for k in secrets)
    s.close()


def test_keys_are_compared_in_constant_time():
    """Every place a key or token is checked uses hmac.compare_digest (never ==)."""
    for rel in ("tempest/keys.py", "tempest/web/auth.py", "tempest/ui/session.py",
                "meter/agent/auth.py"):
        text = (REPO / rel).read_text()
        assert "hmac.compare_digest" in text, rel
        for line in text.splitlines():
            code = line.split("#")[0]
            if any(w in code for w in ("key_hash ==", "token ==", "== token", "sent ==",
                                       "== sent", "expected ==", "== expected")):
                raise AssertionError(f"{rel}: {line.strip()}")


def test_ansible_keeps_the_keys_in_the_vault():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True,
                             text=True).stdout.split()
    for name in tracked:
        if os.path.basename(name) == "vault.yml":
            assert (REPO / name).read_text().startswith("$ANSIBLE_VAULT"), f"{name} in clear"
    group_vars = REPO / "inventory" / "production" / "group_vars"
    examples = {p.parent.name: p.read_text() for p in group_vars.glob("*/vault.yml.example")}
    assert "vault_meter_tempest_api_keys" in examples["all"]
    assert "vault_meter_agent_key" in examples["meters"]
    assert "vault_tempest_admin_token" in examples["tempest"]
    for group, text in examples.items():
        vars_yml = (group_vars / group / "vars.yml").read_text()
        for var in [w.rstrip(":") for w in text.split() if w.startswith("vault_")]:
            assert var in vars_yml, f"{group}: {var} is never used from vars.yml"
