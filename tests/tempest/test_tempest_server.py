"""A real `tempest serve` process: HTTP on loopback, the real watchdog, real folders.

Includes the crash test: `kill -9` at random moments while it ingests 1,000 files, several
times over, then a restart; every file must end in exactly one of archive/ or quarantine/,
with exact counts in the store and nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from core import civil
from tempest import create_app, names
from tempest.db import connect, transaction
from tempest.ingest import dropbox
from tests.support import REPO
from tests.support.tempest import store_config, store_of
from tests.support.waiting import wait_for
from tests.tempest.tempest_testdata import expected_values, flat_payload, issue_key, make_day, seed_payload


def cli(data: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tempest", *args, "--data-dir", str(data)],
                          capture_output=True, text=True, cwd=REPO, timeout=60, input=input)


def add_meter(data: Path, serial: str, *extra: str) -> str:
    r = cli(data, "meters", "add", serial, *extra)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.fixture
def server(make_tempest, tmp_path):
    data = tmp_path / "data"
    create_app({"DATA_DIR": str(data), **store_config()})  # the store, so keys can be issued before the start
    conn = connect(store_of(data))
    keys = {"kili": issue_key(conn, "kili"),
            "seedy": issue_key(conn, "seedy", "Pacific/Auckland")}
    conn.close()
    proc = make_tempest(data).start()
    proc.keys = keys
    return proc


def ingest_status(server, body, key):
    return server.get(body["status_url"], headers={"x-api-key": key}).json()["status"]


def test_upload_over_http_is_ingested_and_served(server):
    key = server.keys["kili"]
    data = make_day("kili", "2023-05-26", missing=(7,))
    r = server.post("/api/v1/days", data=data, headers={"x-api-key": key})
    assert r.status_code == 202, r.text
    body = r.json()
    wait_for(lambda: ingest_status(server, body, key) == "stored")
    day = server.get("/api/v1/meters/kili/days/2023-05-26").json()
    want = expected_values("kili", "2023-05-26", missing=(7,))
    assert day["channels"]["Sub2"]["values"] == [None if v is None else v / 1000
                                                 for v in want["Sub2"]]
    assert day["quality"][7] == "missing" and day["recorded"] == 287
    assert server.get("/api/v1/meters/kili/days/2023-05-26/file").content == data
    assert (server.data_dir / "archive/kili").is_dir()


def test_a_days_file_is_served_even_while_its_archive_copy_is_being_made(server):
    """The day becomes visible at the commit; its archive copy follows (ingest/mover.py). A
    client reading a day, then its file, must not be told it is missing in that gap."""
    key = server.keys["kili"]
    data = make_day("kili", "2023-05-27")
    r = server.post("/api/v1/days", data=data, headers={"x-api-key": key})
    assert r.status_code == 202, r.text
    wait_for(lambda: ingest_status(server, r.json(), key) == "stored")
    url = "/api/v1/meters/kili/days/2023-05-27/file"
    conn = connect(store_of(server.data_dir))
    try:
        (rel,) = conn.execute("SELECT path FROM files WHERE id = ?", (r.json()["id"],)).fetchone()
        copy, aside = server.data_dir / rel, server.data_dir / "aside.json"
        # The copy arrives while the request waits for it: served.
        copy.rename(aside)
        threading.Timer(0.5, aside.rename, (copy,)).start()
        got = server.get(url)
        assert got.status_code == 200 and got.content == data
        # It never arrives: 503 with a reason and a Retry-After, not a 404.
        copy.rename(aside)
        got = server.get(url)
        assert got.status_code == 503 and got.headers["Retry-After"] == "1", got.text
        assert got.json()["error"] == "not_yet" and "a moment ago" in got.json()["reason"]
        # Stored an hour ago and missing: gone (pruned or removed by hand), 404 at once.
        with transaction(conn):
            conn.execute("UPDATE files SET ingested_at = ingested_at - 3600 WHERE id = ?",
                         (r.json()["id"],))
        started = time.monotonic()
        got = server.get(url)
        assert got.status_code == 404 and "any more" in got.json()["reason"], got.text
        assert time.monotonic() - started < 1.5
        aside.rename(copy)
        assert server.get(url).content == data
    finally:
        conn.close()


def test_bad_input_over_http(server):
    key = server.keys["kili"]
    assert server.post("/api/v1/days", data=b"{}").status_code == 401
    r = server.post("/api/v1/days", data=make_day("seedy", "2023-05-26"),
                    headers={"x-api-key": key})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    r = server.post("/api/v1/days", data=b"x" * (3 * 1024 * 1024), headers={"x-api-key": key})
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    bad = make_day("kili", "2023-05-26").replace(b'"interval": 5', b'"interval": 7')
    r = server.post("/api/v1/days", data=bad, headers={"x-api-key": key})
    assert r.status_code == 422 and r.json()["field"] == "interval" and r.json()["line"] == 1
    q = server.get(f"/api/v1/quarantine/{r.json()['id']}").json()
    assert q["present"] and q["field"] == "interval"
    reason = server.data_dir / "quarantine" / (q["file"] + ".reason.json")
    assert json.loads(reason.read_text())["reason"] == r.json()["reason"]


def test_seed_era_meter_works_unchanged_once_it_has_a_key(server):
    key = server.keys["seedy"]
    h = {"x-api-key": key}
    hb = {"serial": "seedy", "ip": "192.168.86.40", "timestamp": "2023-05-26T10:05:00+12:00"}
    assert server.post("/heartbeat", json=hb, headers=h).json()["status"] == "ok"
    # Every tick the seed posted its open day, then the whole day at rollover.
    seed = json.loads(seed_payload("seedy", "2023-05-26"))
    partial = {**seed, "datastreams": {c: dict(list(s.items())[:100])
                                       for c, s in seed["datastreams"].items()}}
    first = server.post("/update", json=partial, headers=h)
    assert first.status_code == 202
    wait_for(lambda: ingest_status(server, first.json(), key) == "stored")
    full = server.post("/update", data=seed_payload("seedy", "2023-05-26"), headers=h)
    wait_for(lambda: ingest_status(server, full.json(), key) == "replaced")
    flat = server.post("/update", data=flat_payload("seedy", "2023-04-02"), headers=h)
    wait_for(lambda: ingest_status(server, flat.json(), key) == "stored")
    meters = {m["serialNumber"]: m for m in server.get("/meters").json()}
    assert meters["seedy"]["countOfFilesAvailable"] == 2 and meters["seedy"]["elapsedSeconds"] < 60
    assert server.get("/heartbeats").json()[0]["serialNumber"] == "seedy"
    points = server.get("/meter?serial=seedy&day=2023-05-26").json()
    assert len(points) == 288 and points[0]["timestamp"] == "2023-05-26T00:05:00+12:00"
    assert points[0]["value"] == seed["datastreams"]["Total"]["2023-05-26T00:05:00+12:00"]
    # The flat file's naive times were placed in the zone Tempest was told (a 25-hour day).
    days = {d["day"]: d for d in server.get("/api/v1/meters/seedy/days").json()["items"]}
    assert days["2023-04-02"]["expected"] == 25 and days["2023-04-02"]["status"] == "open"
    status = server.get("/status").json()
    assert status["activeMeters"] == 1 and status["availablePayloads"] == 2
    assert server.get("/", headers={"Origin": "x"}).headers["Access-Control-Allow-Origin"] == "*"


def test_drop_folder_delivery_rsync_style(server):
    drop = server.data_dir / "drop"
    for d in ("2023-05-01", "2023-05-02"):
        tmp = drop / f".kili_{d}.json.Xy12Ab"
        tmp.write_bytes(make_day("kili", d))
        tmp.rename(drop / f"kili_{d}.json")
    (drop / "half-written.json.part").write_bytes(b"{")  # never read
    wait_for(lambda: server.get("/api/v1/meters/kili").json()["days_stored"] == 2)
    files = server.get("/api/v1/meters/kili/files").json()["items"]
    assert {f["source"] for f in files} == {"rsync"}
    assert (drop / "half-written.json.part").exists()
    assert server.get("/api/v1/health").json()["ingest"]["running"] is True


def test_sigterm_stops_cleanly_and_a_restart_serves_the_same_data(server):
    key = server.keys["kili"]
    r = server.post("/api/v1/days", data=make_day("kili", "2023-05-26"),
                    headers={"x-api-key": key})
    wait_for(lambda: ingest_status(server, r.json(), key) == "stored")
    server.stop()
    assert server.proc.returncode == 0
    server.start()
    assert server.get("/api/v1/meters/kili").json()["days_stored"] == 1


# -- the crash test ---------------------------------------------------------------------------

def _delivery_set(rng: random.Random) -> tuple[list[tuple[str, bytes]], dict]:
    """1,000 files: sealed days, open versions of some, byte-identical duplicates, bad ones."""
    small = {"interval": 60, "channels": 1}
    files: list[tuple[str, bytes]] = []
    sealed: dict[tuple[str, str], bytes] = {}
    for m in range(40):
        for d in range(22):
            serial, day = f"m{m:02d}", f"2023-06-{d + 1:02d}"
            sealed[(serial, day)] = make_day(serial, day, **small)
            files.append((f"{serial}_{day}.json", sealed[(serial, day)]))
    keys = sorted(sealed)
    for serial, day in rng.sample(keys, 60):
        files.append((f"{serial}_{day}.open.json", make_day(serial, day, status="open", upto=10,
                                                            **small)))
    for i, (serial, day) in enumerate(rng.sample(keys, 30)):
        files.append((f"dup{i}_{serial}_{day}.json", sealed[(serial, day)]))
    for i in range(30):
        files.append((f"bad{i}.json", b'{"serial": "m00", "reading_day": "2023-06-01", '
                                      b'"x": ' + str(i).encode() + b"}"))
    rng.shuffle(files)
    assert len(files) == 1000
    return files, sealed


def _db_files(data: Path) -> int:
    conn = connect(store_of(data))
    try:
        return conn.execute("SELECT count(*) FROM files").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.slow
def test_kill_9_at_random_moments_while_ingesting_1000_files(make_tempest, tmp_path):
    rng = random.Random(4)
    data = tmp_path / "data"
    drop = data / "drop"
    files, sealed = _delivery_set(rng)
    for name, content in files[:500]:
        dropbox.write_atomic(drop, name, content, durable=False)
    # The rest arrives while Tempest runs, is killed and restarts.
    late = files[500:]

    def deliver():
        for name, content in late:
            dropbox.write_atomic(drop, name, content, durable=False)
            time.sleep(0.004)

    # Meanwhile a meter uploads 40 days over HTTP, retrying whatever got no answer, as a
    # meter does. Every upload answered 202 must end up stored.
    key = add_meter(data, "up")
    add_meter(data, *sorted({serial for serial, _ in sealed}))  # ingest takes known meters only
    acked: list[str] = []
    proc = make_tempest(data, TEMPEST_INGEST_BATCH=8, TEMPEST_RESCAN_SECONDS=1)

    errors: list[BaseException] = []

    def upload():
        try:
            _upload()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def _upload():
        first = civil.parse_day("2023-07-01")
        for d in range(40):
            body = make_day("up", civil.format_day(first + d), interval=60, channels=1)
            while not give_up.is_set():
                try:
                    r = requests.post(proc.url + "/api/v1/days", data=body, timeout=2,
                                      headers={"x-api-key": key})
                except requests.RequestException:
                    time.sleep(0.02)
                    continue
                assert r.status_code == 202, r.text
                acked.append(r.json()["id"])
                break
            time.sleep(0.01)

    give_up = threading.Event()  # if the test fails, the uploader must not retry forever
    writer = threading.Thread(target=deliver, daemon=True)
    uploader = threading.Thread(target=upload, daemon=True)
    progress = []
    try:
        for round_ in range(6):
            proc.start()
            if round_ == 0:
                writer.start()
                uploader.start()
            # Kill mid-ingest however fast this machine is: once this run has committed
            # something, at a random moment after.
            before = _db_files(data)
            wait_for(lambda b=before: _db_files(data) > b or dropbox.pending(drop) == 0,
                     timeout=30, interval=0.01)
            time.sleep(rng.uniform(0.0, 0.4))
            proc.kill9()
            progress.append(_db_files(data))
        writer.join()
        proc.start()
        uploader.join(60)
        assert not errors, errors
        wait_for(lambda: _db_files(data) >= 1040 and dropbox.pending(drop) == 0, timeout=60)
        proc.stop()
    finally:
        give_up.set()
    assert proc.proc.returncode == 0
    # The kills landed mid-ingest: the store grew between them and was not done.
    assert progress[0] < 1000 and len(set(progress)) > 2, progress

    # Every delivered file is in exactly one of archive/ or quarantine/.
    archived = {p.name: p.read_bytes() for p in (data / "archive").rglob("*.json")
                if p.parent.name != "up"}
    quarantined = {p.name: p.read_bytes() for p in (data / "quarantine").iterdir()
                   if not p.name.startswith(".") and not p.name.endswith(".reason.json")}
    reasons = [p for p in (data / "quarantine").iterdir() if p.name.endswith(".reason.json")]
    assert [p.name for p in drop.iterdir() if not p.name.startswith(".")] == []
    good_contents = set()
    for name, content in files:
        digest = hashlib.sha256(content).hexdigest()
        qname = names.quarantine_name(name, names.derived_id(name, digest))
        doc = json.loads(content)
        in_archive = content in archived.values() and (
            names.archive_name(doc["serial"], doc["reading_day"], digest) in archived)
        in_quarantine = quarantined.get(qname) == content
        assert in_archive != in_quarantine, name
        assert in_quarantine == name.startswith("bad")
        if in_archive:
            good_contents.add(content)
    assert len(archived) == len(good_contents) == 940  # duplicates collapse to one copy
    assert len(quarantined) == len(reasons) == 30

    conn = connect(store_of(data))
    uploads = {r["id"]: r["outcome"] for r in conn.execute(
        "SELECT id, outcome FROM files WHERE source = 'upload'")}
    assert set(acked) <= set(uploads) and len(acked) == 40
    assert set(uploads.values()) <= {"stored", "unchanged"}
    assert conn.execute("SELECT count(*) FROM days WHERE serial = 'up'").fetchone()[0] == 40
    conn.execute("DELETE FROM files WHERE source = 'upload'")  # the rest is the 1,000
    conn.execute("DELETE FROM ingest_log WHERE serial = 'up'")
    conn.execute("DELETE FROM days WHERE serial = 'up'")
    conn.execute("DELETE FROM readings WHERE serial = 'up'")
    conn.execute("DELETE FROM meters WHERE serial = 'up'")
    one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    assert one("SELECT count(*) FROM files") == 1000
    assert one("SELECT count(DISTINCT id) FROM files") == 1000
    assert one("SELECT count(*) FROM days") == 880
    assert one("SELECT count(*) FROM readings") == 880
    assert one("SELECT count(*) FROM quarantine") == 30
    assert one("SELECT count(*) FROM ingest_log") == 1000
    assert one("SELECT sum(days_stored) FROM meters") == 880
    assert one("SELECT sum(files_archived) FROM meters") == 970
    outcomes = dict(conn.execute("SELECT outcome, count(*) FROM files GROUP BY outcome"))
    assert outcomes["unchanged"] == 30 and outcomes["quarantined"] == 30
    assert outcomes["stored"] + outcomes["replaced"] + outcomes.get("kept", 0) == 940
    for row in conn.execute("SELECT serial, reading_day, hash, status FROM days"):
        want = hashlib.sha256(sealed[(row["serial"], row["reading_day"])]).hexdigest()
        assert (row["hash"], row["status"]) == (want, "sealed")
    conn.close()


def test_a_second_server_on_a_busy_port_says_so(server, tmp_path):
    r = subprocess.run([sys.executable, "-m", "tempest", "serve", "--data-dir",
                        str(tmp_path / "other"), "--host", server.host, "--port",
                        str(server.port)], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.returncode == 1 and "in use" in r.stderr


def test_ingest_watch_runs_beside_a_web_only_server(make_tempest, tmp_path):
    """The production split: web without ingest, and one `tempest ingest --watch`."""
    data = tmp_path / "data"
    key = add_meter(data, "kili")
    log = open(tmp_path / "ingest.log", "wb")  # noqa: SIM115
    web = make_tempest(data, ingest=False)
    worker = subprocess.Popen([sys.executable, "-m", "tempest", "ingest", "--watch",
                               "--data-dir", str(data)], stdout=log, stderr=log, cwd=REPO,
                              env=web.env)
    try:
        web.start()
        r = web.post("/api/v1/days", data=make_day("kili", "2023-05-26"),
                     headers={"x-api-key": key})
        wait_for(lambda: ingest_status(web, r.json(), key) == "stored")
        assert web.get("/api/v1/health").json()["ingest"]["running"] is True
        # a second worker on the same data dir refuses to start
        second = cli(data, "ingest", "--watch")
        assert second.returncode == 1 and "another ingest worker" in second.stderr
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(15) == 0
        log.close()
    assert web.get("/api/v1/health").json()["ingest"]["running"] is False
