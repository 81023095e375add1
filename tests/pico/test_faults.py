"""The real program (main.py) under faults: it recovers, reports, and loses no sealed day.

Each test powers on the program on real MicroPython with a fast clock (a simulated day takes
a second or two), breaks something (Tempest, Wi-Fi, NTP, the flash, a journal, a step that
hangs), mends it, and checks what reached a real Tempest against the Pi's own bytes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from meter import daybuild, registers
from meter.config import from_dict
from meter.model import civil
from tests.pico import picotest
from tests.pico.picotest import Tempest, build_image, fast, free_address
from tests.pico_harness import runner


def wait(predicate, timeout=60.0, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        got = predicate()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def sealed(flash: Path) -> set[str]:
    days = set()
    for folder in ("outbox", "sent", "held"):
        for p in (flash / folder).glob("pico-1_*.json") if (flash / folder).exists() else []:
            days.add(p.name[7:17])
    return days


def pi_bytes(raw: dict, days: list[str]) -> dict[str, str]:
    """The Pi's bytes for those days: the vectorised backfill, registers from commissioning."""
    cfg = from_dict(raw)
    first, last = civil.parse_day(days[0]), civil.parse_day(days[-1])
    return {civil.format_day(b.day): b.text
            for b in daybuild.build_days(cfg, first, last, registers.opening(cfg, first))}


def test_tempest_down_wifi_lost_ntp_failing_then_everything_arrives(tmp_path):
    picotest.require("micropython", "mpy-cross")
    host, port = free_address()
    url = f"http://{host}:{port}/"
    raw = picotest.raw_config(url=url, delivery={"backoff_max_s": 600})
    flash = tmp_path / "flash"
    build_image(flash, raw, options={"heartbeat_s": 300})
    # NTP fails 4 times first: until it answers, nothing may be recorded.
    p = runner.start(flash, heap="256K", control=fast("2024-06-10T21:30:00", ntp={"fail": 4}))
    tempest = Tempest(tmp_path)
    try:
        wait(lambda: len(sealed(flash)) >= 2, 90, "two sealed days with Tempest down")
        assert not list((flash / "sent").iterdir())
        p.control(wlan={"up": False})  # the access point goes away for a while
        wait(lambda: len([e for e in p.events() if e[1] == "wlan-connect"]) >= 5, 60,
             "reconnection attempts")
        p.control(wlan={"up": True})
        tempest.start(host, port)
        wait(lambda: len(tempest.days("pico-1")) >= 3, 120, "the backlog reaching Tempest")
        beats = wait(lambda: [b for b in tempest.heartbeats("pico-1")], 30, "a heartbeat")
        stored = {d: tempest.day_file("pico-1", d) for d in tempest.days("pico-1")}
    finally:
        p.stop()
        res = p.wait()
        tempest.stop()
    kinds = [k for _, k, _ in res.events]
    # No reading before the clock was set, and the clock was set only after NTP answered.
    assert kinds.count("ntp-fail") >= 4 and kinds.index("clock-set") > kinds.index("ntp-fail")
    assert not [p_ for p_ in flash.rglob("*") if "2021-" in p_.name or "2000-" in p_.name]
    # Wi-Fi: the link dropped, the retries backed off (growing gaps), then it came back.
    assert "wlan-down" in kinds and kinds.count("wlan-up") >= 2
    tries = [t for t, k, _ in res.events if k == "wlan-connect"][1:]
    gaps = [b - a for a, b in zip(tries, tries[1:], strict=False)]
    assert len(gaps) >= 3 and gaps[2] > gaps[0]
    assert not [e for e in res.events if e[1] == "wdt-expired"]
    assert beats[0]["kind"] == "pico" and beats[0]["reset_cause"] == "power-on"
    # The days sealed while Tempest was down all arrived, byte for byte the Pi's.
    days = sorted(stored)
    assert days[0] == "2024-06-10" and len(days) >= 3
    want = pi_bytes(raw, days)
    for day in days:
        assert stored[day].decode() == want[day], day


