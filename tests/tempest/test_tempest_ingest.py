"""Ingest with real folders and a real watchdog observer: archive, quarantine, idempotency."""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest

from tempest import codec, keys, names
from tempest.ingest import dropbox
from tempest.ingest.process import Processor
from tempest.ingest.service import IngestBusy, IngestService
from tempest.settings import layout
from tests.support.waiting import wait_for
from tests.tempest.tempest_testdata import expected_values, flat_payload, make_day, seed_payload


@pytest.fixture(autouse=True)
def registered(conn):
    """The meters these files are for: ingest stores days only of meters Tempest knows."""
    for serial in ("kili", "mac"):
        keys.add(conn, serial)


@pytest.fixture
def lay(app):
    return layout(app.config)


@pytest.fixture
def processor(app, conn, lay):
    return Processor(conn, lay, app.config)


def drop(lay, name: str, data: bytes):
    return dropbox.write_atomic(lay.drop, name, data, durable=False)


def stored(conn, serial, day):
    return conn.execute("SELECT * FROM days WHERE serial = ? AND reading_day = ?",
                        (serial, day)).fetchone()


def test_good_file_is_stored_and_archived(processor, conn, lay):
    path = drop(lay, "kili_2023-05-26.json", make_day("kili", "2023-05-26"))
    [item] = processor.process([(path, None)])
    assert item.outcome == "stored"
    assert not path.exists()
    archived = list((lay.archive / "kili").iterdir())
    assert len(archived) == 1 and archived[0].read_bytes() == make_day("kili", "2023-05-26")
    row = stored(conn, "kili", "2023-05-26")
    assert (row["status"], row["expected"], row["accounted"]) == ("sealed", 288, 288)
    want = expected_values("kili", "2023-05-26")
    rows = conn.execute("SELECT channel, wh FROM readings WHERE serial = 'kili'").fetchall()
    assert {r["channel"]: codec.unpack_list(r["wh"]) for r in rows} == want
    meter = conn.execute("SELECT * FROM meters WHERE serial = 'kili'").fetchone()
    assert (meter["days_stored"], meter["files_archived"], meter["last_day"]) == (
        1, 1, "2023-05-26")


def test_same_file_twice_stores_once(processor, conn, lay):
    data = make_day("kili", "2023-05-26")
    processor.process([(drop(lay, "a.json", data), None)])
    [again] = processor.process([(drop(lay, "b.json", data), None)])
    assert again.outcome == "unchanged"
    assert again.day is None and again.known is not None  # known by its hash: not parsed
    assert len(list((lay.archive / "kili").iterdir())) == 1  # named by content
    assert conn.execute("SELECT count(*) FROM days").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM readings").fetchone()[0] == 3
    assert conn.execute("SELECT days_stored FROM meters WHERE serial = 'kili'").fetchone()[0] == 1
    # The very same name and bytes again (a redelivery or a crash replay): nothing new at all.
    [replay] = processor.process([(drop(lay, "a.json", data), None)])
    assert replay.outcome == "stored" and replay.done is not None
    assert conn.execute("SELECT count(*) FROM files").fetchone()[0] == 2
    assert not (lay.drop / "a.json").exists()


def test_more_complete_version_replaces_and_is_logged(processor, conn, lay):
    day = "2023-05-26"
    processor.process([(drop(lay, "v1.json", make_day("kili", day, status="open", upto=100)),
                        None)])
    [v2] = processor.process([(drop(lay, "v2.json", make_day("kili", day)), None)])
    assert v2.outcome == "replaced"
    [v3] = processor.process([(drop(lay, "v3.json", make_day(
        "kili", day, status="open", upto=200)), None)])
    assert v3.outcome == "kept"
    row = stored(conn, "kili", day)
    assert (row["status"], row["accounted"], row["versions"]) == ("sealed", 288, 2)
    log = [r["event"] for r in conn.execute("SELECT event FROM ingest_log ORDER BY id")]
    assert log == ["stored", "replaced", "kept"]
    message = conn.execute("SELECT message FROM ingest_log WHERE event = 'replaced'").fetchone()[0]
    assert "open, 100/288" in message and "sealed, 288/288" in message
    assert len(list((lay.archive / "kili").iterdir())) == 3  # every version is archived


