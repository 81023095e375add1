"""The Pico W program on real MicroPython: time per tick against CPython, and peak heap.

1. Time: the same load model (loadmodel/, compiled to .mpy) computes the same intervals
   under MicroPython and under CPython in this run, and the Pico's whole tick (model, journal
   append on its flash, sealing at midnight) is timed against the Pi's (meter.operations
   ticker on disk). The ratio is the interpreter's; an RP2040 at 125 MHz is slower again than
   this machine's MicroPython, by a factor this bench cannot measure.
2. Heap: a simulated month of 5-minute ticks, 4 channels, the whole program (boot, main loop,
   uploads and heartbeats to a real Tempest), with the live heap sampled at the main loop's
   fixed point; and the smallest heap cap with which two simulated days still run
   (runner.find_min_heap), which includes transient garbage and fragmentation. Twice: with
   the compiled modules as files on the flash (any firmware: an import copies the bytecode
   into the heap), then in a ROMFS image (a firmware built with a ROMFS partition runs the
   bytecode in place; on the unix port the harness reads the image into the heap before the
   program starts, so it counts with what was live before the program, as flash on a Pico).

Heap figures are those of the interpreter the run uses, whose word size the output names: the
dev extra's unix port is 64-bit (8-byte words, 32-byte GC blocks; a Pico W's are 4 and 16).
--micropython runs the bench with another build, e.g. a 32-bit build of the same unix port
(docs/pico.md says how to make one), whose objects are the size of the RP2040's; no figure is
ever derived by halving a 64-bit one. The
program's heap is the live heap less what was live just before the program was imported, in
the same run (the interpreter, the harness's boot code, the driver and the fakes of
machine/network/socket/ntptime, which are built into a Pico); the older way, less the fakes'
overhead measured in a run of their own (which leaves the harness's boot code and the driver
in), is printed beside it for comparison with earlier figures.
Usage: .venv/bin/python bench/bench_pico.py [--days 30] [--no-min-heap] [--micropython PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from loadmodel.engine import MeterModel  # noqa: E402
from meter import operations  # noqa: E402
from meter.config import from_dict  # noqa: E402
from tests.pico import picotest  # noqa: E402
from tests.pico_harness import runner  # noqa: E402

DAY0 = "2024-06-10"
INTERVALS = 288 * 2

MP_MODEL = """
import time, json
from picometer import start
from loadmodel.engine import MeterModel
from core.tz import Zone
cfg, tz, opts = start.load_config()
m = MeterModel(cfg, Zone.from_columns(cfg["timezone"], tz[0], tz[1]))
day = %d
start_min, count = m.day_grid(day)
m.recorded_interval(day, 0, start_min, count)
t0 = time.ticks_us()
k = 0
for d in range(day, day + 2):
    s, c = m.day_grid(d)
    for i in range(c):
        m.recorded_interval(d, i, s, c)
        k += 1
