"""TEMPEST_ENV_FILE: Tempest reads its secrets from one file outside the data dir at start.

The role writes that file (tests/ansible/test_tempest_secrets.py deploys it for real); here,
what Tempest makes of it: its settings applied (the environment still wins), and a file
others may read, or one that tries to move the data dir, refused naming TEMPEST_ENV_FILE with
exit status 2.
"""

from __future__ import annotations

import os

import pytest

from tempest import create_app
from tempest.cli import main

TOKEN = "env-file-admin-token-0123456789"


def _env_file(tmp_path, text: str, mode: int = 0o600):
    path = tmp_path / "secrets" / "tempest.env"
    path.parent.mkdir(mode=0o700)
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_secrets_come_from_the_env_file_and_the_environment_wins(tmp_path, monkeypatch):
    path = _env_file(tmp_path, f"# Tempest's secrets\n\nTEMPEST_ADMIN_TOKEN={TOKEN}\n"
                     "TEMPEST_SINK_MDMS_API_KEY = 12345\nTEMPEST_ONLINE_SECONDS=90\n")
    monkeypatch.setenv("TEMPEST_ENV_FILE", str(path))
    monkeypatch.delenv("TEMPEST_ADMIN_TOKEN", raising=False)
    app = create_app(overrides={"DATA_DIR": str(tmp_path / "data")})
    assert app.config["ADMIN_TOKEN"] == TOKEN
    assert app.config["SINK_MDMS_API_KEY"] == "12345"  # a text setting stays text
    assert app.config["ONLINE_SECONDS"] == 90
    client = app.test_client()
    r = client.post("/api/v1/meters", json={"serial": "kili"},
                    headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code in (200, 201), r.get_json()
    monkeypatch.setenv("TEMPEST_ONLINE_SECONDS", "120")
    app = create_app(overrides={"DATA_DIR": str(tmp_path / "data")})
    assert app.config["ONLINE_SECONDS"] == 120


@pytest.mark.parametrize("text, mode, reason", [
    (f"TEMPEST_ADMIN_TOKEN={TOKEN}\n", 0o640, "may be read by others (mode 0640)"),
    (f"TEMPEST_ADMIN_TOKEN={TOKEN}\n", 0o604, "may be read by others"),
    ("TEMPEST_DATA_DIR=/elsewhere\n", 0o600, "line 1: expected TEMPEST_NAME=value"),
    (f"# ok\nADMIN_TOKEN={TOKEN}\n", 0o600, "line 2: expected TEMPEST_NAME=value"),
    ("TEMPEST_ADMIN_TOKEN\n", 0o600, "line 1: expected TEMPEST_NAME=value"),
])
def test_a_bad_env_file_stops_the_command_naming_it(runner, tmp_path, text, mode, reason):
    path = _env_file(tmp_path, text, mode)
    r = runner.invoke(main, ["status", "--data-dir", str(tmp_path / "data")],
                      env={"TEMPEST_ENV_FILE": str(path)})
    assert r.exit_code == 2, r.output
    assert "TEMPEST_ENV_FILE" in r.output and reason in r.output
    assert TOKEN not in r.output  # the message never shows a secret


def test_a_missing_env_file_is_named(runner, tmp_path):
    r = runner.invoke(main, ["status", "--data-dir", str(tmp_path / "data")],
                      env={"TEMPEST_ENV_FILE": str(tmp_path / "nowhere.env")})
    assert r.exit_code == 2 and "TEMPEST_ENV_FILE" in r.output and "nowhere.env" in r.output
