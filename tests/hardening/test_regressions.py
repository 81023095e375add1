"""Bugs the hardening suites found, each pinned by the smallest input that showed it."""

from __future__ import annotations

import pytest

from core import dayfile_reader
from tests.support import ci_guard


@pytest.mark.parametrize("data", [
    b"\xff\xfe{}",  # not UTF-8: decoding used to raise UnicodeDecodeError past parse()
    b'{"serial": ' + b"1" * 5000 + b"}",  # an integer past Python's 4300-digit limit
    b'{"reading_day": "2024-05-01", "2024-05-01T00:05:00": 1' + b"0" * 4400 + b"}",
])
def test_parse_rejects_undecodable_bytes_and_huge_integers_with_a_reason(data):
    with pytest.raises(dayfile_reader.DayFileError) as err:
        dayfile_reader.parse(data)
    assert err.value.reason


@pytest.mark.parametrize("label, reason", [
    ("2023-05-25T00:05:30+12:00", "whole minute"),  # seconds: _infer_interval raised ValueError
    ("2023-02-30T00:05:00+12:00", "no such date"),  # no such day: _legacy_zone raised ValueError
])
def test_a_seed_file_with_an_unreadable_timestamp_is_refused_naming_it(label, reason):
    """Found by the mutated-file fuzzer (seed 8): a seed-shape timestamp that matched the
    schema's pattern but named no real minute escaped parse() as a ValueError, which would fail
    an ingest batch."""
    import json

    doc = {"serial": "kili", "reading_day": "2023-05-25",
           "datastreams": {"Total": {"2023-05-25T00:10:00+12:00": 0.1, label: 0.2}}}
    with pytest.raises(dayfile_reader.DayFileError) as err:
        dayfile_reader.parse(json.dumps(doc))
    assert reason in err.value.reason
    assert err.value.field == f"datastreams.Total.{label}"


def _store_and_days(tmp_path):
    from tests.sinks.sinkhelpers import BERLIN, Store, day_files, meter_raw

    store = Store(tmp_path / "data")
    store.register("kili")
    files = day_files(meter_raw("kili", "Europe/Berlin", BERLIN, interval_min=15),
                      "2024-05-01", "2024-05-02")
    return store, list(files.values())


def test_a_drop_file_name_that_is_not_utf8_is_ingested_and_blocks_nothing(tmp_path):
    import os

    from tempest.ingest.service import IngestService

    store, texts = _store_and_days(tmp_path)
    drop = os.fsencode(store.layout.drop)
    (store.layout.drop / "a.json").write_text(texts[0])
    for raw, text in ((b"\xff\xfe_bad.json", "{}"), (b"ok_\xe9.json", texts[1])):
        with open(os.path.join(drop, raw), "w") as f:
            f.write(text)
    outcomes = sorted(i.outcome for i in IngestService(store.config).run_once())
    assert outcomes == ["quarantined", "stored", "stored"]
    assert os.listdir(drop) == []
    names = {r["name"] for r in store.conn.execute("SELECT name FROM files")}
    assert names == {"a.json", "\\xff\\xfe_bad.json", "ok_\\xe9.json"}
    store.close()


def test_a_fifo_in_the_drop_folder_does_not_hang_the_ingest_worker(tmp_path):
    import os
    import time

    from tempest.ingest.service import IngestService
    from tests.support.waiting import wait_for

    store, texts = _store_and_days(tmp_path)
    service = IngestService(store.config)
    service.start()
    try:
        service.ready.wait(10)
        fifo = store.layout.drop / "pipe.json"
        os.mkfifo(fifo)
        os.close(os.open(fifo, os.O_RDWR))  # a writer's close: inotify's close-after-write
        time.sleep(0.3)
        (store.layout.drop / ".a.tmp").write_text(texts[0])
        os.replace(store.layout.drop / ".a.tmp", store.layout.drop / "a.json")
        wait_for(lambda: store.days() == [("kili", "2024-05-01")], 10, what="stored after it")
    finally:
        service.stop()
    assert fifo.exists()  # refused (never read), not followed and not deleted
    store.close()


def test_a_full_disk_is_503_for_heartbeats_and_bad_files_too(tmp_path):
    """They were 500 ("the server failed"): a full disk is Tempest's state, and 503 tells a
    meter to keep what it has and send it again later (docs/protocol.md)."""
    from tempest import create_app, keys
    from tempest.db import connect
    from tests.hardening.mounts import fill, tmpfs, unfill
    from tests.tempest.tempest_testdata import make_day

    with tmpfs(tmp_path / "disk", "4m") as (disk, why):
        if why:
            ci_guard.skip_missing("a small tmpfs", why)
        # No disk reserve: this is the disk that fills anyway (the reserve's 507 is
        # tests/tempest/test_tempest_quotas.py's).
        app = create_app({"DATA_DIR": str(disk / "data"), "DISK_RESERVE_BYTES": 0})
        conn = connect(disk / "data" / "tempest.sqlite3")
        key = keys.add(conn, "kili").key
        conn.close()
        client = app.test_client()
        fill(disk)
        try:
            h = {"x-api-key": key}
            answers = [client.post("/api/v1/heartbeats", json={"serial": "kili"}, headers=h),
                       client.post("/api/v1/days", data=b'{"serial": "kili"}', headers=h),
                       client.post("/api/v1/days", data=make_day("kili", "2024-05-01"),
                                   headers=h)]
        finally:
            unfill(disk)
        for r in answers:
            assert r.status_code == 503, r.get_json()
            assert r.get_json()["error"] == "unavailable"