def test_equal_counts_later_delivery_wins_whatever_the_order(app, conn, lay, processor):
    day = "2023-05-26"
    a, b = make_day("kili", day), make_day("kili", day, bump=1)
    pa, pb = drop(lay, "a.json", a), drop(lay, "b.json", b)
    os.utime(pa, (1000, 1000))
    os.utime(pb, (2000, 2000))
    processor.process([(pb, None)])  # the later one first
    [first] = processor.process([(pa, None)])
    assert first.outcome == "kept"
    row = stored(conn, "kili", day)
    got = conn.execute("SELECT wh FROM readings WHERE reading_day = ? AND channel = 'Total'",
                       (day,)).fetchone()
    assert codec.unpack_list(got[0]) == expected_values("kili", day, bump=1)["Total"]
    assert row["versions"] == 1


def test_bad_file_goes_to_quarantine_with_a_reason(processor, conn, lay):
    data = make_day("kili", "2023-05-26").replace(b'"2023-05-26T10:05:00+12:00": 0.',
                                                  b'"2023-05-26T10:05:00+12:00": -0.', 1)
    path = drop(lay, "kili_2023-05-26.json", data)
    [item] = processor.process([(path, None)])
    assert item.outcome == "quarantined"
    qfiles = sorted(p.name for p in lay.quarantine.iterdir())
    assert len(qfiles) == 2
    reason = json.loads((lay.quarantine / (item.dest.split("/")[1] + ".reason.json")).read_text())
    assert reason["field"] == "datastreams.Total.2023-05-26T10:05:00+12:00"
    assert reason["line"] == 6 and "less than the minimum of 0" in reason["reason"]
    assert reason["serial"] == "kili" and reason["id"] == item.delivery.id
    q = conn.execute("SELECT * FROM quarantine").fetchone()
    assert q["field"] == reason["field"] and q["resolved_at"] is None
    assert conn.execute("SELECT count(*) FROM days").fetchone()[0] == 0


@pytest.mark.parametrize("content, field", [
    (b"not json", "column 1"),
    (b'["a list"]', ""),
    (b'{"serial": "../etc", "reading_day": "2023-05-26"}', "serial"),
    (b'{"serial": "kili", "reading_day": "2023-02-30", "2023-02-30T01:00:00": 1.0}',
     "reading_day"),
])
def test_malformed_files_are_quarantined(processor, conn, lay, content, field):
    [item] = processor.process([(drop(lay, "x.json", content), None)])
    assert item.outcome == "quarantined"
    q = conn.execute("SELECT * FROM quarantine").fetchone()
    assert (q["field"] or "") == field
    assert q["serial"] is None or q["serial"] == "kili"


def test_oversized_file_is_quarantined_without_parsing(app, conn, lay):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    proc = Processor(conn, lay, app.config)
    [item] = proc.process([(drop(lay, "big.json", make_day("kili", "2023-05-26")), None)])
    assert item.outcome == "quarantined"
    assert "larger than" in conn.execute("SELECT reason FROM quarantine").fetchone()[0]


def test_hidden_and_temporary_names_are_never_read(processor, lay):
    data = make_day("kili", "2023-05-26")
    for name in (".kili.json", "kili.json.tmp", "kili.json.part", "kili.json~"):
        (lay.drop / name).write_bytes(data)
    assert dropbox.scan(lay.drop, 0).ready == []
    assert processor.process([(lay.drop / ".kili.json", None)]) == []


def test_seed_shapes_use_the_meters_zone(processor, conn, lay):
    keys.add(conn, "mac", timezone="Pacific/Auckland")
    processor.process([(drop(lay, "mac.json", flat_payload("mac", "2023-04-02")), None),
                       (drop(lay, "kili.json", seed_payload("kili", "2023-05-26")), None)])
    mac = stored(conn, "mac", "2023-04-02")
    assert (mac["timezone"], mac["expected"], mac["shape"]) == ("Pacific/Auckland", 25, "flat")
    kili = stored(conn, "kili", "2023-05-26")
    assert (kili["timezone"], kili["expected"], kili["status"]) == ("UTC+12:00", 288, "sealed")
    notes = conn.execute("SELECT message FROM ingest_log WHERE serial = 'kili'").fetchone()[0]
    assert "seed seed shape" in notes


def test_crash_after_commit_finishes_the_move(processor, conn, lay):
    """A file whose id is recorded but still sits in the drop folder is just moved."""
    data = make_day("kili", "2023-05-26")
    path = drop(lay, "kili.json", data)
    keep = lay.data_dir / "copy"
    shutil.copy(path, keep)
    processor.process([(path, None)])
    shutil.copy(keep, path)  # as if the process died between commit and rename
    os.utime(path, (os.stat(keep).st_mtime,) * 2)
    [item] = processor.process([(path, None)])
    assert item.done is not None and not path.exists()
    assert conn.execute("SELECT count(*) FROM files").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM ingest_log").fetchone()[0] == 1


