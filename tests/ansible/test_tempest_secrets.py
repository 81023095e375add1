"""Where the tempest role keeps Tempest's secrets: in one folder outside the data dir (0700),
never in the data dir. The admin token is in the env file there (mode 0600, read by Tempest
at start); Tempest keeps its UI session key and the agent keys beside it.

The role is run for real (`playbooks/tempest.yml`) against inventory/local, the local fleet's
inventory (no root, no SSH), with its folder moved into the test's own: the data dir is
`<root>/tempest/data`, the secrets folder `<root>/tempest/secrets`. Tempest starts under the
role's supervisor script and takes the admin token from that file. The data dir starts as an
older release left it: a tempest.toml holding the token, as the role used to write it, and
Tempest's own secret_key and agent_keys.json. After the deploy the data dir holds no secret
file and no file in it holds any of those secrets; Tempest still has them.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TOKEN = "role-admin-token-0123456789abcdef"
OLD_SESSION_KEY = "session-key-an-older-tempest-made-0123456789abcdef"
OLD_AGENT_KEY = "agent-key-an-older-tempest-kept-0123456789"
SECRET_FILES = ("secret_key", "agent_keys.json", "tempest.env")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _deploy(root: Path, port: int, *extra: str) -> subprocess.CompletedProcess:
    secrets = root / "secrets.yml"
    secrets.write_text(json.dumps({"local_secrets": {"admin_token": TOKEN}}))
    ansible = root / "ansible"
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_HOME": str(ansible),
           "ANSIBLE_LOCAL_TEMP": str(ansible / "tmp"), "ANSIBLE_REMOTE_TEMP": str(ansible / "tmp"),
           "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(ansible / "facts"), "ANSIBLE_NOCOLOR": "1",
           "METERS_TEMPEST_PORT": str(port)}
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventory/local/hosts.yml",
         "playbooks/tempest.yml", "-e", f"@{secrets}", "-e", f"local_root={root}", *extra],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def _secrets_in(data: Path) -> list[str]:
    """Secret files in the data dir, and files in it holding any of the secrets."""
    found = [f"{p.relative_to(data)} is there" for p in data.rglob("*")
             if p.name in SECRET_FILES]
    for p in data.rglob("*"):
        if p.is_file():
            blob = p.read_bytes()
            found += [f"{p.relative_to(data)} holds {what}" for what, value in (
                ("the admin token", TOKEN), ("the session key", OLD_SESSION_KEY),
                ("the agent key", OLD_AGENT_KEY)) if value.encode() in blob]
    return found


def test_the_data_dir_holds_no_secret_after_a_deploy(tmp_path):
    root = tmp_path / "local"
    data = root / "tempest" / "data"
    secrets_dir = root / "tempest" / "secrets"
    data.mkdir(parents=True)
    # What an older release left: the token in the data dir's settings file (the role wrote
    # it there), and Tempest's own session key and agent keys.
    (data / "tempest.toml").write_text(f'ADMIN_TOKEN = "{TOKEN}"\n')
    (data / "secret_key").write_text(OLD_SESSION_KEY + "\n")
    (data / "agent_keys.json").write_text(json.dumps({"probe": OLD_AGENT_KEY}))
    for name in ("secret_key", "agent_keys.json"):
        os.chmod(data / name, 0o600)
    port = _free_port()
    ctl = root / "tempest" / "tempest-ctl"
    try:
        run = _deploy(root, port)
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
        assert _secrets_in(data) == []

        # Every secret is in the one secrets folder, private.
        assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
        for name in SECRET_FILES:
            assert stat.S_IMODE((secrets_dir / name).stat().st_mode) == 0o600, name
        assert f"TEMPEST_ADMIN_TOKEN={TOKEN}\n" in (secrets_dir / "tempest.env").read_text()
        assert (secrets_dir / "secret_key").read_text().strip() == OLD_SESSION_KEY
        assert json.loads((secrets_dir / "agent_keys.json").read_text()) == {
            "probe": OLD_AGENT_KEY}

        # Tempest took the token from that file at start: the admin API opens with it only.
        url = f"http://127.0.0.1:{port}/api/v1/meters"
        wait_for(lambda: requests.get(url, timeout=5).ok, 30, 0.2, "Tempest answering",
                 ignore=(requests.RequestException,))
        wrong = requests.post(url, json={"serial": "probe"}, timeout=10,
                              headers={"Authorization": "Bearer " + TOKEN[::-1]})
        assert wrong.status_code == 401
        right = requests.post(url, json={"serial": "probe"}, timeout=10,
                              headers={"Authorization": "Bearer " + TOKEN})
        assert right.status_code in (200, 201), right.text
        # ...and still holds the agent key it kept before the upgrade.
        got = requests.get(url + "/probe/desired-config", timeout=10)
        assert got.json()["agent_key"] is True, got.text

        again = _deploy(root, port)  # the role's promise: a second run changes nothing
        assert again.returncode == 0, again.stdout[-4000:]
        assert re.findall(r"changed=(\d+)", again.stdout) == ["0"], again.stdout[-4000:]
        assert _secrets_in(data) == []
    finally:
        _stop_everything(ctl.parent)



def _stop_everything(base) -> None:
    """Stop what the deploy started, each by the PID in its pidfile: Tempest (tempest-ctl) and
    every route's process beside it (dlms-collect-ctl, mqtt-subscribe-ctl...), which
    tempest-ctl does not stop."""
    for ctl in sorted(base.glob("*-ctl")):
        subprocess.run([str(ctl), "stop"], capture_output=True, timeout=60)

@pytest.mark.parametrize("extra, named", [
    (("-e", "tempest_env_file={data}/tempest.env"), "in one folder outside the data dir"),
    (("-e", '{{"tempest_settings": {{"ADMIN_TOKEN": "{token}"}}}}'), "go in tempest_secret_settings"),
    (("-e", "tempest_secrets_dir={data}/secrets"), "in one folder outside the data dir"),
    (("-e", "tempest_secrets_dir={root}/tempest"), "holding neither"),  # it would hold data/
    (("-e", "tempest_env_file={root}/elsewhere/tempest.env"), "must be in tempest_secrets_dir"),
])
def test_the_role_refuses_a_secret_in_the_data_dir(tmp_path, extra, named):
    """Before it writes anything: an env file or a secrets folder inside the data dir (or a
    secrets folder holding it), an env file outside the secrets folder, or a secret among the
    settings tempest.toml gets."""
    root = tmp_path / "local"
    root.mkdir()
    data = root / "tempest" / "data"
    try:
        run = _deploy(root, _free_port(),
                      *(x.format(data=data, root=root, token=TOKEN) for x in extra))
    finally:
        _stop_everything(root / "tempest")  # a deploy that went through left Tempest running
    assert run.returncode != 0
    assert named in run.stdout, run.stdout[-4000:]
    assert not data.exists()
