"""Where the tempest role keeps the admin token: in one env file outside the data dir (mode
0600, read by Tempest at start), never in the data dir.

The role is run for real (`playbooks/tempest.yml`) against inventory/local, the local fleet's
inventory (no root, no SSH), with its folder moved into the test's own: the data dir is
`<root>/tempest/data`, the env file `<root>/tempest/secrets/tempest.env`. Tempest starts
under the role's supervisor script and takes the admin token from that file. The data dir
starts with a tempest.toml holding the token, as the role used to write it: after the deploy
no file in the data dir holds it.
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

from tests.procs import wait_for

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TOKEN = "role-admin-token-0123456789abcdef"


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


def test_the_data_dir_holds_no_admin_token_after_a_deploy(tmp_path):
    root = tmp_path / "local"
    data = root / "tempest" / "data"
    data.mkdir(parents=True)
    # What the role wrote before: the token in the data dir's settings file.
    (data / "tempest.toml").write_text(f'ADMIN_TOKEN = "{TOKEN}"\n')
    port = _free_port()
    ctl = root / "tempest" / "tempest-ctl"
    try:
        run = _deploy(root, port)
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
        holding = [str(p.relative_to(data)) for p in data.rglob("*")
                   if p.is_file() and TOKEN.encode() in p.read_bytes()]
        assert holding == [], f"the data dir still holds the admin token in {holding}"

        env_file = root / "tempest" / "secrets" / "tempest.env"
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(env_file.parent.stat().st_mode) == 0o700
        assert f"TEMPEST_ADMIN_TOKEN={TOKEN}\n" in env_file.read_text()

        # Tempest took the token from that file at start: the admin API opens with it only.
        url = f"http://127.0.0.1:{port}/api/v1/meters"
        wait_for(lambda: requests.get(url, timeout=5).ok, 30, 0.2, "Tempest answering")
        wrong = requests.post(url, json={"serial": "probe"}, timeout=10,
                              headers={"Authorization": "Bearer " + TOKEN[::-1]})
        assert wrong.status_code == 401
        right = requests.post(url, json={"serial": "probe"}, timeout=10,
                              headers={"Authorization": "Bearer " + TOKEN})
        assert right.status_code in (200, 201), right.text

        again = _deploy(root, port)  # the role's promise: a second run changes nothing
        assert again.returncode == 0, again.stdout[-4000:]
        assert re.findall(r"changed=(\d+)", again.stdout) == ["0"], again.stdout[-4000:]
    finally:
        if ctl.exists():  # stops Tempest by the PID in its pidfile
            subprocess.run([str(ctl), "stop"], capture_output=True, timeout=60)


@pytest.mark.parametrize("extra, named", [
    (("-e", "tempest_env_file={data}/tempest.env"), "tempest_env_file must be outside"),
    (("-e", '{{"tempest_settings": {{"ADMIN_TOKEN": "{token}"}}}}'), "go in tempest_secret_settings"),
])
def test_the_role_refuses_a_secret_in_the_data_dir(tmp_path, extra, named):
    """Before it writes anything: an env file inside the data dir, or a secret among the
    settings tempest.toml gets."""
    root = tmp_path / "local"
    root.mkdir()
    data = root / "tempest" / "data"
    run = _deploy(root, _free_port(), *(x.format(data=data, token=TOKEN) for x in extra))
    assert run.returncode != 0
    assert named in run.stdout, run.stdout[-4000:]
    assert not data.exists()