def test_crash_after_quarantine_row_finishes_the_move(processor, conn, lay):
    path = drop(lay, "bad.json", b"{}")
    keep = lay.data_dir / "copy"
    shutil.copy(path, keep)
    [item] = processor.process([(path, None)])
    for f in lay.quarantine.iterdir():
        f.unlink()
    shutil.copy(keep, path)
    processor.process([(path, None)])
    assert sorted(f.name for f in lay.quarantine.iterdir()) == sorted(
        [item.dest.split("/")[1], item.dest.split("/")[1] + ".reason.json"])
    assert conn.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 1


def test_an_upload_carries_only_the_days_of_the_key_that_sent_it(processor, conn, lay):
    """The upload routes name the file for the serial whose key sent it; ingest holds the
    content to that serial, as it holds a meter's folder to its own (security review,
    finding 2). A day of a meter Tempest does not know is refused there too."""
    stored_before = make_day("mac", "2023-05-26", status="open", upto=10)
    [first] = processor.process([(drop(lay, "mac_2023-05-26.json", stored_before), None)])
    assert first.outcome == "stored"
    forged = names.upload_name("kili", "2023-05-26", names.new_id())
    ghost = names.upload_name("ghost", "2023-05-26", names.new_id())
    [item, unknown] = processor.process([(drop(lay, forged, make_day("mac", "2023-05-26")), None),
                                         (drop(lay, ghost, make_day("ghost", "2023-05-26")),
                                          None)])
    assert (item.outcome, unknown.outcome) == ("quarantined", "quarantined")
    rows = {r["original_name"]: r for r in conn.execute("SELECT * FROM quarantine")}
    assert rows[forged]["serial"] == "kili" and rows[forged]["field"] == "serial"
    assert "an upload with meter kili's key" in rows[forged]["reason"]
    assert "not registered" in rows[ghost]["reason"]
    assert stored(conn, "mac", "2023-05-26")["status"] == "open"  # unchanged
    assert conn.execute("SELECT 1 FROM meters WHERE serial = 'ghost'").fetchone() is None


def test_two_names_claiming_one_upload_id_do_not_clash(processor, conn, lay):
    ident = "ab" * 10
    a = drop(lay, f"kili_2023-05-26.up-{ident}.json", make_day("kili", "2023-05-26"))
    processor.process([(a, None)])
    b = drop(lay, f"kili_2023-05-27.up-{ident}.json", make_day("kili", "2023-05-27"))
    [item] = processor.process([(b, None)])
    assert item.outcome == "stored" and item.delivery.id != ident
    assert conn.execute("SELECT count(*) FROM days").fetchone()[0] == 2


# -- the worker with a real observer ------------------------------------------------------------

@pytest.fixture
def service(app):
    s = IngestService(app.config)
    yield s
    s.stop()


def _day_count(conn):
    return conn.execute("SELECT count(*) FROM days").fetchone()[0]


def test_worker_ingests_renamed_closed_and_moved_in_files(service, conn, lay, tmp_path):
    # Scans leave young files alone for a minute here, so only the watchdog events can bring
    # these in within the wait (with no settle time a rescan could take b.json half-written).
    service.settle_seconds = 60.0
    service.start()
    # 1. atomic rename inside the folder (our uploads, rsync)
    drop(lay, "a.json", make_day("kili", "2023-05-01"))
    # 2. written in place and closed (close-after-write)
    (lay.drop / "b.json").write_bytes(make_day("kili", "2023-05-02"))
    # 3. moved in from another folder on the same file system
    outside = tmp_path / "elsewhere.json"
    outside.write_bytes(make_day("kili", "2023-05-03"))
    os.rename(outside, lay.drop / "c.json")
    wait_for(lambda: _day_count(conn) == 3, timeout=20)
    wait_for(lambda: dropbox.pending(lay.drop) == 0, timeout=20)


def test_rsync_style_rename_is_recorded_as_rsync(service, conn, lay):
    service.start()
    assert service.ready.wait(20)  # the start-up scan is done: what follows comes as events
    tmp = lay.drop / ".kili_2023-05-01.json.Ab12Cd"
    tmp.write_bytes(make_day("kili", "2023-05-01"))
    os.rename(tmp, lay.drop / "kili_2023-05-01.json")
    wait_for(lambda: _day_count(conn) == 1, timeout=20)
    assert conn.execute("SELECT source FROM files").fetchone()[0] == "rsync"


