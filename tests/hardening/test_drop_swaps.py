"""A drop writer that swaps its file between ingest's read and the archive step (security
review, finding 1), and an archive file replaced by a symbolic link.

Ingest reads a drop file once (`O_NOFOLLOW`) and validates those bytes; whatever the writer puts
under the same name afterwards (a link to Tempest's own config, other bytes) must never reach
the archive, and the archive-serving routes of a real `tempest serve` must never follow a link.

The swap has to land in the instant between the read and the archive step, which no outside
process can hit on demand: the test wraps ingest's read (`process._read`) so the writer swaps
right after it returns. Everything else is real: the folders, the links, the ingest, the server.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tempest.ingest import process
from tempest.ingest.service import IngestService
from tests.hardening import corpus
from tests.hardening.state import Stored
from tests.support.tempest import Tempest
from tests.tempest.tempest_testdata import make_day

DAY = "2024-06-10"
SECRET = "admin_token = 'tempest-secret-token-do-not-serve-0123456789'\n"


@pytest.fixture
def stored(tmp_path):
    s = Stored(tmp_path)
    yield s
    s.close()


@pytest.fixture
def secret(tmp_path) -> Path:
    """A file Tempest's account can read and a drop writer must never see: its config."""
    path = tmp_path / "etc" / "tempest.toml"
    path.parent.mkdir()
    path.write_text(SECRET)
    return path


@pytest.fixture
def serve(stored, tmp_path, make_tempest):
    """A real `tempest serve` on the same data dir (web side only: the test runs the ingest)."""
    return lambda: make_tempest(stored.layout.data_dir, tmp_path / "tempest.log",
                                ingest=False).start()


def _served(server: Tempest, day: str) -> list:
    return [server.get(f"/payload?serial={corpus.SERIAL}&day={day}"),
            server.get(f"/api/v1/meters/{corpus.SERIAL}/days/{day}/file")]


def _swap_after_read(monkeypatch, swap) -> list[Path]:
    """Make the drop writer `swap(path)` right after ingest has read `path`."""
    real, swapped = process._read, []

    def read_then_swap(path, *args, **kwargs):
        item = real(path, *args, **kwargs)
        if item is not None:
            swap(path)
            swapped.append(path)
        return item

    monkeypatch.setattr(process, "_read", read_then_swap)
    return swapped


def _link_to(target: Path):
    def swap(path: Path) -> None:
        tmp = path.with_name("." + path.name + ".swap")
        os.symlink(target, tmp)
        os.replace(tmp, path)  # atomically, the way a writer renames into the folder
    return swap


def _other_bytes(data: bytes):
    def swap(path: Path) -> None:
        tmp = path.with_name("." + path.name + ".swap")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return swap


@pytest.mark.parametrize("link_refused", [False, True], ids=["link", "copy"])
def test_a_symlink_swapped_in_after_the_read_is_never_archived_or_served(
        stored, secret, serve, monkeypatch, link_refused):
    good = make_day(corpus.SERIAL, DAY, interval=60, channels=2)
    name = stored.layout.drop / f"{corpus.SERIAL}_{DAY}.json"
    name.write_bytes(good)
    if link_refused:
        # Where the kernel will not let Tempest hard-link the drop account's file (Debian's
        # fs.protected_hardlinks, another file system), the bytes were copied by path.
        def refuse(*args, **kwargs):
            raise PermissionError(1, "Operation not permitted")
        monkeypatch.setattr(os, "link", refuse)
    swapped = _swap_after_read(monkeypatch, _link_to(secret))
    (item,) = IngestService(stored.app.config).run_once()
    assert swapped == [name] and item.outcome == "stored"

    # The archive holds exactly the bytes ingest read and validated, as a regular file.
    row = stored.conn.execute("SELECT path, hash FROM files WHERE id = ?",
                              (item.delivery.id,)).fetchone()
    archived = stored.layout.data_dir / row["path"]
    assert not archived.is_symlink() and archived.is_file()
    assert archived.read_bytes() == good
    # The writer's link is its own business: left where it is, never followed or moved.
    assert name.is_symlink() and secret.read_text() == SECRET

    server = serve()
    for r in _served(server, DAY):
        assert r.status_code == 200, r.text
        assert r.content == good
        assert b"tempest-secret-token" not in r.content


def test_other_bytes_swapped_in_after_the_read_wait_for_their_own_pass(
        stored, serve, monkeypatch):
    """The archive copy is the validated bytes, never what the name holds by the time of the
    move; the new bytes stay in the drop folder and are judged on their own next pass."""
    good = make_day(corpus.SERIAL, DAY, interval=60, channels=2)
    name = stored.layout.drop / f"{corpus.SERIAL}_{DAY}.json"
    name.write_bytes(good)
    _swap_after_read(monkeypatch, _other_bytes(b'{"serial": "kili", "sneaked": true}'))
    (item,) = IngestService(stored.app.config).run_once()
    assert item.outcome == "stored"
    row = stored.conn.execute("SELECT path FROM files WHERE id = ?",
                              (item.delivery.id,)).fetchone()
    assert (stored.layout.data_dir / row["path"]).read_bytes() == good
    assert name.read_bytes() == b'{"serial": "kili", "sneaked": true}'
    monkeypatch.undo()
    (later,) = IngestService(stored.app.config).run_once()
    assert later.outcome == "quarantined" and not name.exists()
    for r in _served(serve(), DAY):
        assert r.status_code == 200 and r.content == good


def test_an_archived_file_replaced_by_a_symlink_is_refused_by_both_routes(
        stored, secret, serve):
    day = "2024-05-26"  # stored by the fixture
    row = stored.conn.execute(
        "SELECT f.path FROM days d JOIN files f ON f.id = d.file_id "
        "WHERE d.serial = ? AND d.reading_day = ?", (corpus.SERIAL, day)).fetchone()
    archived = stored.layout.data_dir / row["path"]
    archived.unlink()
    os.symlink(secret, archived)
    server = serve()
    for r in _served(server, day):
        assert b"tempest-secret-token" not in r.content
        assert r.status_code == 404, (r.status_code, r.text)
        body = r.json()
        assert body["error"] == "not_found" and body["reason"]
    assert secret.read_text() == SECRET
