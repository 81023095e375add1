"""A config that fails validation never has its secret values echoed (docs/security.md,
"Never shown"): not by the agent's answer or log, Tempest's answers, push log, UI or log,
`meter check-config`, nor Ansible's message when the meter role refuses a rendered config.

Real servers: a `tempest serve` and a real `meter agent` for kili; the real `meter` CLI; a real
`ansible-playbook` run of the meter role's config tasks on a local connection.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml
from click.testing import CliRunner

from tempest.cli import main as tempest_cli
from tests.hardening.agents import Agent, ansible_env
from tests.support import REPO
from tests.support.tempest import Tempest
from tests.support.tempest_client import ADMIN_TOKEN

AGENT_KEY = "kili-agent-key-0123456789abcdef"


def _secret(name: str, n: int = 64) -> str:
    """A distinctive value no other text of the run can hold by chance."""
    return f"{name}-" + hashlib.sha256(name.encode()).hexdigest() * (n // 64 + 1)


LONG_API_KEY = _secret("api-key", 300)[:300]  # too long: the schema says at most 256
NUMBER_KEY = 987654321987654321  # an agent key that is not a string
SSH_KEY = _secret("ssh-key")
WIFI_PASSWORD = _secret("wifi-password")
SECRETS = {"tempest_api_key": LONG_API_KEY, "agent.key": str(NUMBER_KEY),
           "delivery.ssh_key": SSH_KEY, "wifi_password": WIFI_PASSWORD}


def bad_configs(raw: dict) -> dict[str, dict]:
    """field the refusal names -> a config whose only fault is a secret field's value."""
    return {
        "tempest_api_key": {**raw, "tempest_api_key": LONG_API_KEY},
        "agent.key": {**raw, "agent": {**raw["agent"], "key": NUMBER_KEY}},
        "delivery.ssh_key": {**raw, "delivery": {**raw["delivery"], "ssh_key": [SSH_KEY]}},
        # A secret-named value inside a bigger value the schema refuses as a whole (channels
        # is "one of" two shapes, so the refusal is about all of channels).
        "channels": {**raw, "channels": {"Total": 1.0, "wifi_password": WIFI_PASSWORD}},
    }


def leaks(text: str) -> list[str]:
    """Which secrets appear in `text`, whole or as any 12-character piece."""
    found = []
    for name, secret in SECRETS.items():
        pieces = {secret[i:i + 12] for i in range(0, max(1, len(secret) - 11))}
        if any(p in text for p in pieces):
            found.append(name)
    return found


@pytest.fixture
def kili(tmp_path):
    data = tmp_path / "data"
    r = CliRunner().invoke(tempest_cli, ["meters", "add", "kili", "--json",
                                         "--data-dir", str(data)])
    keys = json.loads(r.stdout)
    tempest = Tempest(data, tmp_path / "tempest.log", access_log=True).start()
    agent = None
    try:
        agent = Agent(tmp_path / "kili", "kili", tempest.url, keys["kili"], AGENT_KEY).start()
        r = tempest.admin("PUT", "api/v1/meters/kili/desired-config",
                          json={"config": agent.raw, "source": "ansible",
                                "agent_url": agent.url})
        assert r.status_code == 200, r.text
        yield tempest, agent
    finally:
        if agent is not None:
            agent.stop()
        tempest.stop()


def test_refused_configs_do_not_echo_secrets(kili, tmp_path):
    tempest, agent = kili
    before = agent.config_bytes()
    s = requests.Session()
    assert s.post(tempest.url + "/ui/login", data={"token": ADMIN_TOKEN}, timeout=10).ok
    for field, raw in bad_configs(agent.raw).items():
        # Straight to the agent, with its key.
        r = agent.post_config(raw, key=AGENT_KEY)
        assert r.status_code == 400 and r.json()["field"] == field, r.text
        assert leaks(r.text) == [], f"{field}: the agent's answer: {r.text[:600]}"
        # Through Tempest's API: the push, and the inventory's call.
        r = tempest.admin("POST", "api/v1/meters/kili/config/push", json={"config": raw})
        assert leaks(r.text) == [], f"{field}: Tempest's push answer: {r.text[:600]}"
        assert r.status_code == 400 and r.json()["field"] == f"config.{field}", r.text
        r = tempest.admin("PUT", "api/v1/meters/kili/desired-config", json={"config": raw})
        assert leaks(r.text) == [], f"{field}: desired-config answer: {r.text[:600]}"
        assert r.status_code == 400, r.text
        # Through the UI's push form: the page it shows after (with its flash message).
        page = s.get(tempest.url + "/ui/config/kili", timeout=10).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)[1]
        r = s.post(tempest.url + "/ui/config/kili/push", timeout=30,
                   data={"csrf": csrf, "config": json.dumps(raw)})
        assert leaks(r.text) == [], f"{field}: the UI page after the push"
        assert r.status_code == 200 and "Not pushed" in r.text, r.text[-2000:]
        assert field in r.text
    assert agent.config_bytes() == before
    # The recent-pushes table, the store (the push log), every log of the run.
    seen = [("UI config page", s.get(tempest.url + "/ui/config/kili", timeout=10).text),
            ("agent log", agent.log()), ("tempest log", tempest.log_path.read_text())]
    for p in tempest.data_dir.rglob("*"):
        if p.is_file():
            seen.append((str(p.relative_to(tmp_path)), p.read_bytes().decode("latin-1")))
    for where, text in seen:
        assert leaks(text) == [], f"{where} holds {leaks(text)}"


