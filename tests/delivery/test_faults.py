"""Faults on the way to Tempest: unreachable, slow, 5xx/429, wrong key, body too large, a
corrupt outbox file, kill -9 in the middle of an upload. In every case no file is lost, none
is sent twice as a different version, and every problem is logged with its reason."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from meter.delivery.upload import upload_pass
from tests.support import REPO
from tests.support.addresses import free_address
from tests.support.waiting import wait_for

from .helpers import seconds

T0 = "2024-03-05T10:00:00+13:00"
T1 = "2024-03-07T00:10:00+13:00"  # 05 and 06 are over
DAYS = ["2024-03-05", "2024-03-06"]


def _sealed(m):
    m.tick(T0)
    m.tick(T1)
    names = [f"{m.serial}_{d}.json" for d in DAYS]
    assert m.names("outbox") == names
    return names, {n: (m.root / "outbox" / n).read_bytes() for n in names}


def _closed_url() -> str:
    host, port = free_address()  # nothing listens there
    return f"http://{host}:{port}/"


def test_unreachable_tempest_keeps_files_and_backs_off(meter_for):
    m = meter_for(None, url=_closed_url())
    names, before = _sealed(m)

    r = m.cli("upload", at=T1)
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert out["sent"] == [] and out["pending"] == 2 and "cannot connect" in out["error"]
    assert m.names("outbox") == names
    retry = [e for e in m.events() if e["event"] == "retry"]
    assert len(retry) == 1 and retry[0]["file"] == names[0] and "refused" in retry[0]["reason"]

    # The next cron pass within the backoff makes no attempt at all...
    r = m.cli("upload", at="2024-03-07T00:10:20+13:00")
    assert r.exit_code == 0 and json.loads(r.stdout)["next_attempt"]
    assert len([e for e in m.events() if e["event"] == "retry"]) == 1
    # ...a pass after it does, and the wait grows (capped, jittered).
    state = json.loads((m.root / "delivery.json").read_text())
    first_wait = state["next_attempt"] - seconds(T1)
    assert 30 <= first_wait <= 60
    later = "2024-03-07T01:10:00+13:00"
    assert m.cli("upload", at=later).exit_code == 1
    state = json.loads((m.root / "delivery.json").read_text())
    assert state["failures"] == 2 and 60 <= state["next_attempt"] - seconds(later) <= 120
    assert {n: (m.root / "outbox" / n).read_bytes() for n in names} == before


def test_slow_tempest_times_out_then_the_resend_is_deduplicated(tempest, meter_for,
                                                                 proxy_factory):
    proxy = proxy_factory(tempest.url)
    m = meter_for(tempest, url=proxy.url, delivery={"timeout_s": 0.5})
    names, before = _sealed(m)
    proxy.set("delay", delay_s=3)

    t = time.monotonic()
    res = upload_pass(m.cfg, m.root, seconds(T1))
    assert time.monotonic() - t < 2.5
    assert not res.ok and "no answer within 0.5 s" in res.error
    assert m.names("outbox") == names  # not known to be delivered: kept
    # Tempest did get it (the answer was what was slow).
    tempest.wait_days(m.serial, [DAYS[0]])

    proxy.set("pass")
    res = upload_pass(m.cfg, m.root, seconds(T1), force=True)
    assert res.ok and res.sent == names
    stored = tempest.wait_days(m.serial, DAYS)

    def outcomes():
        files = tempest.files(m.serial)
        return files if len(files) == 3 and all(f["outcome"] for f in files) else None

    files = wait_for(outcomes)
    assert sorted(f["outcome"] for f in files if f["reading_day"] == DAYS[0]) == [
        "stored", "unchanged"]
    assert stored[DAYS[0]]["versions"] == 1
    assert tempest.day_file(m.serial, DAYS[0]) == before[names[0]]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_are_retried_later(tempest, meter_for, proxy_factory, status):
    proxy = proxy_factory(tempest.url)
    m = meter_for(tempest, url=proxy.url)
    names, _ = _sealed(m)
    proxy.set("status", status=status)

    res = upload_pass(m.cfg, m.root, seconds(T1))
    assert not res.ok and res.error.startswith(f"HTTP {status}")
    assert m.names("outbox") == names and m.names("rejected") == []
    assert len(proxy.requests()) == 1  # stopped at the first file: order is kept

    proxy.set("pass")
    assert upload_pass(m.cfg, m.root, seconds(T1), force=True).sent == names


def test_wrong_key_is_retried_not_rejected(tempest, meter_for):
    m = meter_for(tempest, key="not-the-key-0123456789abcdef")
    names, _ = _sealed(m)
    res = upload_pass(m.cfg, m.root, seconds(T1))
    assert not res.ok and res.error.startswith("HTTP 401") and "x-api-key" in res.error
    assert m.names("outbox") == names
    # The key arrives (Ansible rotates it in): the very same files go.
    m.update(tempest_api_key=tempest.add_meter(m.serial))
    assert upload_pass(m.cfg, m.root, seconds(T1), force=True).sent == names
    assert "not-the-key" not in (m.root / "delivery.log").read_text()


def test_a_file_tempest_will_never_take_goes_to_rejected_with_the_reason(make_tempest,
                                                                         meter_for):
    server = make_tempest(TEMPEST_MAX_CONTENT_LENGTH=4096).start()
    m = meter_for(server)
    names, before = _sealed(m)
    res = upload_pass(m.cfg, m.root, seconds(T1))
    assert res.ok and res.rejected == names and m.names("outbox") == []
    for n in names:
        assert (m.root / "rejected" / n).read_bytes() == before[n]
        reason = json.loads((m.root / "rejected" / (n + ".reason.json")).read_text())
        assert reason["status"] == 413 and reason["time"] and reason["body"]["error"]


def test_corrupt_outbox_files_are_set_aside_without_tempest(meter_for):
    m = meter_for(None, url=_closed_url())
    names, before = _sealed(m)
    outbox = m.root / "outbox"
    # A day file cut short (as if copied in by hand and interrupted), one of another meter,
    # and something that is not a day file at all. All sort before the good files.
    (outbox / f"{m.serial}_2024-03-01.json").write_bytes(before[names[0]][:5000])
    other = before[names[0]].replace(m.serial.encode(), b"someone-else")
    (outbox / f"{m.serial}_2024-03-02.json").write_bytes(other)
    (outbox / "notes.txt").write_text("hello")

    res = upload_pass(m.cfg, m.root, seconds(T1))

    bad = ["notes.txt", f"{m.serial}_2024-03-01.json", f"{m.serial}_2024-03-02.json"]
    assert sorted(res.rejected) == sorted(bad)
    assert m.names("outbox") == names  # the good ones wait for Tempest
    for n in bad:
        reason = json.loads((m.root / "rejected" / (n + ".reason.json")).read_text())
        assert reason["checked_by"] == "meter" and reason["reason"] and reason["status"] is None
    truncated = json.loads((m.root / "rejected" / (bad[1] + ".reason.json")).read_text())
    assert "JSON" in truncated["reason"] or truncated["line"]
    assert json.loads((m.root / "rejected" / (bad[2] + ".reason.json")).read_text())[
        "field"] == "serial"
    logged = {e["file"] for e in m.events() if e["event"] == "rejected"}
    assert logged == set(bad)


def test_kill_9_during_an_upload_loses_nothing_and_sends_no_other_version(
        tempest, meter_for, proxy_factory):
    proxy = proxy_factory(tempest.url)
    m = meter_for(tempest, url=proxy.url)
    names, before = _sealed(m)
    proxy.set("delay", delay_s=20)

    proc = subprocess.Popen(m.argv("upload", at=T1), cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: proxy.requests(), 20)
        tempest.wait_days(m.serial, [DAYS[0]])  # Tempest has it; the meter has no answer
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    assert m.names("outbox") == names and m.names("sent") == []
    assert [n for n in os.listdir(m.root / "outbox") if n.startswith(".")] == []

    proxy.set("pass")
    r = subprocess.run(m.argv("upload", at=T1), cwd=REPO, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert m.names("outbox") == [] and m.names("sent") == names
    stored = tempest.wait_days(m.serial, DAYS)
    for d, n in zip(DAYS, names, strict=True):
        assert (m.root / "sent" / n).read_bytes() == before[n]
        assert tempest.day_file(m.serial, d) == before[n]
    assert stored[DAYS[0]]["versions"] == 1
    hashes = {f["hash"] for f in tempest.files(m.serial) if f["reading_day"] == DAYS[0]}
    assert len(hashes) == 1  # sent twice, always the same bytes
