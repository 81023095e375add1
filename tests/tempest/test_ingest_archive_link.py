"""An upload's archive copy is a hard link to the file the upload route wrote and fsynced
(tempest/ingest/mover.py), never a link to anything else: a file any other writer put in the
drop folder is copied from the bytes ingest read."""

from __future__ import annotations

import os

import pytest

from tempest import names
from tempest.db import transaction
from tempest.ingest import dropbox, mover, verdict
from tests.tempest.tempest_testdata import make_day
from tests.tempest.upload_fixtures import upload

DAY = "2023-05-26"


def archived(lay):
    [path] = (lay.archive / "kili").iterdir()
    return path


def test_an_upload_is_archived_as_a_link_to_the_file_the_route_wrote(
        client, key, lay, processor):
    data = make_day("kili", DAY)
    ingest_id = upload(client, key, data)
    [drop_file] = [p for p in lay.drop.iterdir() if ingest_id in p.name]
    inode = drop_file.stat().st_ino
    [item] = processor.process([(drop_file, None)])
    assert item.outcome == "stored"
    kept = archived(lay)
    assert kept.stat().st_ino == inode  # the route's own file, not a copy
    assert kept.stat().st_nlink == 1  # and the drop name is gone
    assert kept.read_bytes() == data
    assert not drop_file.exists()
    assert [p.name for p in kept.parent.iterdir()] == [kept.name]  # no temporary name left


@pytest.mark.parametrize("where", ["top", "meter folder"])
def test_a_file_another_writer_placed_is_copied(conn, key, lay, processor, where):
    """The collect playbook's files (top of the drop folder) and a meter's rsync (its own
    folder) may still be written to in place by their writer: their archive copy is made from
    the bytes read."""
    data = make_day("kili", DAY)
    folder = lay.drop if where == "top" else lay.drop / "kili"
    folder.mkdir(exist_ok=True)
    path = dropbox.write_atomic(folder, f"kili_{DAY}.json", data, durable=False)
    inode = path.stat().st_ino
    [item] = processor.process([(path, None)])
    assert item.outcome == "stored"
    assert archived(lay).stat().st_ino != inode
    assert archived(lay).read_bytes() == data


def test_an_upload_without_its_verdict_is_copied(client, conn, key, lay, processor):
    """No verdict (a crash swept it, or it was never written): the file is parsed, and
    nothing says these bytes were Tempest's own durable write, so they are copied."""
    data = make_day("kili", DAY)
    ingest_id = upload(client, key, data)
    with transaction(conn):
        verdict.discard(conn, [ingest_id])
    [drop_file] = [p for p in lay.drop.iterdir() if ingest_id in p.name]
    inode = drop_file.stat().st_ino
    [item] = processor.process([(drop_file, None)])
    assert item.outcome == "stored"
    assert archived(lay).stat().st_ino != inode


def test_a_name_that_no_longer_leads_to_the_file_read_is_not_linked(lay, tmp_path):
    """Between the read and the move the drop name was given to another file: no link (the
    bytes read are copied instead), and no temporary name is left behind."""
    drop_file = dropbox.write_atomic(lay.drop, names.upload_name("kili", DAY, names.new_id()),
                                     b"read", durable=False)
    st = drop_file.stat()
    os.replace(dropbox.write_atomic(lay.drop, "other.json", b"swapped in", durable=False),
               drop_file)
    dest = lay.archive / "kili" / "kili.json"
    dest.parent.mkdir(parents=True)
    assert mover._link_copy(drop_file, (st.st_dev, st.st_ino), dest, "0" * 64) is None
    assert list(dest.parent.iterdir()) == []
