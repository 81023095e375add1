"""The `tempest` command: init-db, meters add|list|revoke, ingest, status, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tempest import create_app, keys
from tempest.cli import main
from tempest.db import connect, describe, is_url
from tempest.settings import layout
from tests.support import REPO
from tests.support.tempest import store_of
from tests.tempest.tempest_testdata import make_day


@pytest.fixture
def data(tmp_path):
    return tmp_path / "data"


def run(runner, *args, input=None):
    return runner.invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)


def test_init_db_is_idempotent(runner, data):
    for _ in range(2):
        r = run(runner, "init-db", "--data-dir", data)
        store = store_of(data)  # the SQLite file, or the PostgreSQL database (its URL)
        assert r.exit_code == 0 and describe(store) in r.output
    assert {p.name for p in data.iterdir()} >= {"drop", "archive", "quarantine",
                                                *([] if is_url(store) else ["tempest.sqlite3"])}
    # The session key is made in the secrets folder (beside the data dir), never in it.
    assert not (data / "secret_key").exists()
    secrets_dir = data.with_name("data.secrets")
    assert secrets_dir.stat().st_mode & 0o777 == 0o700
    assert (secrets_dir / "secret_key").stat().st_mode & 0o777 == 0o600


def test_meters_add_prints_a_key_once(runner, data):
    r = run(runner, "meters", "add", "kili", "--timezone", "Pacific/Auckland",
            "--data-dir", data)
    assert r.exit_code == 0
    key = r.stdout.strip()
    assert len(key) >= 40
    again = run(runner, "meters", "add", "kili", "--data-dir", data)
    assert again.exit_code == 0 and again.stdout == ""
    assert "already has a key" in again.stderr and "--rotate" in again.stderr
    conn = connect(store_of(data))
    assert keys.serial_for(conn, key) == "kili"  # unchanged
    rotated = run(runner, "meters", "add", "kili", "--rotate", "--data-dir", data).stdout.strip()
    assert rotated != key and keys.serial_for(conn, key) is None
    assert keys.serial_for(conn, rotated) == "kili"
    conn.close()


def test_meters_add_with_a_key_from_stdin(runner, data):
    key = "vault-managed-key-0123456789"
    for _ in range(2):
        r = run(runner, "meters", "add", "kili", "--key-stdin", "--data-dir", data,
                input=key + "\n")
        assert r.exit_code == 0 and r.stdout == ""  # the key is never echoed
    clash = runner.invoke(main, ["meters", "add", "kili", "--key-stdin", "--data-dir",
                                 str(data)], input="another-key-0123456789\n")
    assert clash.exit_code == 2 and "--rotate" in clash.output
    short = runner.invoke(main, ["meters", "add", "kili", "--key-stdin", "--data-dir",
                                 str(data)], input="short\n")
    assert short.exit_code == 2 and "--key-stdin" in short.output


def test_meters_add_several_serials_as_json_keys_file(runner, data):
    """A bulk meter host's tempest_api_keys_file in one command (meter/bulk.py reads it)."""
    run(runner, "meters", "add", "town-0002", "--data-dir", data)
    r = run(runner, "meters", "add", "town-0001", "town-0002", "town-0003", "--json",
            "--data-dir", data)
    assert r.exit_code == 0
    issued = json.loads(r.stdout)
    assert sorted(issued) == ["town-0001", "town-0003"]  # town-0002 keeps its key
    conn = connect(store_of(data))
    assert all(keys.serial_for(conn, k) == s for s, k in issued.items())
    conn.close()
    bad = runner.invoke(main, ["meters", "add", "ok-1", "../x", "--data-dir", str(data)])
    assert bad.exit_code == 2 and "SERIAL" in bad.output
    two = runner.invoke(main, ["meters", "add", "a-1", "a-2", "--key-stdin", "--data-dir",
                               str(data)], input="vault-managed-key-0123456789\n")
    assert two.exit_code == 2 and "one SERIAL" in two.output