print("result " + json.dumps({"intervals": k, "us": time.ticks_diff(time.ticks_us(), t0)}))
"""


def cpython_model_us(raw: dict, day: int) -> tuple[int, float]:
    m = MeterModel(from_dict(raw).model)
    s, c = m.day_grid(day)
    m.recorded_interval(day, 0, s, c)
    t0 = time.perf_counter()
    k = 0
    for d in range(day, day + 2):
        s, c = m.day_grid(d)
        for i in range(c):
            m.recorded_interval(d, i, s, c)
            k += 1
    return k, (time.perf_counter() - t0) * 1e6


def ticks(first: int, n: int) -> list:
    return [[first, first + (n - 1) * 5, 5]]


def min_heap(image: Path, tmp: Path, fakes: int, high: int, rom: bytes = b"") -> int:
    """Bisect the heap cap: the smallest with which two days run without an error, each run
    on a fresh copy of the flash image (runner.find_min_heap reuses one flash) and of the
    ROMFS image, if any."""
    import shutil

    pristine = tmp / f"pristine-{image.name}"
    shutil.copytree(image, pristine, ignore=shutil.ignore_patterns(
        "data", "outbox", "sent", "held", "rejected", "state.json", "crash.log"))
    (pristine / "month.json").write_text(json.dumps({"days": 2}))

    def ok(cap: int) -> bool:
        flash = tmp / f"try-{image.name}-{cap}"
        shutil.copytree(pristine, flash)
        if rom:
            (tmp / f"{flash.name}.harness").mkdir()
            (tmp / f"{flash.name}.harness" / "rom.img").write_bytes(rom)
        res = runner.run(flash, code=picotest.mp_script("month.py"), heap=str(cap), timeout=300,
                         control=picotest.fast(DAY0 + "T00:00:00", heap={"sample": False}))
        got = picotest.parse_json_lines(res.stdout, "result ")
        return res.ok and bool(got) and got[0]["errors"] == 0

    lo, hi = (fakes + len(rom) + 32 * 1024) // 4096, (high + 32 * 1024) // 4096
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid * 4096):
            hi = mid
        else:
            lo = mid
    return hi * 4096


def month_heap(tmp: Path, fakes: int, bits: str, args, romfs: bool) -> None:
    """The month on one image; prints its live peak (and the smallest cap, unless skipped).
    With romfs the image's bytes are read into the unix port's heap before the program is
    imported (the harness's _start.py), so they fall in heap_base, as on a Pico they are
    flash; the cap grows by the image's size so the program keeps its 128 KiB."""
    month = tmp / ("month-romfs" if romfs else "month")
    home = tmp / (month.name + ".tempest")  # a Tempest of its own: each run delivers afresh
    home.mkdir()
    tempest = picotest.pico_tempest(home).start()
    try:
        _month_heap(month, tmp, tempest.url, fakes, bits, args, romfs)
    finally:
        tempest.stop()


def _month_heap(month: Path, tmp: Path, url: str, fakes: int, bits: str, args,
                romfs: bool) -> None:
    picotest.build_image(month, picotest.raw_config(url=url + "/"),
                         options={"heartbeat_s": 21600}, romfs=romfs)
    rom_path = tmp / f"{month.name}.harness" / "rom.img"
    rom = rom_path.read_bytes() if romfs else b""
    (month / "month.json").write_text(json.dumps({"days": args.days}))
    cap = 128 * 1024 + fakes + len(rom)  # 128 KiB for the program; the fakes (and ROM) on top
    res = runner.run(month, code=picotest.mp_script("month.py"), heap=str(cap), timeout=900,
                     control=picotest.fast(DAY0 + "T00:00:00", heap={"sample": False}))
    assert res.ok, res.output[-2000:]
    got = picotest.parse_json_lines(res.stdout, "result ")[0]
    where = (f"modules in a {len(rom) / 1024:.1f} KiB ROMFS image, run in place" if romfs
             else "modules as .mpy files on the flash, copied into the heap")
    print(f"month ({where}): {args.days} days, {got['passes']} main-loop passes, "
          f"{got['sent']} days delivered, {got['heartbeats']} heartbeats, "
          f"{got['errors']} errors, in {res.duration_s:.0f} s at a {cap // 1024} KiB cap")
    extra = "" if romfs else (f"; the older way, less the fakes ({fakes / 1024:.1f} KiB): "
                              f"{(got['heap_peak'] - fakes) / 1024:.1f} KiB")
    print(f"  live heap at the loop's fixed point, peak: "
          f"{(got['heap_peak'] - got['heap_base']) / 1024:.1f} KiB for the program "
          f"({bits}-bit build; {got['heap_peak'] / 1024:.1f} KiB in all, of which "
          f"{got['heap_base'] / 1024:.1f} KiB before the program){extra}")
    if not args.no_min_heap:
        low = min_heap(month, tmp, fakes, cap, rom)
        print(f"  smallest cap that runs two days without an error: {low // 1024} KiB "
              f"in all, {(low - got['heap_base']) / 1024:.0f} KiB above what was live "
              f"before the program (to 4 KiB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=30, help="simulated days for the heap run")
    ap.add_argument("--no-min-heap", action="store_true", help="skip the heap bisection")
    ap.add_argument("--micropython", metavar="PATH",
                    help="another build of the unix port to run on (e.g. a 32-bit one)")
    args = ap.parse_args()
    if args.micropython:
        os.environ["PICO_MICROPYTHON"] = str(Path(args.micropython).resolve())
    bits = subprocess.run([str(runner.micropython()), "-c",
                           "import sys; print(64 if sys.maxsize > 2 ** 31 else 32)"],
                          capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    print(f"interpreter: {runner.micropython()} ({bits}-bit build)")
    raw = picotest.raw_config()
    day = from_dict(raw).model["commissioned_day"] + 9  # 2024-06-10
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        flash = tmp / "flash"
        picotest.build_image(flash, raw, start=DAY0, preload_fakes=False)

        # 1a. The model alone, interval by interval.
        res = runner.run(flash, code=MP_MODEL % day, heap="256K", timeout=300,
                         control={"heap": {"sample": False}})
        mp = picotest.parse_json_lines(res.stdout, "result ")[0]
        k, cpy_us = cpython_model_us(raw, day)
        mp_per = mp["us"] / mp["intervals"]
        cpy_per = cpy_us / k
        print(f"model, one 5-minute interval (4 channels): MicroPython {mp_per:.0f} us, "
              f"CPython {cpy_per:.0f} us, ratio {mp_per / cpy_per:.1f}x")

        # 1b. The whole tick: model, journal append, the day sealed at midnight.
        first = picotest.epoch(DAY0 + "T00:00:00") // 60 + 5
        (flash / "ticks.json").write_text(json.dumps({"ticks": ticks(first, INTERVALS),
                                                      "max_intervals": 12}))
        res = runner.run(flash, code=picotest.mp_script("ticks.py"), heap="256K", timeout=300,
                         control={"heap": {"sample": False}})
        got = picotest.parse_json_lines(res.stdout, "result ")[0]
        t = operations.ticker(from_dict(raw), tmp / "pi")
        times = []
        for k in range(INTERVALS):
            t0 = time.perf_counter()
            t.tick(first + 5 * k, max_intervals=12)
            times.append(time.perf_counter() - t0)
        cpy_mean = sum(times) / len(times) * 1e6
        print(f"whole tick (model + journal + seal at midnight), {INTERVALS} ticks: MicroPython "
              f"mean {got['mean_us']:.0f} us, slowest {got['slowest_us'] / 1000:.1f} ms "
              f"(a seal); CPython meter (fsync'd files) mean {cpy_mean:.0f} us, slowest "
              f"{max(times) * 1000:.1f} ms; ratio of means {got['mean_us'] / cpy_mean:.1f}x")

        # 2. Heap over a month, the whole program: its modules on the flash (any firmware),
        # then in a ROMFS image (a firmware with a ROMFS partition, docs/pico.md).
        fakes = runner.fakes_overhead(tmp)
        for romfs in (False, True):
            month_heap(tmp, fakes, bits, args, romfs)


if __name__ == "__main__":
    main()