def test_meter_check_config_does_not_echo_secrets(tmp_path):
    base = Agent(tmp_path / "m", "kili", "http://127.0.0.1:8002/", "k" * 32, AGENT_KEY).raw
    for field, raw in bad_configs(base).items():
        path = tmp_path / f"{field}.json"
        path.write_text(json.dumps(raw))
        done = subprocess.run([sys.executable, "-m", "meter", "check-config", "--config",
                               str(path)], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stdout + done.stderr
        assert field in done.stderr, done.stderr
        assert leaks(done.stdout + done.stderr) == [], done.stderr


def test_the_meter_roles_refusal_names_the_field_but_no_secret(tmp_path):
    """The meter role's config tasks (template + `meter check-config` + rescue) on a local
    connection, with a vault value that is too long for the meter: the run fails naming the
    field, and nothing it prints holds the secret."""
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{
        "name": "Install a meter's config as the meter role does.",
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "tasks": [{"name": "Render, check and install the meter's config.",
                   "ansible.builtin.include_role": {"name": "meter",
                                                    "tasks_from": "config.yml"}}]}]))
    extra = {"meter_serial": "kili", "meter_base_dir": str(tmp_path / "meter"),
             "meter_venv_dir": str(Path(sys.executable).parent.parent),
             "meter_tempest_url": "http://127.0.0.1:8002/", "meter_tempest_api_key": "k" * 32,
             "meter_agent_key": LONG_API_KEY, "meter_agent_supervisor": "pidfile",
             "ansible_python_interpreter": sys.executable}
    (tmp_path / "vars.json").write_text(json.dumps(extra))
    done = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i",
                           "localhost,", str(play), "-e", f"@{tmp_path / 'vars.json'}"],
                          cwd=REPO, env=ansible_env(tmp_path), capture_output=True, text=True,
                          timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "agent.key" in out and "is not valid, so it was not" in out, out
    assert leaks(out) == [], out
    assert not (tmp_path / "meter" / "config.json").exists()


# -- Ansible: every task that handles a secret hides its result ------------------------------

# Variables that hold secrets (the vault's and those the roles read them into).
SECRET_VAR = re.compile(r"\b(vault_\w+|\w*(api_key|agent_key|admin_token|password|meter_keys|"
                        r"api_keys)\w*)\b")
TEMPLATED = re.compile(r"{{(.*?)}}", re.S)
IN_TEMPLATE = re.compile(r"{[{%](.*?)[}%]}", re.S)  # expressions and statements


def _tasks(items: list) -> list[dict]:
    out = []
    for task in items or []:
        out.append(task)
        for part in ("block", "rescue", "always"):
            out += _tasks(task.get(part))
    return out


def _module_no_log_options(role: Path) -> dict[str, set[str]]:
    """A role's own modules' options declared `no_log` (Ansible masks those values itself)."""
    out = {}
    for lib in (role / "library").glob("*.py"):
        doc = re.search(r'DOCUMENTATION = r?"""(.*?)"""', lib.read_text(), re.S)
        options = yaml.safe_load(doc[1]).get("options", {}) if doc else {}
        out[lib.stem] = {k for k, v in options.items() if isinstance(v, dict) and v.get("no_log")}
    return out


def _handles_secrets(task: dict, role: Path) -> bool:
    own = {k: v for k, v in task.items() if k not in ("block", "rescue", "always")}
    text = yaml.safe_dump(own)
    if any(SECRET_VAR.search(t) for t in TEMPLATED.findall(text)):
        return True
    template = task.get("ansible.builtin.template") or {}
    src = role / "templates" / str(template.get("src", ""))
    return bool(template) and src.is_file() and any(
        SECRET_VAR.search(t) for t in IN_TEMPLATE.findall(src.read_text()))


def test_ansible_tasks_that_handle_secrets_have_no_log():
    checked, missing = 0, []
    for role in sorted((REPO / "roles").iterdir()):
        masked = _module_no_log_options(role)
        for path in sorted((role / "tasks").glob("*.yml")):
            for task in _tasks(yaml.safe_load(path.read_text())):
                if not _handles_secrets(task, role):
                    continue
                checked += 1
                module = next((k for k in task if k in masked), None)
                own_args = task.get(module, {}) if module else {}
                by_module = module and all(
                    not any(SECRET_VAR.search(t) for t in TEMPLATED.findall(yaml.safe_dump(v)))
                    or k in masked[module] for k, v in own_args.items())
                if task.get("no_log") is not True and not by_module:
                    missing.append(f"{path.relative_to(REPO)}: {task.get('name')}")
    assert checked >= 6  # the config template, key registration, the desired config, ...
    assert missing == []
