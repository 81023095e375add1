"""Bad input to the bulk DLMS commands: exit 2 with a message naming the field, nothing
registered or served (docs/dlms.md)."""

from __future__ import annotations

import json
import socket
import sqlite3

from click.testing import CliRunner

from meter.cli import main as meter_cli
from meter.dlms.bulkserve import derived_password
from tempest.cli import main as tempest_cli
from tests.dlms import bulk as host
from tests.support.addresses import free_address


def serve(tmp, extra: dict, *args):
    (tmp / "b.json").write_text(json.dumps({**host.BASE, "dlms": extra}))
    return CliRunner().invoke(meter_cli, ["dlms-serve", "--config", str(tmp / "b.json"),
                                          "--count", "3", "--data-dir", str(tmp / "d"), *args])


def test_a_bulk_host_needs_a_secret_or_a_password_per_meter(tmp_path):
    got = serve(tmp_path, {"port": 20000})
    assert got.exit_code == 2 and "dlms.password" in got.output
    (tmp_path / "pw.json").write_text(json.dumps({"bk-0001": "a", "bk-0002": "b"}))
    got = serve(tmp_path, {"port": 20000, "passwords_file": "pw.json"})
    assert got.exit_code == 2
    assert "dlms.passwords_file" in got.output and "bk-0003" in got.output
    got = serve(tmp_path, {"port": 20000, "password": "x"}, "--port", "20000")
    assert got.exit_code == 2 and "--base-port" in got.output


def test_a_taken_port_is_refused_naming_the_option(tmp_path):
    address, _ = free_address()
    base = host.free_ports(address, 3)
    with socket.create_server((address, base + 2)):
        got = serve(tmp_path, {"port": base, "password": "x"}, "--host", address)
    assert got.exit_code == 2 and "--base-port" in got.output


def test_derived_passwords_differ_per_meter_and_per_secret():
    a = derived_password("s1", "bk-0001")
    assert a == derived_password("s1", "bk-0001")  # a pure function: Tempest can derive it
    assert len({a, derived_password("s1", "bk-0002"), derived_password("s2", "bk-0001")}) == 3
    assert len(a) == 20 and all(" " < c <= "~" for c in a)  # a valid LLS password


def test_bulk_registration_checks_every_entry_before_writing(tmp_path):
    data = str(tmp_path / "t")
    runner = CliRunner()
    assert runner.invoke(tempest_cli, ["meters", "add", "bk-0001", "bk-0002", "--timezone",
                                       "Europe/Berlin", "-q", "--data-dir", data]).exit_code == 0
    good = {"serial": "bk-0001", "host": "127.0.0.1", "port": 20001, "password": "pw1"}
    for bad, field in (({"serial": "bk-0002", "port": 20002, "password": "pw"}, "host"),
                       ({"serial": "bk-0002", "host": "h", "port": 0, "password": "pw"}, "port"),
                       ({"serial": "bk-0002", "host": "h", "port": 1, "password": ""},
                        "password"),
                       ({"serial": "bk-0009", "host": "h", "port": 1, "password": "pw"},
                        "bk-0009")):
        (tmp_path / "eps.json").write_text(json.dumps([good, bad]))
        got = runner.invoke(tempest_cli, ["meters", "dlms", "--from", str(tmp_path / "eps.json"),
                                          "--data-dir", data])
        assert got.exit_code == 2 and field in got.output, (bad, got.output)
    with sqlite3.connect(tmp_path / "t" / "tempest.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM dlms_meters").fetchone()[0] == 0
    secrets = tmp_path / "t.secrets" / "dlms_passwords.json"  # beside the data dir
    assert not secrets.exists()
    (tmp_path / "eps.json").write_text(json.dumps([good]))
    got = runner.invoke(tempest_cli, ["meters", "dlms", "--from", str(tmp_path / "eps.json"),
                                      "--data-dir", data])
    assert got.exit_code == 0, got.output
    with sqlite3.connect(tmp_path / "t" / "tempest.sqlite3") as conn:
        assert conn.execute("SELECT serial, port FROM dlms_meters").fetchall() == [
            ("bk-0001", 20001)]
    assert json.loads(secrets.read_text()) == {"bk-0001": "pw1"}
