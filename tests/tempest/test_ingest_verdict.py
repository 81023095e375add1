"""The upload route's verdict travels with the file (tempest/ingest/verdict.py, a row of the
store's `verdicts` table): the worker stores an uploaded day without parsing it again, and
trusts the verdict only when its cheap checks hold; otherwise it parses and quarantines a bad
file with its reason as before."""

from __future__ import annotations

import hashlib
import json

import pytest

from tempest import codec, keys, names
from tempest.db import transaction
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


def held(conn, ingest_id: str) -> bytes | None:
    row = conn.execute("SELECT verdict FROM verdicts WHERE id = ?", (ingest_id,)).fetchone()
    return None if row is None else bytes(row["verdict"])


def plant(conn, ingest_id: str, data: bytes, change) -> None:
    """A verdict for these bytes whose day differs from theirs: what is stored shows which
    one the worker believed."""
    day = parse_checked(data, "UTC")
    change(day)
    with transaction(conn):
        conn.execute("DELETE FROM verdicts WHERE id = ?", (ingest_id,))
        verdict.write(conn, ingest_id, verdict.blob(hashlib.sha256(data).hexdigest(), day),
                      1_700_000_000.0)


def first_reading_plus_one(day) -> None:
    name = next(iter(day.values))
    day.values[name][0] += 1


def test_an_upload_leaves_its_verdict_and_ingest_stores_the_day_from_it(
        client, conn, key, lay, processor):
    data = make_day("kili", DAY)
    ingest_id = upload(client, key, data)
    assert held(conn, ingest_id) is not None
    # Proof the worker did not parse: a verdict it trusts is what gets stored.
    plant(conn, ingest_id, data, first_reading_plus_one)
    [item] = processor.process([(dropped(lay, ingest_id), None)])
    assert item.outcome == "stored"
    want = expected_values("kili", DAY)
    name = next(iter(want))
    want[name][0] += 1
    assert readings(conn) == want
    assert held(conn, ingest_id) is None  # used up, in the batch's transaction
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
    plant(conn, ingest_id, data, first_reading_plus_one)
    conn.execute("UPDATE verdicts SET verdict = ? WHERE id = ?",
                 (damage(held(conn, ingest_id)), ingest_id))
    [item] = processor.process([(dropped(lay, ingest_id), None)])
    assert item.outcome == "stored"
    assert readings(conn) == expected_values("kili", DAY)  # parsed, not the planted day


def test_a_meter_folder_never_takes_a_verdict(conn, key, lay, processor):
    """A meter's rsync folder is the meter's to write: an upload-like name there could point
    at another upload's verdict, so it is always parsed."""
    data = make_day("kili", DAY)
    ingest_id = names.new_id()
    plant(conn, ingest_id, data, first_reading_plus_one)
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
    plant(conn, ingest_id, data, lambda day: setattr(day, "serial", "mac"))
    [item] = processor.process([(dropped(lay, ingest_id), None)])
    assert item.outcome == "quarantined"
    assert conn.execute("SELECT count(*) FROM days").fetchone()[0] == 0


def test_a_verdict_whose_file_never_came_is_swept_after_a_day(client, conn, key, lay):
    """An upload whose drop-folder write failed after its commit leaves a verdict with no
    file; the worker's prune removes it a day later, never sooner. The folder where an older
    version kept verdicts as files goes too (those uploads are parsed)."""
    data = make_day("kili", DAY)
    ingest_id = upload(client, key, data)
    written = conn.execute("SELECT written_at FROM verdicts WHERE id = ?",
                           (ingest_id,)).fetchone()["written_at"]
    legacy = lay.data_dir / verdict.LEGACY_FOLDER
    legacy.mkdir()
    (legacy / "0123.v").write_bytes(b"old")
    assert verdict.sweep(conn, lay.data_dir, written + 86_000) == 0
    assert held(conn, ingest_id) is not None
    assert not legacy.exists()
    assert verdict.sweep(conn, lay.data_dir, written + 86_401) == 1
    assert held(conn, ingest_id) is None


def test_a_batch_of_uploads_takes_each_its_own_verdict(client, conn, key, lay, processor):
    """Verdicts are read for the whole batch at once: each file still gets only the verdict
    of its own bytes."""
    keys_of = {"kili": key, **{s: keys.add(conn, s).key for s in ("mac", "oslo")}}
    ids = {s: upload(client, k, make_day(s, DAY)) for s, k in keys_of.items()}
    plant(conn, ids["mac"], make_day("mac", DAY), first_reading_plus_one)
    items = processor.process([(dropped(lay, i), None) for i in ids.values()])
    assert sorted(i.outcome for i in items) == ["stored"] * 3
    assert all(i.own_write for i in items)  # every one came with its verdict
    rows = conn.execute("SELECT serial, channel, wh FROM readings").fetchall()
    got = {(r["serial"], r["channel"]): codec.unpack_list(r["wh"]) for r in rows}
    for serial in keys_of:
        want = expected_values(serial, DAY)
        if serial == "mac":
            name = next(iter(want))
            want[name][0] += 1
        assert {c: v for (s, c), v in got.items() if s == serial} == want, serial
    assert conn.execute("SELECT count(*) FROM verdicts").fetchone()[0] == 0
