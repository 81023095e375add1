"""The seed's last Pico firmware posts to `{tempest_url}/heartbeats` and `/updates`: plural, and
with two slashes. A MicroPython program that does what docs/seed.md says the firmware did
(tests/seed/mp/seed_pico.py) runs on the real unix-port interpreter (tests/pico_harness, fast
clock) against a real `tempest serve`; Tempest must store its day and record its heartbeats.
Behind gunicorn the two slashes reach the app itself; raw requests check both forms there."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

from tests.pico import picotest
from tests.pico_harness import runner
from tests.seed.seedfleet import SEED_KILI_PICO
from tests.support.tempest import Tempest
from tests.support.waiting import wait_for

KEY = "seed-pico-own-key-0123456789"
SERIAL = SEED_KILI_PICO["serial"]
DAY = "2023-05-26"
PROGRAM = Path(__file__).parent / "mp" / "seed_pico.py"


def seed_flash(flash: Path, tempest_url: str, days: int = 1) -> dict:
    """The firmware with a seed Pico's config (its key now its own), Wi-Fi secrets, and the
    test's run.json."""
    cfg = {**SEED_KILI_PICO, "tempest_url": tempest_url, "tempest_api_key": KEY,
           "missing_data": 0, "interval_min": 15}  # 96 ticks a day: quicker than 288
    flash.mkdir()
    (flash / "main.py").write_text(PROGRAM.read_text())
    (flash / "config.json").write_text(json.dumps(cfg))
    (flash / "secrets.py").write_text(f"SSID = {picotest.SSID!r}\n"
                                      f"PASSWORD = {picotest.PASSWORD!r}\n")
    (flash / "run.json").write_text(json.dumps({"days": days, "heartbeat_s": 3600, "seed": 7}))
    return cfg


def test_the_seed_pico_firmware_delivers_its_day_and_heartbeats(tmp_path, make_tempest):
    picotest.require("micropython")
    tempest = make_tempest()
    tempest.add_meter(SERIAL, KEY)
    tempest.start()
    flash = tmp_path / "flash"
    cfg = seed_flash(flash, tempest.url + "/")  # the seed's tempest_url ends with a slash
    # Local midnight at +12:00, as the seed's clock counts it: a whole day in a few seconds.
    # The heap is not under test here (tests/pico does that for Meters' own program).
    res = runner.run(flash, heap="4M", timeout=300,
                     control=picotest.fast("2023-05-25T12:00:00"))
    assert res.ok, res.output[-3000:]
    stats = json.loads(res.stdout.strip().splitlines()[-1])
    # 96 partial uploads (one after each tick) and the finished day once more, a heartbeat an
    # hour: every one taken (202 queued, 200 ok), none refused or redirected.
    beats_sent = stats["heartbeats"]
    assert 24 <= beats_sent <= 25
    assert stats["statuses"] == {"/updates 202": 97, "/heartbeats 200": beats_sent}, stats

    # Every upload ingested (one file record each), then the day as stored.
    wait_for(lambda: len(tempest.files(SERIAL)) == 97, 120, what="97 uploads ingested")
    day = tempest.days(SERIAL)[DAY]
    assert (day["status"], day["recorded"], day["expected"]) == ("sealed", 96, 96)
    assert day["timezone"] == "UTC+12:00" and set(day["channels"]) == set(cfg["channels"])
    sent = (flash / "sent" / f"{SERIAL}_{DAY}.json").read_bytes()
    # The stored day is the finished day as the firmware sent it, byte for byte, but for the
    # firmware's own key in metadata.config, never served (docs/security.md, stored files).
    r = tempest.get(f"payload?serial={SERIAL}&day={DAY}")
    assert r.status_code == 200 and KEY.encode() in sent and KEY.encode() not in r.content
    assert r.content.replace(b'"***"', json.dumps(KEY).encode()) == sent
    files = tempest.files(SERIAL)
    assert len(files) == 97 and {f["source"] for f in files} == {"upload"}
    beats = tempest.heartbeats(SERIAL)
    assert len(beats) == beats_sent
    assert beats[-1]["timestamp"] == "2023-05-26T00:15:00+12:00"  # the oldest: the first tick
    assert all(b["ip"] and b["timestamp"].endswith("+12:00") for b in beats)
    seen = tempest.get("heartbeats").json()
    assert [h["serialNumber"] for h in seen] == [SERIAL]


def _raw_post(tempest: Tempest, path: str, body: dict, key: str) -> tuple[int, dict]:
    """POST `path` exactly as written (http.client keeps `//`), as MicroPython's requests do."""
    conn = http.client.HTTPConnection(tempest.host, tempest.port, timeout=30)
    try:
        conn.request("POST", path, body=json.dumps(body),
                     headers={"x-api-key": key, "Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()


def test_both_slash_forms_of_the_seed_routes_behind_gunicorn(make_tempest):
    """gunicorn hands the app `//heartbeats` as it came (werkzeug's own server makes it
    `/heartbeats`): every form answers as the singular route does, with the same checks."""
    from tests.tempest.tempest_testdata import seed_payload

    tempest = make_tempest(gunicorn_workers=1)
    tempest.add_meter(SERIAL, KEY)
    tempest.add_meter("other-meter", "other-meter-key-0123456789")
    tempest.start()
    beat = {"serial": SERIAL, "ip": "192.168.86.40", "timestamp": "2023-05-26T10:05:00+12:00"}
    day = json.loads(seed_payload(SERIAL, DAY))
    for path in ("/heartbeat", "/heartbeats", "//heartbeat", "//heartbeats"):
        status, doc = _raw_post(tempest, path, beat, KEY)
        assert (status, doc["status"]) == (200, "ok"), (path, status, doc)
        status, doc = _raw_post(tempest, path, beat, "other-meter-key-0123456789")
        assert (status, doc["error"]) == (403, "forbidden"), path  # a key writes its own only
        status, doc = _raw_post(tempest, path, beat, "12345")
        assert status == 401 and "migrate-from-seed" in doc["reason"], path
    for path in ("/update", "/updates", "//update", "//updates"):
        status, doc = _raw_post(tempest, path, day, KEY)
        assert (status, doc["status"], doc["reading_day"]) == (202, "queued", DAY), (path, doc)
        status, doc = _raw_post(tempest, path, {**day, "reading_day": "2023-13-40"}, KEY)
        assert (status, doc["error"]) == (422, "invalid_day_file"), path
    assert len(tempest.heartbeats(SERIAL)) == 4
    tempest.wait_days(SERIAL, [DAY])