def test_meters_add_from_a_json_object_of_keys(runner, data):
    """The deploy's one call for a batch of meters (roles/tempest_registration): keys on
    stdin, never printed; a second call changes nothing; a refused key stops no other meter."""
    given = {f"m{n:02}": f"vault-managed-key-{n:02}-0123456789" for n in range(1, 4)}
    first = run(runner, "meters", "add", "--from", "-", "--json", "--data-dir", data,
                input=json.dumps(given))
    assert first.exit_code == 0
    assert json.loads(first.stdout) == {"changed": ["m01", "m02", "m03"], "unchanged": [],
                                        "refused": {}}
    assert not any(k in first.output for k in given.values())
    conn = connect(store_of(data))
    assert all(keys.serial_for(conn, k) == s for s, k in given.items())
    again = run(runner, "meters", "add", "--from", "-", "--json", "--data-dir", data,
                input=json.dumps(given))
    assert json.loads(again.stdout)["changed"] == [] and again.exit_code == 0
    # m01 with a new key is refused (no --rotate), m04 is still registered.
    clash = {"m01": "another-vault-key-0123456789", "m04": "vault-managed-key-04-0123456789"}
    r = runner.invoke(main, ["meters", "add", "--from", "-", "--json", "--data-dir", str(data)],
                      input=json.dumps(clash))
    assert r.exit_code == 2
    report = json.loads(r.stdout)
    assert report["changed"] == ["m04"] and list(report["refused"]) == ["m01"]
    assert "m01" in r.stderr and "--rotate" in r.stderr and clash["m01"] not in r.output
    assert keys.serial_for(conn, given["m01"]) == "m01"
    rotated = run(runner, "meters", "add", "--from", "-", "--rotate", "--data-dir", data,
                  input=json.dumps({"m01": clash["m01"]}))
    assert rotated.exit_code == 0 and keys.serial_for(conn, clash["m01"]) == "m01"
    conn.close()
    for bad, named in ((["not", "an", "object"], "object"), ({"../x": given["m02"]}, "serial"),
                       ({"m05": "short"}, "m05")):
        r = runner.invoke(main, ["meters", "add", "--from", "-", "--data-dir", str(data)],
                          input=json.dumps(bad))
        assert r.exit_code == 2 and "--from" in r.output and named in r.output, r.output
    both = runner.invoke(main, ["meters", "add", "m06", "--from", "-", "--data-dir",
                                str(data)], input="{}")
    assert both.exit_code == 2 and "either SERIAL" in both.output

def test_meters_list_and_revoke(runner, data):
    run(runner, "meters", "add", "kili", "--data-dir", data)
    run(runner, "meters", "add", "mac", "--data-dir", data)
    r = run(runner, "meters", "revoke", "mac", "--data-dir", data)
    assert r.exit_code == 0
    listed = json.loads(run(runner, "meters", "list", "--json", "--data-dir", data).stdout)
    assert {m["serial"]: m["key"] for m in listed} == {"kili": "active", "mac": "revoked"}
    assert all("key_hash" not in m for m in listed)
    text = run(runner, "meters", "list", "--data-dir", data).stdout
    assert "kili" in text and "never_seen" in text


@pytest.mark.parametrize("args, names", [
    (["meters", "add", "../etc"], "SERIAL"),
    (["meters", "add", "a..b"], "SERIAL"),
    (["meters", "add", "kili", "--timezone", "Mars/Base"], "--timezone"),
    (["meters", "revoke", "nobody"], "SERIAL"),
    (["serve", "--port", "0"], "--port"),
    (["ingest", "/no/such/file.json"], "PATHS"),
])
def test_cli_errors_exit_2_naming_the_field(runner, data, args, names):
    r = runner.invoke(main, [*args, "--data-dir", str(data)])
    assert r.exit_code == 2, r.output
    assert names in r.output


