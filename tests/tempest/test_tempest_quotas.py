"""Per-meter quotas and the disk reserve (security review, finding 12), on a real `tempest
serve` with small limits: one meter's key cannot fill the disk, and every other meter goes on.

The limits are token buckets refilled over an hour, so a test that runs in seconds sees each
allowance used up and never refilled: nothing here depends on the clock beyond that.
"""

from __future__ import annotations

import json
import math

from tempest import create_app
from tempest.db import connect
from tempest.ingest import dropbox
from tests.support.tempest import store_config, store_of
from tests.support.waiting import wait_for
from tests.tempest.tempest_testdata import issue_key, make_day

DAYS = [f"2024-02-{d:02d}" for d in range(1, 29)]


def _serve(make_tempest, tmp_path, before_start=None, **settings):
    """A real Tempest with meters qa and qb registered, and `settings` (TEMPEST_<name>)."""
    data = tmp_path / "data"
    create_app({"DATA_DIR": str(data), **store_config()})  # the store, so keys can be issued before the start
    conn = connect(store_of(data))
    keys = {s: issue_key(conn, s) for s in ("qa", "qb")}
    conn.close()
    if before_start is not None:
        before_start(data)
    server = make_tempest(data, **{f"TEMPEST_{k}": v for k, v in settings.items()})
    server.start()
    server.keys = keys
    return server


def _upload(server, serial: str, body: bytes, route: str = "/api/v1/days"):
    return server.post(route, data=body, headers={"x-api-key": server.keys[serial],
                                                  "Content-Type": "application/json"})


def _bad(serial: str, day: str) -> bytes:
    """A day file that fails validation (its interval does not match its readings)."""
    return make_day(serial, day).replace(b'"interval": 5', b'"interval": 7')


def _quarantine(server) -> list[dict]:
    return server.get("/api/v1/quarantine").json()["items"]


def test_uploads_past_a_meters_hourly_count_are_429_with_retry_after(make_tempest,
                                                                      tmp_path):
    server = _serve(make_tempest, tmp_path, METER_UPLOADS_PER_HOUR=3)
    for day in DAYS[:3]:
        r = _upload(server, "qa", make_day("qa", day))
        assert r.status_code == 202, r.text
    r = _upload(server, "qa", make_day("qa", DAYS[3]))
    assert r.status_code == 429, r.text
    body = r.json()
    assert body["error"] == "too_many_uploads" and "3 uploads an hour" in body["reason"], body
    # One upload comes back every 20 minutes.
    assert 1100 <= int(r.headers["Retry-After"]) <= 1200, r.headers["Retry-After"]
    # The seed's route shares the allowance; another meter has its own; reads go on.
    assert _upload(server, "qa", make_day("qa", DAYS[4]), "/update").status_code == 429
    assert _upload(server, "qb", make_day("qb", DAYS[0])).status_code == 202
    wait_for(lambda: server.get("/api/v1/meters/qa").json()["days_stored"] == 3)
    assert len(server.get("/api/v1/meters/qa/days").json()["items"]) == 3
    quota = server.get("/api/v1/meters/qa/quota").json()
    assert quota["uploads"]["per_hour"] == 3 and quota["uploads"]["left"] < 1, quota


def test_uploads_past_a_meters_hourly_bytes_are_429_and_one_too_big_is_413(make_tempest,
                                                                            tmp_path):
    size = len(make_day("qa", DAYS[0]))
    allowance = int(size * 2.5)
    server = _serve(make_tempest, tmp_path, METER_UPLOAD_BYTES_PER_HOUR=allowance)
    for day in DAYS[:2]:
        assert _upload(server, "qa", make_day("qa", day)).status_code == 202
    r = _upload(server, "qa", make_day("qa", DAYS[2]))
    assert r.status_code == 429, r.text
    assert r.json()["error"] == "too_many_bytes" and f"{allowance} bytes an hour" in r.json()[
        "reason"]
    # Half a file back at 2.5 files an hour: 720 s, or a second more when int() above took half
    # a byte off the allowance (then the deficit is a little over half a file, rounded up).
    missing = 3 * size - allowance
    assert 0 < int(r.headers["Retry-After"]) <= math.ceil(missing * 3600 / allowance)
    # A file larger than the whole hourly allowance would never fit: 413, no use retrying.
    big = make_day("qa", DAYS[5], interval=1)
    assert len(big) > allowance
    r = _upload(server, "qa", big)
    assert r.status_code == 413 and r.json()["error"] == "too_large", r.text
    assert "Retry-After" not in r.headers
    assert _upload(server, "qb", make_day("qb", DAYS[0])).status_code == 202