def test_a_meters_folder_is_watched_and_nothing_deeper_is_read(service, conn, lay):
    """rsync delivers into <drop>/<serial>/ (finding 2): the watch covers that folder, also
    one made after the start, so its files come in as events, not at the next scan; a folder
    inside a meter's folder is never read."""
    service.settle_seconds = 60.0  # scans leave young files alone: only events bring them in
    service.start()
    assert service.ready.wait(20)
    folder = lay.drop / "kili"
    folder.mkdir()
    time.sleep(0.3)  # the new folder's watch is in place
    tmp = folder / ".kili_2023-05-01.json.Ab12Cd"
    tmp.write_bytes(make_day("kili", "2023-05-01"))
    os.rename(tmp, folder / "kili_2023-05-01.json")
    dropbox.write_atomic(folder / "deeper", "kili_2023-05-02.json",
                         make_day("kili", "2023-05-02"), durable=False)
    wait_for(lambda: _day_count(conn) == 1, timeout=20)
    assert conn.execute("SELECT source FROM files").fetchone()[0] == "rsync"
    time.sleep(1.0)
    assert _day_count(conn) == 1 and (folder / "deeper" / "kili_2023-05-02.json").exists()


def test_startup_scan_takes_files_that_arrived_while_down(app, conn, lay):
    for i in range(5):
        drop(lay, f"k{i}.json", make_day("kili", f"2023-05-0{i + 1}"))
    s = IngestService(app.config)
    s.start()
    try:
        wait_for(lambda: _day_count(conn) == 5, timeout=20)
    finally:
        s.stop()


def test_dead_observer_is_restarted_and_the_folder_rescanned(service, conn, lay):
    service.start()
    service.watch.observer.stop()  # as if an exception had killed its thread
    service.watch.observer.join(5)
    drop(lay, "late.json", make_day("kili", "2023-05-01"))  # no one is watching now
    wait_for(lambda: _day_count(conn) == 1, timeout=20)
    assert service.watch.restarts == 1 and service.watch.alive()


def test_settling_files_wait_for_the_settle_time(app, conn, lay):
    app.config["SETTLE_SECONDS"] = 1.0
    app.config["RESCAN_SECONDS"] = 60
    path = drop(lay, "k.json", make_day("kili", "2023-05-01"))
    s = IngestService(app.config)
    s.start()
    try:
        time.sleep(0.3)
        assert _day_count(conn) == 0 and path.exists()  # too young for the start-up scan
        wait_for(lambda: _day_count(conn) == 1, timeout=20)  # a follow-up scan takes it
    finally:
        s.stop()


def test_only_one_worker_per_data_dir(app, service):
    service.start()
    other = IngestService(app.config)
    with pytest.raises(IngestBusy):
        other.start()
    with pytest.raises(IngestBusy):
        other.run_once()


def test_old_heartbeats_are_pruned(app, conn, service):
    keys.add(conn, "kili")
    conn.execute("INSERT INTO heartbeats (serial, received_at, body) VALUES ('kili', 1, '{}')")
    conn.execute("INSERT INTO heartbeats (serial, received_at, body) VALUES ('kili', ?, '{}')",
                 (time.time(),))
    service.start()
    wait_for(lambda: conn.execute("SELECT count(*) FROM heartbeats").fetchone()[0] == 1)


def test_a_pool_of_parse_processes_gives_the_same_outcomes(app, conn, lay):
    app.config["INGEST_PROCESSES"] = 2
    for i in range(4):
        drop(lay, f"k{i}.json", make_day("kili", f"2023-05-0{i + 1}"))
    drop(lay, "bad.json", make_day("kili", "2023-05-09").replace(b'"unit": "kWh",\n', b"", 1))
    done = IngestService(app.config).run_once()
    assert sorted(i.outcome for i in done) == ["quarantined"] + ["stored"] * 4
    q = conn.execute("SELECT field, line, reason FROM quarantine").fetchone()
    assert (q["field"], q["line"]) == (None, None) and "'unit' is a required property" in q[
        "reason"]


def test_symbolic_links_in_the_drop_folder_are_never_followed(processor, conn, lay, tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_bytes(make_day("kili", "2023-05-26"))
    (lay.drop / "link.json").symlink_to(secret)
    assert dropbox.scan(lay.drop, 0).ready == []
    assert processor.process([(lay.drop / "link.json", None)]) == []
    assert conn.execute("SELECT count(*) FROM files").fetchone()[0] == 0
