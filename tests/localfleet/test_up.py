"""The README's first command, exactly, in a fresh clone: a whole fleet comes up.

It clones the repository, runs `scripts/up.sh` there with an empty HOME (to prove it writes
nothing outside the clone), checks that Tempest's API and UI show 12 meters with 14 days of
data each and fresh heartbeats, runs it again (one fleet, nothing changed), then
`scripts/down.sh`, and checks every process it started has stopped.
"""

import json
import os
import re
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PORT = 18002
AGENT_BASE = 18200


def readme_first_command() -> str:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    first = [line for line in block.splitlines() if line.strip()][0]
    return first.split("#")[0].strip()


def get(path: str):
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}", timeout=10) as r:
        body = r.read()
        return r.status, body


def port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_readme_main_job_brings_up_a_live_fleet(tmp_path):
    command = readme_first_command()
    assert command == "scripts/up.sh"
    clone = tmp_path / "meters"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8",
           "METERS_TEMPEST_PORT": str(PORT), "METERS_AGENT_PORT_BASE": str(AGENT_BASE),
           # The clone's pip may reuse this checkout's download cache (outside the clone only
           # because the test says so: scripts/up.sh itself keeps its cache in .venv/).
           "PIP_CACHE_DIR": str(ROOT / ".venv" / "pip-cache")}
    try:
        up = subprocess.run(["bash", "-c", command], cwd=clone, env=env, capture_output=True,
                            text=True, timeout=1500)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        assert f"http://127.0.0.1:{PORT}/ui/" in up.stdout
        meters = wait_for_fleet()
        assert len(meters) == 12
        for m in meters:
            assert m["days_stored"] >= 14, m
            assert m["status"] == "online", m
            assert m["key"] == "active"
        status, page = get("/ui/meters")
        assert status == 200
        html = page.decode()
        for serial in [f"m{i:02d}" for i in range(1, 13)]:
            assert serial in html
        status, day = get("/api/v1/meters/m03/days?per_page=100")
        assert status == 200
        # Idempotent: a second run leaves one fleet and changes nothing.
        again = subprocess.run(["bash", "-c", command], cwd=clone, env=env, capture_output=True,
                               text=True, timeout=1500)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        assert re.findall(r"changed=(\d+)", again.stdout) == ["0"] * 13
        assert len(wait_for_fleet()) == 12
    finally:
        down = subprocess.run(["bash", "scripts/down.sh"], cwd=clone, env=env,
                              capture_output=True, text=True, timeout=300)
    assert down.returncode == 0, down.stderr
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (port_open(PORT) or any(
            port_open(AGENT_BASE + i) for i in range(1, 13))):
        time.sleep(0.5)
    assert not port_open(PORT), "Tempest still answers after scripts/down.sh"
    assert not any(port_open(AGENT_BASE + i) for i in range(1, 13)), "an agent still answers"
    # pip runs `rustc --version` for its user agent; on a machine with rustup on PATH (as this
    # one) that proxy writes ~/.rustup/settings.toml. That is rustup's doing, not ours.
    left = [p for p in home.rglob("*") if p.is_file() and p.relative_to(home).parts[0] != ".rustup"]
    assert not left, f"scripts/up.sh wrote outside the project folder: {left[:5]}"


def wait_for_fleet(timeout: float = 120) -> list[dict]:
    deadline = time.monotonic() + timeout
    meters: list[dict] = []
    while time.monotonic() < deadline:
        try:
            _, body = get("/api/v1/meters?per_page=50")
            meters = json.loads(body)["items"]
            if len(meters) == 12 and all(m["days_stored"] >= 14 and m["status"] == "online"
                                         for m in meters):
                return meters
        except OSError:
            pass
        time.sleep(2)
    return meters
