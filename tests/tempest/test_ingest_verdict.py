"""The upload route's verdict travels with the file (tempest/ingest/verdict.py): the worker
stores an uploaded day without parsing it again, and trusts the verdict only when its cheap
checks hold; otherwise it parses and quarantines a bad file with its reason as before."""

from __future__ import annotations

import hashlib
import json

import pytest

from tempest import codec, keys, names
from tempest.ingest import dropbox, verdict
from tempest.ingest.process import parse_checked
from tests.tempest.tempest_testdata import expected_values, make_day
from tests.tempest.upload_fixtures import upload

DAY = "2023-05-26"


def dropped(lay, ingest_id: str):
    [path] = [p for p in lay.drop.iterdir() if ingest_id in p.name]
    return path


def readings(conn) -> dict:
    rows = conn.execute("SELECT channel, wh FROM readings WHERE serial = 'kili'").fetchall()
    return {r["channel"]: codec.unpack_list(r["wh"]) for r in rows}


def plant(lay, ingest_id: str, data: bytes, change) -> None:
    """A verdict for these bytes whose day differs from theirs: what is stored shows which
    one the worker believed."""
    day = parse_checked(data, "UTC")
    change(day)
    verdict.write(lay.data_dir, ingest_id, hashlib.sha256(data).hexdigest(), day)


def first_reading_plus_one(day) -> None:
    name = next(iter(day.values))
    day.values[name][0] += 1


def test_an_upload_leaves_its_verdict_and_ingest_stores_the_day_from_it(
        client, conn, key, lay, processor):
    data = make_day("kili", DAY)
    ingest_id = upload(client, key, data)
    assert (verdict.folder(lay.data_dir) / f"{ingest_id}.v").is_file()
    # Proof the worker did not parse: a verdict it trusts is what gets stored.
    plant(lay, ingest_id, data, first_reading_plus_one)
    [item] = processor.process([(dropped(lay, ingest_id), None)])
    assert item.outcome == "stored"
    want = expected_values("kili", DAY)
    name = next(iter(want))
    want[name][0] += 1
    assert readings(conn) == want
    assert not (verdict.folder(lay.data_dir) / f"{ingest_id}.v").exists()  # used up
    [archived] = (lay.archive / "kili").iterdir()
    assert archived.read_bytes() == data  # the bytes received, whatever the verdict said


def test_an_upload_stores_the_same_day_as_a_parse(client, conn, key, lay, processor):
    data = make_day("kili", DAY)
    ingest_id = upload(client, key, data)
    [item] = processor.process([(dropped(lay, ingest_id), None)])
    assert item.outcome == "stored"
    assert readings(conn) == expected_values("kili", DAY)


def test_a_file_replaced_after_its_upload_is_parsed_and_quarantined(
        client, conn, key, lay, processor):
    ingest_id = upload(client, key, make_day("kili", DAY))
    path = dropped(lay, ingest_id)
    bad = json.loads(make_day("kili", DAY))
    bad["status"] = "done"
    dropbox.write_atomic(lay.drop, path.name, json.dumps(bad).encode(), durable=False)
    [item] = processor.process([(path, None)])
    assert item.outcome == "quarantined"
    row = conn.execute("SELECT reason, field FROM quarantine WHERE id = ?",
                       (ingest_id,)).fetchone()
    assert row["field"] == "status" and "done" in row["reason"]
    assert conn.execute("SELECT count(*) FROM days").fetchone()[0] == 0


@pytest.mark.parametrize("damage", [lambda b: b[: len(b) // 2], lambda b: b"",
                                    lambda b: b"\x00not marshal"])
def test_a_verdict_cut_short_is_ignored(client, conn, key, lay, processor, damage):
    data = make_day("kili", DAY)
    ingest_id = upload(client, key, data)
    plant(lay, ingest_id, data, first_reading_plus_one)
    held = verdict.folder(lay.data_dir) / f"{ingest_id}.v"
    held.write_bytes(damage(held.read_bytes()))
    [item] = processor.process([(dropped(lay, ingest_id), None)])
    assert item.outcome == "stored"
    assert readings(conn) == expected_values("kili", DAY)  # parsed, not the planted day


def test_a_meter_folder_never_takes_a_verdict(conn, key, lay, processor):
    """A meter's rsync folder is the meter's to write: an upload-like name there could point
    at another upload's verdict, so it is always parsed."""
    data = make_day("kili", DAY)
    ingest_id = names.new_id()
    plant(lay, ingest_id, data, first_reading_plus_one)
    folder = lay.drop / "kili"
    folder.mkdir()
    path = dropbox.write_atomic(folder, names.upload_name("kili", DAY, ingest_id), data,
                                durable=False)
    [item] = processor.process([(path, None)])
    assert item.outcome == "stored"
    assert readings(conn) == expected_values("kili", DAY)


def test_a_verdict_for_another_meters_day_is_still_refused(client, conn, key, lay, processor):
    """The serial check runs on the day a verdict carries, as on a parsed one."""
    keys.add(conn, "mac")
    data = make_day("kili", DAY)
    ingest_id = upload(client, key, data)
    plant(lay, ingest_id, data, lambda day: setattr(day, "serial", "mac"))
    [item] = processor.process([(dropped(lay, ingest_id), None)])
    assert item.outcome == "quarantined"
    assert conn.execute("SELECT count(*) FROM days").fetchone()[0] == 0
