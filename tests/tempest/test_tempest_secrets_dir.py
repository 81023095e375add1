"""Tempest's secrets folder (TEMPEST_SECRETS_DIR): the web UI's session signing key and Tempest's
copy of each meter agent's key live there, outside the data dir, beside the env file (finding 14).

Against a real `tempest serve`: after it has signed in a UI admin and stored an agent key, no
file in the data dir holds either; an old Tempest's `<data-dir>/secret_key` and
`agent_keys.json` are moved out once at start and keep working. Through the CLI: where the
folder is by default, and a folder or file others may read, or a folder inside the data dir,
refused naming TEMPEST_SECRETS_DIR with exit status 2.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from tempest import create_app
from tempest.cli import main
from tempest.settings import layout
from tests.support import REPO
from tests.support.tempest_client import admin_headers
from tests.tempest import uisession

AGENT_KEY = "agent-key-kept-outside-the-data-dir-0123"
OLD_SESSION_KEY = "a" * 24 + "old-session-key-from-the-data-dir" + "b" * 7
OLD_AGENT_KEY = "old-agent-key-from-the-data-dir-4567"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _holding(data: Path, secrets: dict[str, str]) -> list[str]:
    """Every file under the data dir (the store's -wal too) that holds one of the secrets."""
    found = []
    for p in sorted(data.rglob("*")):
        if p.is_file():
            blob = p.read_bytes()
            found += [f"{name} in {p.relative_to(data)}" for name, value in secrets.items()
                      if value.encode() in blob]
    return found


def _signed_with(cookie: str, key: str) -> dict:
    """The session cookie's content if `key` signed it (itsdangerous raises otherwise)."""
    probe = Flask("probe")
    probe.secret_key = key
    return SecureCookieSessionInterface().get_signing_serializer(probe).loads(cookie)


def _register(base: str, serial: str = "kili") -> None:
    r = requests.post(base + "/api/v1/meters", json={"serial": serial}, timeout=10,
                      headers=admin_headers())
    assert r.status_code in (200, 201), r.text


def _has_agent_key(base: str, serial: str = "kili") -> bool:
    r = requests.get(f"{base}/api/v1/meters/{serial}/desired-config", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["agent_key"]


def test_a_served_tempest_keeps_no_secret_in_its_data_dir(make_tempest, tmp_path):
    data = tmp_path / "data"
    secrets_dir = tmp_path / "data.secrets"  # the default: beside the data dir, never in it
    tempest = make_tempest(data).start()
    base = tempest.url
    _register(base)
    s = requests.Session()
    uisession.sign_in(s, base)  # a UI session: a cookie signed with the session key
    assert uisession.csrf(s, base)
    cookie = s.cookies.get(uisession.COOKIE)
    r = requests.put(base + "/api/v1/meters/kili/agent-key", json={"key": AGENT_KEY},
                     headers=admin_headers(), timeout=10)
    assert r.status_code == 200, r.text
    assert _has_agent_key(base)

    # The secrets are in the secrets folder, made private on first use.
    assert _mode(secrets_dir) == 0o700
    assert _mode(secrets_dir / "secret_key") == 0o600
    assert _mode(secrets_dir / "agent_keys.json") == 0o600
    session_key = (secrets_dir / "secret_key").read_text().strip()
    assert _signed_with(cookie, session_key)  # that key signs the UI's cookie
    assert json.loads((secrets_dir / "agent_keys.json").read_text()) == {"kili": AGENT_KEY}

    secrets = {"the session key": session_key, "the agent key": AGENT_KEY}
    try:
        assert not (data / "secret_key").exists()
        assert not (data / "agent_keys.json").exists()
        assert _holding(data, secrets) == []  # while it runs (the store's WAL included)
    finally:
        tempest.stop()
    assert _holding(data, secrets) == []
    assert sorted(p.name for p in secrets_dir.iterdir()) == [
        ".agent_keys.lock", "agent_keys.json", "secret_key"]


def _old_tempest_files(data: Path) -> None:
    """What a Tempest before the secrets folder left in its data dir."""
    data.mkdir(parents=True)
    for name, text in (("secret_key", OLD_SESSION_KEY + "\n"),
                       ("agent_keys.json", json.dumps({"kili": OLD_AGENT_KEY}))):
        (data / name).write_text(text)
        os.chmod(data / name, 0o600)
    (data / ".agent_keys.lock").touch()


def test_an_upgrade_moves_the_old_secret_files_out_once(make_tempest, tmp_path):
    data = tmp_path / "data"
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir(mode=0o700)
    _old_tempest_files(data)
    tempest = make_tempest(data, TEMPEST_SECRETS_DIR=secrets_dir).start()
    base = tempest.url
    _register(base)
    assert _has_agent_key(base)  # the moved agent key is still Tempest's
    s = requests.Session()
    uisession.sign_in(s, base)
    assert _signed_with(s.cookies.get(uisession.COOKIE), OLD_SESSION_KEY)  # and the old key signs
    tempest.stop()

    assert sorted(p.name for p in data.iterdir() if p.name in (
        "secret_key", "agent_keys.json", ".agent_keys.lock")) == []
    assert (secrets_dir / "secret_key").read_text().strip() == OLD_SESSION_KEY
    assert json.loads((secrets_dir / "agent_keys.json").read_text()) == {"kili": OLD_AGENT_KEY}
    assert _holding(data, {"session": OLD_SESSION_KEY, "agent": OLD_AGENT_KEY}) == []
    log = tempest.log_path.read_text()
    for name in ("secret_key", "agent_keys.json"):
        assert f"moved {data / name} to {secrets_dir / name}" in log, log[-2000:]

    # Once: a second start finds nothing to move and keeps what it has.
    tempest.start()
    assert _has_agent_key(tempest.url)
    tempest.stop()
    assert tempest.log_path.read_text().count("moved ") == 2
    assert (secrets_dir / "secret_key").read_text().strip() == OLD_SESSION_KEY


def test_an_upgrade_moves_them_to_another_file_system(runner, tmp_path, caplog):
    """A secrets folder on another disk than the data dir (here /dev/shm, a tmpfs): the move
    is a durable copy linked into place, then the old name removed."""
    shm = Path("/dev/shm")
    assert shm.stat().st_dev != tmp_path.stat().st_dev, "/dev/shm is not another file system"
    data, secrets_dir = tmp_path / "data", shm / f"meters-secrets-{os.getpid()}-{tmp_path.name}"
    _old_tempest_files(data)
    try:
        r = runner.invoke(main, ["status", "--data-dir", str(data)],
                          env={"TEMPEST_SECRETS_DIR": str(secrets_dir)})
        assert r.exit_code == 0, r.output
        assert not (data / "secret_key").exists() and not (data / "agent_keys.json").exists()
        assert (secrets_dir / "secret_key").read_text().strip() == OLD_SESSION_KEY
        assert json.loads((secrets_dir / "agent_keys.json").read_text()) == {
            "kili": OLD_AGENT_KEY}
        # Made 0600, and no temporary copy is left beside them.
        assert {_mode(p) for p in secrets_dir.iterdir()} == {0o600}
        assert sorted(p.name for p in secrets_dir.iterdir()) == ["agent_keys.json", "secret_key"]
        assert f"moved {data / 'agent_keys.json'} to {secrets_dir / 'agent_keys.json'}" \
            in caplog.text
    finally:
        for p in secrets_dir.glob("*"):
            p.unlink()
        secrets_dir.rmdir()


def test_an_old_secret_others_may_read_is_refused_not_moved(runner, tmp_path):
    data, secrets_dir = tmp_path / "data", tmp_path / "secrets"
    _old_tempest_files(data)
    os.chmod(data / "agent_keys.json", 0o640)
    r = runner.invoke(main, ["status", "--data-dir", str(data)],
                      env={"TEMPEST_SECRETS_DIR": str(secrets_dir)})
    assert r.exit_code == 2, r.output
    assert "TEMPEST_SECRETS_DIR" in r.output and "(mode 0640): chmod 600 it" in r.output
    assert str(data / "agent_keys.json") in r.output
    assert _mode(data / "agent_keys.json") == 0o640  # as it was, where it was
    assert not (secrets_dir / "agent_keys.json").exists()


def test_an_upgrade_cut_short_leaves_one_copy(runner, tmp_path):
    """A crash between placing the new name and removing the old leaves the same bytes twice:
    the next start removes the data dir's; two that differ are refused and both kept."""
    data, secrets_dir = tmp_path / "data", tmp_path / "secrets"
    secrets_dir.mkdir(mode=0o700)
    _old_tempest_files(data)
    os.link(data / "secret_key", secrets_dir / "secret_key")  # the move's first half
    env = {"TEMPEST_SECRETS_DIR": str(secrets_dir)}
    r = runner.invoke(main, ["status", "--data-dir", str(data)], env=env)
    assert r.exit_code == 0, r.output
    assert not (data / "secret_key").exists() and not (data / "agent_keys.json").exists()
    assert (secrets_dir / "secret_key").read_text().strip() == OLD_SESSION_KEY

    (data / "agent_keys.json").write_text(json.dumps({"kili": "another-key-0123456789"}))
    os.chmod(data / "agent_keys.json", 0o600)
    r = runner.invoke(main, ["status", "--data-dir", str(data)], env=env)
    assert r.exit_code == 2, r.output
    assert "TEMPEST_SECRETS_DIR" in r.output and "differ" in r.output
    assert str(data / "agent_keys.json") in r.output
    assert OLD_AGENT_KEY not in r.output and "another-key" not in r.output
    # Nothing lost: both are still there, as they were.
    assert json.loads((data / "agent_keys.json").read_text()) == {"kili": "another-key-0123456789"}
    assert json.loads((secrets_dir / "agent_keys.json").read_text()) == {"kili": OLD_AGENT_KEY}


@pytest.mark.parametrize("folder_mode, file_name, file_mode, reason", [
    (0o750, None, None, "may be read by others (mode 0750)"),
    (0o705, None, None, "may be read by others (mode 0705)"),
    (0o700, "secret_key", 0o640, "secret_key may be read by others (mode 0640)"),
    (0o700, "agent_keys.json", 0o604, "agent_keys.json may be read by others (mode 0604)"),
])
def test_a_secrets_folder_others_may_read_is_refused(runner, tmp_path, folder_mode, file_name,
                                                      file_mode, reason):
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    os.chmod(secrets_dir, folder_mode)
    if file_name:
        (secrets_dir / file_name).write_text("{}")
        os.chmod(secrets_dir / file_name, file_mode)
    r = runner.invoke(main, ["status", "--data-dir", str(tmp_path / "data")],
                      env={"TEMPEST_SECRETS_DIR": str(secrets_dir)})
    assert r.exit_code == 2, r.output
    assert "TEMPEST_SECRETS_DIR" in r.output and reason in r.output
    assert _mode(secrets_dir) == folder_mode  # refused, not "fixed" behind the operator's back


def test_a_real_serve_refuses_a_readable_secrets_folder(tmp_path):
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    os.chmod(secrets_dir, 0o755)
    r = subprocess.run([sys.executable, "-m", "tempest", "serve", "--data-dir",
                        str(tmp_path / "data"), "--host", "127.0.0.1", "--port", "9"],
                       cwd=REPO, capture_output=True, text=True, timeout=60,
                       env={**os.environ, "TEMPEST_SECRETS_DIR": str(secrets_dir)})
    assert r.returncode == 2, r.stderr
    assert "TEMPEST_SECRETS_DIR" in r.stderr and "chmod 700" in r.stderr


@pytest.mark.parametrize("where", ["data/secrets", "data", "data/drop/keys", "."])
def test_a_secrets_folder_inside_the_data_dir_or_holding_it_is_refused(runner, tmp_path, where):
    data = tmp_path / "data"
    secrets_dir = (tmp_path / where).resolve()
    r = runner.invoke(main, ["status", "--data-dir", str(data)],
                      env={"TEMPEST_SECRETS_DIR": str(secrets_dir)})
    assert r.exit_code == 2, r.output
    assert "TEMPEST_SECRETS_DIR" in r.output and "outside the data dir" in r.output
    assert not data.exists() and not (secrets_dir / "secret_key").exists()  # nothing made


def test_where_the_secrets_folder_is(tmp_path, monkeypatch):
    """TEMPEST_SECRETS_DIR; else the env file's folder (one place for every secret); else
    `<data-dir>.secrets` beside the data dir."""
    for name in ("TEMPEST_SECRETS_DIR", "TEMPEST_ENV_FILE", "TEMPEST_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    app = create_app(overrides={"DATA_DIR": str(data)})
    assert layout(app.config).secrets == tmp_path / "data.secrets"
    assert app.config["SECRET_KEY"] == (tmp_path / "data.secrets" / "secret_key").read_text().strip()

    env_folder = tmp_path / "etc"
    env_folder.mkdir(mode=0o700)
    (env_folder / "tempest.env").write_text("TEMPEST_ONLINE_SECONDS=90\n")
    os.chmod(env_folder / "tempest.env", 0o600)
    monkeypatch.setenv("TEMPEST_ENV_FILE", str(env_folder / "tempest.env"))
    app = create_app(overrides={"DATA_DIR": str(data)})
    assert layout(app.config).secrets == env_folder
    assert (env_folder / "secret_key").exists()

    monkeypatch.setenv("TEMPEST_SECRETS_DIR", str(tmp_path / "elsewhere"))
    app = create_app(overrides={"DATA_DIR": str(data)})
    assert layout(app.config).secrets == tmp_path / "elsewhere"
    assert _mode(tmp_path / "elsewhere") == 0o700
    assert not (data / "secret_key").exists()
