"""Real meter agents (`python -m meter agent`) for the config-push suites, each on its own
loopback address of the hardening range, stopped by its PID.

`verbose` runs the agent with `meter -v`, so werkzeug logs every request it serves: a test can
then prove an agent received nothing at all (not even a refused call carrying a key).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import requests

from tests.hardening import corpus
from tests.support import REPO
from tests.support.addresses import free_address
from tests.support.processes import stop_process
from tests.support.waiting import wait_for


def meter_config(serial: str, tempest_url: str, api_key: str, agent_key: str, host: str,
                 port: int, **extra) -> dict:
    """The hardening corpus's meter config for `serial`, delivering to `tempest_url`."""
    return {**corpus.meter_config(), "serial": serial, "tempest_url": tempest_url,
            "tempest_api_key": api_key, "commissioned": "2024-05-20",
            "agent": {"host": host, "port": port, "key": agent_key}, **extra}


class Agent:
    """One meter's folder (config.json) and its agent process."""

    def __init__(self, folder: Path, serial: str, tempest_url: str, api_key: str,
                 agent_key: str, verbose: bool = False, **extra):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.host, self.port = free_address()
        self.key = agent_key
        self.raw = meter_config(serial, tempest_url, api_key, agent_key, self.host, self.port,
                                **extra)
        self.path = self.folder / "config.json"
        self.path.write_text(json.dumps(self.raw, indent=2))
        self.log_path = self.folder / "agent.log"
        self.verbose = verbose
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> Agent:
        argv = [sys.executable, "-m", "meter", *(["-v"] if self.verbose else []), "agent",
                "--config", str(self.path)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=log)
        wait_for(self._answers, 30, what=f"the agent at {self.url}")
        return self

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"the agent exited: {self.log()[-1500:]}")
        with contextlib.suppress(requests.RequestException):
            return requests.get(self.url, timeout=2).ok
        return False

    def stop(self) -> None:
        stop_process(self.proc)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def config_bytes(self) -> bytes:
        return self.path.read_bytes()

    def config(self) -> dict:
        return json.loads(self.path.read_text())

    def post_config(self, raw: dict, key: str | None = None) -> requests.Response:
        headers = {"x-api-key": key} if key is not None else {}
        return requests.post(self.url + "config", json=raw, headers=headers, timeout=30)


def ansible_env(tmp_path: Path) -> dict:
    """Environment for a local ansible run of the repository's roles: Ansible's own files under
    `tmp_path`, the venv's tools first on PATH, a UTF-8 locale (ansible-core needs one)."""
    return {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_ROLES_PATH": str(REPO / "roles"), "ANSIBLE_HOME": str(tmp_path / "ah"),
            "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ah" / "tmp"), "ANSIBLE_NOCOLOR": "1",
            "LC_ALL": "C.UTF-8", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