def test_flash_full_then_room_again_loses_no_sealed_day(tmp_path):
    picotest.require("micropython", "mpy-cross")
    host, port = free_address()
    raw = picotest.raw_config(url=f"http://{host}:{port}/", delivery={"backoff_max_s": 300})
    tempest = Tempest(tmp_path)
    try:
        with runner.limited_flash(tmp_path / "flash", 400) as flash:
            build_image(flash, raw, options={"heartbeat_s": 600, "sent_keep": 1})
            p = runner.start(flash, heap="256K", control=fast("2024-06-10T21:30:00"))
            try:
                # Tempest is down: sealed days pile up until no day file fits any more.
                def full():
                    st = os.statvfs(flash)
                    return st.f_bavail * st.f_frsize < 40 * 1024
                wait(full, 120, "a full flash")
                time.sleep(3)  # ticks now fail with ENOSPC for a while
                full_days = sorted(sealed(flash))
                tempest.start(host, port)
                wait(lambda: len(tempest.days("pico-1")) >= len(full_days) + 2, 150,
                     "the backlog and the days after it reaching Tempest")
                beats = tempest.heartbeats("pico-1")
            finally:
                p.stop()
                p.wait()
            stored = tempest.days("pico-1")
            files = {d: tempest.day_file("pico-1", d) for d in stored}
    finally:
        tempest.stop()
    assert full_days and set(full_days) <= set(stored)
    # The days are consecutive from the first (nothing lost while the flash was full), and each
    # is the Pi's bytes: the intervals missed while nothing could be written were recomputed.
    first = civil.parse_day(stored[0])
    assert stored == [civil.format_day(first + k) for k in range(len(stored))]
    want = pi_bytes(raw, stored)
    for day in stored:
        assert files[day].decode() == want[day], day
    # The full flash was reported: logged, and in the heartbeats once Tempest was back.
    assert any("ENOSPC" in (b.get("last_error") or "") for b in beats), beats[:3]


def test_a_corrupt_journal_is_logged_set_aside_and_the_day_rebuilt(tmp_path):
    picotest.require("micropython", "mpy-cross")
    raw = picotest.raw_config()
    flash = tmp_path / "flash"
    build_image(flash, raw)
    p = runner.start(flash, heap="256K", control=fast("2024-06-10T18:00:00"))
    try:
        wait(lambda: list((flash / "data").glob("*.journal")) if (flash / "data").exists()
             else [], 30, "an open day")
        time.sleep(0.5)
    finally:
        p.stop()  # a power cut
        p.wait()
    journal = next((flash / "data").glob("*.journal"))
    text = journal.read_text().splitlines(keepends=True)
    journal.write_text("H garbled by a flash fault\n" + "".join(text[1:]))
    tempest = Tempest(tmp_path)
    tempest.start()
    try:
        # The config points at the real Tempest now (a redeploy would do the same).
        build_image(flash, dict(raw, tempest_url=tempest.url))
        p = runner.start(flash, heap="256K", power_on=False,
                         control=fast("2024-06-10T18:00:00"))
        try:
            wait(lambda: tempest.days("pico-1"), 90, "the rebuilt day in Tempest")
            beats = wait(lambda: [b for b in tempest.heartbeats("pico-1")
                                  if "ValueError" in (b.get("last_error") or "")], 30,
                         "a heartbeat with the error")
        finally:
            p.stop()
            p.wait()
        day = tempest.days("pico-1")[0]
        stored = tempest.day_file("pico-1", day)
    finally:
        tempest.stop()
    log = (flash / "crash.log").read_text()
    assert "Traceback" in log and "ValueError" in log and "set aside data/" in log
    assert list((flash / "data").glob("*.journal.bad"))
    assert "tick: ValueError" in beats[0]["last_error"]
    assert stored.decode() == pi_bytes(raw, [day])[day]


@pytest.mark.parametrize("hang", [{"ntp": {"delay_ms": 20000}}], ids=["ntp-hangs"])
def test_a_hung_step_is_reset_by_the_watchdog_and_reported_on_the_next_boot(tmp_path, hang):
    picotest.require("micropython", "mpy-cross")
    tempest = Tempest(tmp_path).start()
    try:
        flash = tmp_path / "flash"
        build_image(flash, picotest.raw_config(url=tempest.url), options={"heartbeat_s": 600})
        res = runner.run(flash, heap="256K", timeout=60,
                         control=fast("2024-06-10T21:30:00", **hang))
        assert res.reset == "wdt", res.output[-2000:]
        assert res.kinds("wdt-expired")
        assert "ntp" in (flash / "hang.note").read_text()
        # The next boot, NTP mended: the reset and the hung step reach Tempest.
        p = runner.start(flash, heap="256K", power_on=False, control=fast("2024-06-10T21:30:00"))
        try:
            beats = wait(lambda: tempest.heartbeats("pico-1"), 30, "a heartbeat")
        finally:
            p.stop()
            p.wait()
    finally:
        tempest.stop()
    beat = beats[-1]
    assert beat["reset_cause"] == "watchdog"
    assert "watchdog reset" in beat["last_error"] and "'ntp'" in beat["last_error"]
    assert "boot after a watchdog reset" in (flash / "crash.log").read_text()
    assert not (flash / "hang.note").exists()