def test_ingest_paths_and_status(runner, data, tmp_path):
    src = tmp_path / "files"
    src.mkdir()
    (src / "kili_2023-05-26.json").write_bytes(make_day("kili", "2023-05-26"))
    (src / "kili_2023-05-27.json").write_bytes(make_day("kili", "2023-05-27"))
    (src / "bad.json").write_bytes(b"{}")
    assert run(runner, "meters", "add", "kili", "--data-dir", data).exit_code == 0
    r = run(runner, "ingest", src, "--data-dir", data)
    assert r.exit_code == 0
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {"files": 3, "stored": 2,
                                                             "quarantined": 1}
    assert (src / "bad.json").exists()  # the originals are copied, never taken
    status = json.loads(run(runner, "status", "--json", "--data-dir", data).stdout)
    assert (status["days_stored"], status["quarantined"], status["drop_pending"]) == (2, 1, 0)
    text = run(runner, "status", "--data-dir", data).stdout
    assert "days stored   2" in text


def test_settings_from_file_then_environment(data, monkeypatch):
    data.mkdir(parents=True)
    (data / "tempest.toml").write_text('ONLINE_SECONDS = 60\nSTALE_SECONDS = 600\n')
    monkeypatch.setenv("TEMPEST_STALE_SECONDS", "900")
    monkeypatch.setenv("TEMPEST_DATA_DIR", str(data))
    app = create_app()
    assert app.config["ONLINE_SECONDS"] == 60 and app.config["STALE_SECONDS"] == 900
    assert layout(app.config).data_dir == data
    key_file = layout(app.config).secrets / "secret_key"
    assert app.config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(app.config["SECRET_KEY"]) == 64


def test_python_dash_m_tempest_works(data):
    r = subprocess.run([sys.executable, "-m", "tempest", "--help"], capture_output=True,
                       text=True, cwd=REPO, timeout=60)
    assert r.returncode == 0
    for command in ("serve", "ingest", "init-db", "meters", "status"):
        assert command in r.stdout


def test_every_option_has_help():
    import click

    def walk(cmd):
        yield cmd
        if isinstance(cmd, click.Group):
            for sub in cmd.commands.values():
                yield from walk(sub)

    for cmd in walk(main):
        for p in cmd.params:
            if isinstance(p, click.Option) and p.name not in ("help", "version"):
                assert p.help, f"{cmd.name} {p.opts} has no help"


@pytest.mark.parametrize("env, named", [
    ({"TEMPEST_ONLINE_SECONDS": "soon"}, "TEMPEST_ONLINE_SECONDS"),
    ({"TEMPEST_STALE_SECONDS": "10"}, "TEMPEST_STALE_SECONDS"),
    ({"TEMPEST_LEGACY_TIMEZONE": "Atlantis/Capital"}, "TEMPEST_LEGACY_TIMEZONE"),
    ({"TEMPEST_ADMIN_TOKEN": "short"}, "TEMPEST_ADMIN_TOKEN"),
    ({"TEMPEST_INGEST_BATCH": "0"}, "TEMPEST_INGEST_BATCH"),
])
def test_bad_settings_stop_the_command_naming_the_setting(runner, data, env, named):
    r = runner.invoke(main, ["status", "--data-dir", str(data)], env=env)
    assert r.exit_code == 2 and named in r.output


def test_a_bad_config_file_is_named(runner, data):
    data.mkdir(parents=True)
    (data / "tempest.toml").write_text("ONLINE_SECONDS = = 3\n")
    r = runner.invoke(main, ["status", "--data-dir", str(data)])
    assert r.exit_code == 2 and "tempest.toml is not valid TOML" in r.output


def test_admin_token_from_the_environment_stays_text(data, monkeypatch):
    monkeypatch.setenv("TEMPEST_ADMIN_TOKEN", "1234567890123456789")
    app = create_app(overrides={"DATA_DIR": str(data)})
    assert app.config["ADMIN_TOKEN"] == "1234567890123456789"
