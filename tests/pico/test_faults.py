"""The real program (main.py) under faults: it recovers, reports, and loses no sealed day.

Each test powers on the program on real MicroPython with a fast clock (a simulated day takes
a second or two), breaks something (Tempest, Wi-Fi, NTP, the flash, a journal, a step that
hangs), mends it, and checks what reached a real Tempest against the Pi's own bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core import civil
from meter import daybuild, registers
from meter.config import from_dict
from tests.pico import picotest
from tests.pico.picotest import build_image, fast, pico_tempest
from tests.pico_harness import runner
from tests.support.addresses import free_address
from tests.support.waiting import wait_for


def wait(predicate, timeout: float, what: str):
    return wait_for(predicate, timeout, 0.2, what)


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
    # NTP fails 4 times first: until it answers, nothing may be recorded. Local midnight
    # (Berlin) is 15 minutes after the start.
    p = runner.start(flash, heap="256K", control=fast("2024-06-10T21:45:00", ntp={"fail": 4}))
    tempest = pico_tempest(tmp_path, address=(host, port))
    try:
        wait(lambda: len(sealed(flash)) >= 1, 60, "a sealed day with Tempest down")
        assert not list((flash / "sent").iterdir())
        p.control(wlan={"up": False})  # the access point goes away for a while
        wait(lambda: len([e for e in p.events() if e[1] == "wlan-connect"]) >= 5, 60,
             "reconnection attempts")
        p.control(wlan={"up": True})
        tempest.start()
        wait(lambda: len(tempest.days("pico-1")) >= 1, 60, "the backlog reaching Tempest")
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
    assert days[0] == "2024-06-10"
    want = pi_bytes(raw, days)
    for day in days:
        assert stored[day].decode() == want[day], day


def test_flash_full_then_room_again_loses_no_sealed_day(tmp_path):
    """A flash nearly full of delivered days and one undelivered day, Tempest down: sealing
    the next day hits ENOSPC. The program logs and reports it, makes room by pruning sent/
    (never the outbox), seals the day, and delivers both once Tempest is back."""
    picotest.require("micropython", "mpy-cross")
    host, port = free_address()
    raw = picotest.raw_config(url=f"http://{host}:{port}/", delivery={"backoff_max_s": 120})
    earlier = pi_bytes(raw, ["2024-06-09"])["2024-06-09"]
    tempest = pico_tempest(tmp_path, address=(host, port))
    try:
        with runner.limited_flash(tmp_path / "flash", 320) as flash:
            build_image(flash, raw, options={"heartbeat_s": 600, "sent_keep": 1})
            for folder in ("outbox", "sent", "data", "held", "rejected"):
                (flash / folder).mkdir()
            (flash / "outbox" / "pico-1_2024-06-09.json").write_text(earlier)
            # Delivered days fill the rest but about 24 KiB: room for the journal, not a day.
            k = 1
            while True:
                st = os.statvfs(flash)
                room = st.f_bavail * st.f_frsize - 24 * 1024
                if room <= 0:
                    break
                (flash / "sent" / f"pico-1_2024-05-{k:02d}.json").write_bytes(
                    b"x" * min(room, 40 * 1024))
                k += 1
            p = runner.start(flash, heap="256K", control=fast("2024-06-10T21:40:00"))
            try:
                wait(lambda: (flash / "crash.log").exists()
                     and "flash full" in (flash / "crash.log").read_text(), 60, "a full flash")
                tempest.start()
                wait(lambda: len(tempest.days("pico-1")) >= 2, 90, "both days in Tempest")
                beats = wait(lambda: tempest.heartbeats("pico-1"), 30, "a heartbeat")
            finally:
                p.stop()
                res = p.wait()
            stored = sorted(tempest.days("pico-1"))
            files = {d: tempest.day_file("pico-1", d) for d in stored}
            # The log rotates past 8 KiB (crash.log.1 holds the older half): the repeated
            # records of a flash that stays full for a while can fill it.
            log = "".join((flash / name).read_text() for name in ("crash.log.1", "crash.log")
                          if (flash / name).exists())
    finally:
        tempest.stop()
    assert stored == ["2024-06-09", "2024-06-10"]
    assert files["2024-06-09"].decode() == earlier
    assert files["2024-06-10"].decode() == pi_bytes(raw, ["2024-06-10"])["2024-06-10"]
    assert "ENOSPC" in log and "Traceback" in log and "flash full: removed" in log
    assert any("ENOSPC" in (b.get("last_error") or "") for b in beats), beats[:3]
    assert not res.kinds("wdt-expired")


def _open_day_with_ticks(flash: Path) -> bool:
    for journal in (flash / "data").glob("*.journal") if (flash / "data").exists() else []:
        try:
            if journal.read_text().count("\n") >= 2:
                return True
        except FileNotFoundError:  # sealed between the listing and the read
            pass
    return False


def test_a_corrupt_journal_is_logged_set_aside_and_the_day_rebuilt(tmp_path):
    picotest.require("micropython", "mpy-cross")
    raw = picotest.raw_config()
    flash = tmp_path / "flash"
    build_image(flash, raw)
    # Two hours before local midnight: the garbled journal is most likely still this day's.
    p = runner.start(flash, heap="256K", control=fast("2024-06-10T20:00:00"))
    try:
        # The power is cut the moment an open day has ticks in it. Not a fixed while later: the
        # fast clock runs through a day in a fraction of a second, and a cut just after a
        # seal, before the next day's first tick, leaves no journal at all.
        wait_for(lambda: _open_day_with_ticks(flash), 30, 0.01, "an open day with ticks")
    finally:
        p.stop()  # a power cut
        p.wait()
    journal = next((flash / "data").glob("*.journal"))
    garbled_day = journal.name.removesuffix(".journal")
    text = journal.read_text().splitlines(keepends=True)
    journal.write_text("H garbled by a flash fault\n" + "".join(text[1:]))
    tempest = pico_tempest(tmp_path).start()
    try:
        # The config points at the real Tempest now (a redeploy would do the same).
        build_image(flash, dict(raw, tempest_url=tempest.url + "/"))
        p = runner.start(flash, heap="256K", power_on=False,
                         control=fast("2024-06-10T20:00:00"))
        try:
            # Under load the first run may have sealed an earlier day already: wait for the
            # garbled day itself, which only exists once its journal was set aside.
            wait(lambda: garbled_day in tempest.days("pico-1"), 90,
                 f"the rebuilt {garbled_day} in Tempest")
            wait(lambda: list((flash / "data").glob("*.journal.bad")), 30, "the set-aside journal")
            beats = wait(lambda: [b for b in tempest.heartbeats("pico-1")
                                  if "ValueError" in (b.get("last_error") or "")], 30,
                         "a heartbeat with the error")
        finally:
            p.stop()
            p.wait()
        day = garbled_day
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
    tempest = pico_tempest(tmp_path).start()
    try:
        flash = tmp_path / "flash"
        build_image(flash, picotest.raw_config(url=tempest.url + "/"), options={"heartbeat_s": 600})
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
