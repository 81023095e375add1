"""`tempest meters dlms --from - --json`: the deploy's one call for a batch of DLMS meters (the
tempest_registration role's dlms.yml). The list, passwords included, comes on stdin (never on
a command line); each meter's endpoint, password and zone are compared with what Tempest holds
and only what differs is written, and the answer says which meters changed."""

from __future__ import annotations

import json
import subprocess
import sys

from tempest.dlms import endpoints
from tempest.read import meters as read_meters
from tempest.settings import layout
from tests.support import REPO


def dlms_from_stdin(app, entries) -> subprocess.CompletedProcess:
    data_dir = app.config["DATA_DIR"]
    return subprocess.run([sys.executable, "-m", "tempest", "meters", "dlms", "--from", "-",
                           "--json", "--data-dir", data_dir],
                          input=json.dumps(entries), capture_output=True, text=True, cwd=REPO,
                          timeout=120)


def entry(serial: str, port: int, password: str, zone: str = "Europe/Berlin") -> dict:
    return {"serial": serial, "host": "127.0.0.1", "port": port, "password": password,
            "timezone": zone}


def held(app, conn, serial: str) -> tuple:
    shown = endpoints.shown(conn, layout(app.config).secrets, serial)
    zone = read_meters.one(conn, serial)["timezone"]
    return shown["host"], shown["port"], shown["password"], zone


def test_a_batch_on_stdin_writes_only_what_differs(app, conn, runner):
    from tempest.cli import main

    got = runner.invoke(main, ["meters", "add", "dl-1", "dl-2", "--timezone", "UTC", "-q",
                               "--data-dir", app.config["DATA_DIR"]])
    assert got.exit_code == 0, got.output
    batch = [entry("dl-1", 20001, "pw-one"), entry("dl-2", 20002, "pw-two")]

    first = dlms_from_stdin(app, batch)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"changed": ["dl-1", "dl-2"], "unchanged": []}
    assert held(app, conn, "dl-1") == ("127.0.0.1", 20001, True, "Europe/Berlin")
    passwords = endpoints.PASSWORDS.read(layout(app.config).secrets)
    assert passwords == {"dl-1": "pw-one", "dl-2": "pw-two"}
    for out in (first.stdout, first.stderr):
        assert "pw-one" not in out and "pw-two" not in out

    again = dlms_from_stdin(app, batch)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"changed": [], "unchanged": ["dl-1", "dl-2"]}

    # Each kind of difference is a change of that meter only.
    for n, changed in enumerate(({"password": "pw-new"}, {"port": 20009},
                                 {"timezone": "Pacific/Auckland"}, {"host": "127.0.0.2"})):
        batch[n % 2] = {**batch[n % 2], **changed}
        done = dlms_from_stdin(app, batch)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["changed"] == [batch[n % 2]["serial"]], changed
    assert held(app, conn, "dl-1") == ("127.0.0.1", 20001, True, "Pacific/Auckland")
    assert held(app, conn, "dl-2") == ("127.0.0.2", 20009, True, "Europe/Berlin")
    assert endpoints.PASSWORDS.read(layout(app.config).secrets)["dl-1"] == "pw-new"


def test_a_bad_entry_writes_nothing_and_names_the_meter(app, conn, runner):
    from tempest.cli import main

    got = runner.invoke(main, ["meters", "add", "dl-1", "dl-2", "--timezone", "UTC", "-q",
                               "--data-dir", app.config["DATA_DIR"]])
    assert got.exit_code == 0, got.output
    for bad, words in ((entry("dl-2", 20002, "pw", "Mars/Olympus"), ("dl-2", "timezone")),
                       (entry("dl-9", 20002, "pw"), ("dl-9", "no meter")),
                       (entry("dl-2", 0, "pw"), ("port",)),
                       ("dl-2", ("entry 1",))):
        done = dlms_from_stdin(app, [entry("dl-1", 20001, "pw-one"), bad])
        assert done.returncode == 2, done.stdout
        assert all(w in done.stderr for w in words), (bad, done.stderr)
        assert "pw-one" not in done.stderr
        assert endpoints.shown(conn, layout(app.config).secrets, "dl-1") is None
        assert read_meters.one(conn, "dl-1")["timezone"] == "UTC"
    assert endpoints.PASSWORDS.read(layout(app.config).secrets) == {}