def test_a_meters_quarantine_is_capped_and_what_is_beyond_is_dropped_and_counted(
        make_tempest, tmp_path):
    size = len(_bad("qa", DAYS[0]))
    server = _serve(make_tempest, tmp_path, METER_QUARANTINE_BYTES=int(size * 2.5))
    kept = [_upload(server, "qa", _bad("qa", day)) for day in DAYS[:2]]
    assert [r.status_code for r in kept] == [422, 422] and all(r.json()["id"] for r in kept)
    # Beyond the allowance the meter is still told why its file is bad, but it is not kept.
    r = _upload(server, "qa", _bad("qa", DAYS[2]))
    assert r.status_code == 422 and r.json()["field"] == "interval", r.text
    assert r.json()["quarantined"] is False and "id" not in r.json()
    assert "quarantine" in r.json()["note"] and str(int(size * 2.5)) in r.json()["note"]
    # The same through the meter's drop folder: the bad files are dropped, never kept.
    folder = server.data_dir / "drop" / "qa"
    for day in DAYS[3:5]:
        dropbox.write_atomic(folder, f"qa_{day}.json", _bad("qa", day), durable=False)
    wait_for(lambda: server.get("/api/v1/meters/qa/quota").json()["dropped"]["files"] == 3,
             what="three files dropped")
    # The count is committed before the worker's mover removes the files (in the background,
    # after the batch's transaction): wait for the removal rather than race it.
    assert wait_for(lambda: list(folder.iterdir()) == [], timeout=30,
                    what="the dropped files removed from the drop folder")
    qa = [q for q in _quarantine(server) if q["serial"] == "qa"]
    assert len(qa) == 2 and sum(q["size"] for q in qa) <= size * 2.5
    on_disk = [p for p in (server.data_dir / "quarantine").iterdir()
               if not p.name.endswith(".reason.json")]
    assert len(on_disk) == 2
    quota = server.get("/api/v1/meters/qa/quota").json()
    assert quota["dropped"]["bytes"] == 3 * size and quota["quarantine"]["bytes"] == 2 * size
    assert "quarantine" in quota["dropped"]["last_reason"]
    log = server.get("/api/v1/ingest-log?serial=qa&event=dropped").json()["items"]
    assert log and "dropped" in log[-1]["message"] and "1 file" in log[-1]["message"], log
    # Another meter's bad file is still quarantined: it has an allowance of its own.
    r = _upload(server, "qb", _bad("qb", DAYS[0]))
    assert r.status_code == 422 and r.json()["id"]


def test_a_meters_drop_folder_over_its_quota_is_quarantined_with_the_reason(make_tempest,
                                                                            tmp_path):
    size = len(make_day("qa", DAYS[0]))

    def fill(data):
        # Waiting while Tempest was down: three files for qa (over its quota), one for qb.
        for day in DAYS[:3]:
            dropbox.write_atomic(data / "drop" / "qa", f"qa_{day}.json", make_day("qa", day),
                                 durable=False)
        dropbox.write_atomic(data / "drop" / "qb", f"qb_{DAYS[0]}.json",
                             make_day("qb", DAYS[0]), durable=False)

    server = _serve(make_tempest, tmp_path, fill, METER_DROP_BYTES=2 * size)
    wait_for(lambda: len(_quarantine(server)) == 3, what="qa's three files quarantined")
    for q in _quarantine(server):
        assert q["serial"] == "qa" and q["field"] == "", q
        assert "drop folder" in q["reason"] and f"{2 * size}-byte" in q["reason"], q["reason"]
        # The row commits first; the file and its reason follow (after the commit, durably).
        held = server.data_dir / "quarantine" / (q["file"] + ".reason.json")
        wait_for(held.is_file, what="the reason file")
        reason = json.loads(held.read_text())
        assert reason["reason"] == q["reason"]
    wait_for(lambda: server.get("/api/v1/meters/qb").json()["days_stored"] == 1)
    assert server.get("/api/v1/meters/qa").json()["days_stored"] == 0


def test_below_the_disk_reserve_uploads_are_507_and_reads_go_on(make_tempest, tmp_path):
    server = _serve(make_tempest, tmp_path, DISK_RESERVE_BYTES=1 << 50)
    for route in ("/api/v1/days", "/update"):
        r = _upload(server, "qa", make_day("qa", DAYS[0]), route)
        assert r.status_code == 507, r.text
        assert r.json()["error"] == "insufficient_storage"
        assert "reserve" in r.json()["reason"] and int(r.headers["Retry-After"]) > 0
    assert list((server.data_dir / "drop").iterdir()) == []
    assert server.get("/api/v1/meters/qa").status_code == 200
    assert server.get("/api/v1/health").status_code == 200
    assert server.get("/api/v1/meters/qa/days").json()["items"] == []
