"""Hostile names: serials and file names with `..`, slashes, NUL, very long or non-ASCII names,
and symbolic links in the drop folder. Each is refused (4xx naming the field, exit 2) or
quarantined with a reason; nothing is ever written or read outside the data dir."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from tempest.cli import main as tempest_cli
from tempest.ingest.service import IngestService
from tests.hardening import corpus
from tests.hardening.state import Stored
from tests.support.tempest_client import ADMIN_TOKEN
from tests.tempest.tempest_testdata import make_day

SERIALS = ["..", "../x", "a/../b", "a/b", "a\\b", "/etc", "x\x00y", "k" * 65, "é", "日本",
           ".hidden", "-rf", "a b", "a\nb", "", "x..y", "\ud800"]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def stored(tmp_path):
    s = Stored(tmp_path)
    yield s
    s.close()


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("serial", SERIALS)
def test_hostile_serials_are_refused_everywhere(stored, tmp_path, serial):
    outside = _tree(tmp_path) - _tree(stored.layout.data_dir.parent)
    c = stored.client
    r = c.post("/api/v1/meters", json={"serial": serial}, headers=ADMIN)
    assert r.status_code == 400 and r.get_json()["field"] == "serial", r.get_json()
    # The key's own meter may write only its own serial.
    doc = json.loads(make_day(corpus.SERIAL, "2024-06-01"))
    doc["serial"] = serial
    r = c.post("/api/v1/days", data=json.dumps(doc), headers={"x-api-key": stored.key})
    assert r.status_code == 403 and r.get_json()["field"] == "serial"
    hb = {**corpus.heartbeat(), "serial": serial}
    r = c.post("/api/v1/heartbeats", json=hb, headers={"x-api-key": stored.key})
    assert r.status_code == 403
    # In a URL (escaped as a client would), on every route that takes a serial.
    path = quote(serial.encode("utf-8", "surrogatepass"), safe="")
    for url in (f"/api/v1/meters/{path}", f"/api/v1/meters/{path}/days",
                f"/api/v1/meters/{path}/days/2024-05-26/file", f"/meters/{path}/payloads",
                f"/api/v1/meters/{path}/desired-config", f"/ui/meters/{path}",
                f"/payload?serial={path}&day=2024-05-26", f"/api/v1/heartbeats?serial={path}"):
        r = c.get(url, headers=ADMIN)
        # 308: werkzeug merging the slashes of "%2F" ("/meters//etc" -> "/meters/etc").
        assert r.status_code in (400, 404, 308), (url, r.status_code)
        assert ".." not in r.headers.get("Location", "")
    r = c.put(f"/api/v1/meters/{path}/agent-key", json={"key": "k" * 20}, headers=ADMIN)
    assert r.status_code in (400, 404, 405, 308)  # 405: "/meters//agent-key"
    if "\x00" not in serial and serial:  # argv cannot carry NUL
        out = CliRunner().invoke(tempest_cli, ["meters", "add", serial, "--data-dir",
                                               str(stored.layout.data_dir)])
        assert out.exit_code == 2 and "SERIAL" in out.output
    assert _tree(tmp_path) - _tree(stored.layout.data_dir.parent) == outside


def test_hostile_serials_in_dropped_files_are_quarantined_with_a_reason(stored, tmp_path):
    before_outside = _tree(tmp_path / "data" / "archive")
    for i, serial in enumerate(SERIALS):
        doc = json.loads(make_day(corpus.SERIAL, "2024-06-01"))
        doc["serial"] = serial
        (stored.layout.drop / f"hostile{i}.json").write_text(json.dumps(doc))
    done = IngestService(stored.app.config).run_once()
    assert len(done) == len(SERIALS)
    assert {i.outcome for i in done} == {"quarantined"}
    for item in done:
        q = stored.conn.execute("SELECT * FROM quarantine WHERE id = ?",
                                (item.delivery.id,)).fetchone()
        assert q["field"] == "serial" and q["reason"]
        assert (stored.layout.quarantine / (q["name"] + ".reason.json")).is_file()
    assert _tree(tmp_path / "data" / "archive") == before_outside  # no folder of theirs
    assert stored.drop() == []


NAMES = [b"..json", b"...json", b"x" * 250 + b".json", "ü".encode() * 120 + b".json",
         b"\xff\xfe\xfd.json", b"a\nb.json", b"-rf .json", b"$(touch pwned).json",
         b"x.up-0123456789abcdef0123.json", b"kili_2024-06-02.json"]


def test_hostile_file_names_in_the_drop_folder(stored, tmp_path):
    drop = os.fsencode(stored.layout.drop)
    text = make_day(corpus.SERIAL, "2024-06-02")
    for name in NAMES:
        with open(os.path.join(drop, name), "wb") as f:
            f.write(text if name.endswith(b"2024-06-02.json") or name.startswith(b"x") else
                    b'{"serial": "kili", "bad": true}')
    done = IngestService(stored.app.config).run_once()
    outcomes = sorted(i.outcome for i in done)
    # Hidden names (a leading dot: a writer's temporary name) are never read; the rest are
    # stored once (the same bytes) or quarantined, each under a name of Tempest's making.
    assert outcomes == ["quarantined"] * 5 + ["stored"] + ["unchanged"] * 2
    assert sorted(os.listdir(drop)) == [b"...json", b"..json"]
    for p in stored.layout.quarantine.iterdir():
        assert p.name.isascii() and "/" not in p.name and not p.name.startswith(".")
        assert len(p.name.encode()) < 200
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_symlinks_in_the_drop_folder_are_never_followed(stored, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "kili_2024-06-03.json"
    secret.write_bytes(make_day(corpus.SERIAL, "2024-06-03"))
    drop = stored.layout.drop
    links = {"to_valid_day.json": secret, "passwd.json": Path("/etc/passwd"),
             "to_dir.json": outside, "dangling.json": outside / "nothing",
             "to_archive.json": stored.layout.archive}
    for name, target in links.items():
        os.symlink(target, drop / name)
    service = IngestService(stored.app.config)
    assert service.run_once() == []
    # With the worker watching too: a link renamed into the folder (the way files arrive).
    service.start()
    try:
        service.ready.wait(10)
        os.symlink(secret, drop / ".late.tmp")
        os.replace(drop / ".late.tmp", drop / "late_link.json")
        (drop / ".real.tmp").write_bytes(make_day(corpus.SERIAL, "2024-06-04"))
        os.replace(drop / ".real.tmp", drop / "real.json")
        from tests.support.waiting import wait_for

        wait_for(lambda: not (drop / "real.json").exists(), 10, what="the real file ingested")
    finally:
        service.stop()
    days = {r[0] for r in stored.conn.execute("SELECT reading_day FROM days")}
    assert "2024-06-03" not in days and "2024-06-04" in days  # the link's target never read
    assert secret.read_bytes() == make_day(corpus.SERIAL, "2024-06-03")  # nor moved
    for name in [*links, "late_link.json"]:
        assert (drop / name).is_symlink()  # refused where it was put, for an operator to see
    for p in [*stored.layout.archive.rglob("*"), *stored.layout.quarantine.rglob("*")]:
        assert not p.is_symlink()


def test_a_quarantined_file_with_a_hostile_name_is_reingested_under_a_safe_name(stored):
    drop = os.fsencode(stored.layout.drop)
    with open(os.path.join(drop, b"x.._.._\xff\nname.json"), "wb") as f:
        f.write(b'{"serial": "kili"}')
    (item,) = IngestService(stored.app.config).run_once()
    assert item.outcome == "quarantined"
    r = stored.client.post(f"/api/v1/quarantine/{item.delivery.id}/reingest", headers=ADMIN)
    assert r.status_code == 202
    (name,) = stored.drop()
    assert name.isascii() and "\n" not in name and name.endswith(".json")
