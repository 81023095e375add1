"""The Pico W program on MQTT against the same program on HTTP: peak live heap, same run.

Both run the whole program (main.py) on the real MicroPython (tests/pico_harness, a fast
clock) from the same fixed start, until the first sealed day has left the outbox and a
heartbeat went out: the HTTP meter to a real Tempest, the MQTT meter (delivery.mode "mqtt",
pico/picometer/mqttlink.py + mqtt.py) to a real Mosquitto. The live heap is sampled at the
main loop's fixed point (the harness's "heap" events); the program's heap is the peak less
what was live before it was imported ("heap-base"). The ratio MQTT / HTTP is the cost of the
MQTT route. Figures are the interpreter's in this run (the dev extra's unix port is 64-bit:
a Pico W's objects are about half the size; docs/pico.md).

Usage: .venv/bin/python bench/bench_pico_mqtt.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.pico import picotest  # noqa: E402
from tests.pico_harness import runner  # noqa: E402
from tests.support.addresses import free_address  # noqa: E402
from tests.support.mosquitto import Mosquitto  # noqa: E402
from tests.support.waiting import wait_for  # noqa: E402

START = "2024-06-10T21:45:00"  # UTC: Berlin's midnight 15 minutes later seals a day


def program_heap(events: list) -> int:
    base = [int(v) for _, k, v in events if k == "heap-base"]
    peak = [int(v) for _, k, v in events if k == "heap"]
    return max(peak) - (base[0] if base else 0)


def run_once(tmp: Path, mode: str) -> tuple[int, float]:
    """(program heap in bytes, seconds) of one run of the program in `mode`."""
    flash = tmp / f"flash-{mode}"
    server = None
    try:
        if mode == "mqtt":
            server = Mosquitto(tmp / "broker").start()
            raw = picotest.raw_config(delivery={"mode": "mqtt"},
                                      mqtt={"host": server.host, "port": server.port})
        else:
            host, port = free_address()
            raw = picotest.raw_config(url=f"http://{host}:{port}/")
            server = picotest.pico_tempest(tmp, address=(host, port)).start()
        picotest.build_image(flash, raw, options={"heartbeat_s": 3600})
        started = time.monotonic()
        p = runner.start(flash, heap="256K", control=picotest.fast(START))
        try:
            wait_for(lambda: picotest.flash_files(flash, "sent"), 300, 0.2,
                     f"a day sent over {mode}")
        finally:
            p.stop()
            res = p.wait()
        return program_heap(res.events), time.monotonic() - started
    finally:
        if server is not None:
            server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    picotest.require("micropython", "mpy-cross")
    heaps: dict[str, list[int]] = {"http": [], "mqtt": []}
    for i in range(args.runs):
        for mode in ("http", "mqtt"):  # alternated: the machine's load hits both alike
            with tempfile.TemporaryDirectory(prefix=f"bench-pico-{mode}-{i}-") as tmp:
                heap, secs = run_once(Path(tmp), mode)
            heaps[mode].append(heap)
            print(f"run {i + 1} {mode}: program heap {heap / 1024:.1f} KiB ({secs:.0f} s)")
    http, mqtt = statistics.median(heaps["http"]), statistics.median(heaps["mqtt"])
    print(f"median program heap: HTTP {http / 1024:.1f} KiB, MQTT {mqtt / 1024:.1f} KiB, "
          f"MQTT / HTTP = {mqtt / http:.3f} ({(mqtt - http) / 1024:+.1f} KiB); "
          f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
