"""The Pico runs the Pi's load model: same config and seed, same readings, same bytes.

The model under test is loadmodel/ (and core's civil, tz and day-file writer) itself,
compiled to .mpy and run by the real MicroPython interpreter (with the data modules cut to one
household and country, as deployed). The
reference is the CPython meter's own tick (meter.operations.ticker) and its vectorised
backfill (meter.daybuild), over days with a DST change, PV, an EV, heating and every fault.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import civil
from meter import daybuild, operations, registers
from meter.config import from_dict
from tests.pico import picotest
from tests.pico.picotest import build_image, flash_files, mp_script, parse_json_lines
from tests.pico_harness import runner
from tests.support import REPO

NZ = {"latitude": -36.85, "longitude": 174.76, "country": "NZ"}
# Everything the model can do, around the end of NZ daylight time (2024-04-07).
FULL = {"serial": "pico-nz", "archetype": "family", "timezone": "Pacific/Auckland",
        "location": NZ, "commissioned": "2024-03-20", "pv": {"kwp": 4.5},
        "ev": {"kw": 7.2, "kwh_per_session": 18, "sessions_per_week": 4},
        "heating": {"type": "heat_pump"}, "hot_water": "night",
        "channels": {"Total": 1.0, "Main": 0.6, "Sub1": 0.4},
        "initial_registers": {"Total": 1234.567},
        "faults": {"missing_intervals": 0.01, "estimated": 0.01, "spikes": 0.005,
                   "late_days": 0.3, "duplicate_days": 0.3, "outage_days": 0.15},
        "tempest_url": "http://127.0.0.1:9/"}
# The seed's own kind of meter (a 24-value profile), across the start of CET summer time.
SEED = {"serial": "kili", "timezone": "Europe/Berlin", "commissioned": "2024-03-25",
        "profile": {str(h): v for h, v in enumerate(
            [1, 2, 1, 2, 1, 2, 3, 5, 6, 5, 4, 3, 4, 4, 3, 4, 3, 4, 5, 6, 7, 4, 3, 2])},
        "variability": 0.1, "channels": {"Total": 1.0, "House": 0.6, "Garden": 0.1,
                                         "Shed": 0.3}, "tempest_url": "http://127.0.0.1:9/"}


def minute(text: str) -> int:
    return picotest.epoch(text) // 60


def run_pico(flash: Path, ticks: list, max_intervals: int = 12) -> dict:
    (flash / "ticks.json").write_text(json.dumps({"ticks": ticks, "max_intervals": max_intervals}))
    res = runner.run(flash, code=mp_script("ticks.py"), heap="256K", timeout=120,
                     control={"heap": {"sample": False}})
    assert res.ok, res.output
    return parse_json_lines(res.stdout, "result ")[0]


def run_cpython(raw: dict, root: Path, ticks: list, max_intervals: int = 12) -> None:
    t = operations.ticker(from_dict(raw), root)
    for first, last, step in ticks:
        m = first
        while m <= last:
            while t.tick(m, max_intervals=max_intervals)["written"] >= max_intervals:
                pass
            m += step


def meter_files(root: Path) -> dict[str, bytes]:
    out = {}
    for folder in ("outbox", "held", "data", "sent"):
        for name, data in flash_files(root, folder).items():
            # data/<day>.json, the open day rebuilt each tick, is the Pi's alone: a Pico
            # uploads sealed days only and keeps the open day as its journal.
            if not name.startswith(".") and not (folder == "data" and name.endswith(".json")):
                out[f"{folder}/{name}"] = data
    out["state.json"] = (root / "state.json").read_bytes()
    return out


@pytest.mark.parametrize("raw, ticks", [
    (FULL, [[minute("2024-04-04T11:00:00"), minute("2024-04-05T11:00:00"), 5],
            [minute("2024-04-05T11:05:00"), minute("2024-04-09T03:00:00"), 65]]),
    (SEED, [[minute("2024-03-29T22:00:00"), minute("2024-04-01T09:00:00"), 35]]),
], ids=["household-nz-dst-faults", "seed-profile-berlin-dst"])
def test_pico_writes_the_pi_meters_bytes(tmp_path, raw, ticks):
    picotest.require("micropython", "mpy-cross")
    flash = tmp_path / "flash"
    cfg = build_image(flash, raw, start=civil.format_day(ticks[0][0] // 1440 - 1),
                      preload_fakes=False)
    got = run_pico(flash, ticks)
    assert got["ticks"] > 50

    cpy = tmp_path / "cpython"
    run_cpython(raw, cpy, ticks)
    pico_files = meter_files(flash)
    pi_files = meter_files(cpy)
    assert sorted(pico_files) == sorted(pi_files)
    sealed = [n for n in pico_files if n.startswith(("outbox/", "held/")) and n.endswith(".json")]
    assert len(sealed) >= 3, sorted(pico_files)
    for name in pico_files:
        assert pico_files[name] == pi_files[name], f"{name} differs between the Pico and the Pi"

    # And the same bytes as the Pi's vectorised backfill of those days.
    days = sorted({n.split("_")[-1][:10] for n in sealed})
    first, last = civil.parse_day(days[0]), civil.parse_day(days[-1])
    built = {civil.format_day(b.day): b.text for b in daybuild.build_days(
        cfg, first, last, registers.opening(cfg, first))}
    for name in sealed:
        day = name.split("_")[-1][:10]
        assert pico_files[name].decode() == built[day], f"{name} differs from the backfill"


def test_streamed_rows_write_the_same_bytes_on_cpython(tmp_path):
    """The Pico's way of writing a day (streamed rows and quality rows, the open day kept
    between ticks) against the Pi's (buffered rows), on CPython, over a DST day with every
    fault."""
    from loadmodel.engine import MeterModel
    from loadmodel.ticker import Ticker
    from meter.storage import DiskFS

    class SizedFS(DiskFS):
        # FlashFS has size(p): the Ticker then keeps the open day between ticks.
        def size(self, p):
            return os.path.getsize(p)

    cfg = from_dict(FULL)
    out = {}
    for mode in (False, True, "sized"):
        root = tmp_path / str(mode)
        fs = SizedFS() if mode == "sized" else DiskFS()
        t = Ticker(MeterModel(cfg.model), cfg.model, fs, str(root), lambda d: [5, 0, 0, 0],
                   buffer_rows=mode is True)
        m = minute("2024-04-05T11:00:00")
        while m < minute("2024-04-08T12:00:00"):
            t.tick(m, max_intervals=7)
            m += 17
        out[mode] = meter_files(root)
    assert out[False] == out[True] == out["sized"]


def test_every_file_compiles_with_mpy_cross(tmp_path):
    """mpy-cross rejects syntax MicroPython lacks: every module of pico/, loadmodel/ and the
    part of core/ the Pico runs."""
    from meter.pico_config import PICO_CORE

    picotest.require("mpy-cross")
    sources = sorted(Path(REPO, "pico").rglob("*.py"))
    sources += sorted(Path(REPO, "loadmodel").glob("*.py"))
    sources += [Path(REPO, "core", name) for name in PICO_CORE]
    assert len(sources) > 25
    failed = []
    for src in sources:
        res = runner.mpy_cross(src, out=tmp_path / (src.stem + ".mpy"))
        if res.returncode != 0:
            failed.append(f"{src}: {res.stderr.strip()}")
    assert not failed, "\n".join(failed)


def test_pico_config_cli_renders_the_config(tmp_path):
    raw = picotest.raw_config()
    (tmp_path / "m.json").write_text(json.dumps(raw))
    res = subprocess.run([sys.executable, "-m", "meter.pico_config", "--config",
                          str(tmp_path / "m.json"), "-o", str(tmp_path / "out" / "config.json"),
                          "--option", "heartbeat_s=30"],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "out" / "config.json").read_text())
    assert doc["model"]["serial"] == "pico-1" and doc["pico"]["heartbeat_s"] == 30
    assert doc["pico"]["tempest_url"] == "http://127.0.0.1:9/"
    assert "tempest_api_key" not in json.dumps(doc)
    rows = (tmp_path / "out" / "registers.txt").read_text().splitlines()
    assert rows[1].split() == [str(civil.parse_day("2024-06-01")), "0", "0", "0", "0"]
    bad = dict(raw, tempest_url="https://tempest.example/")
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    res = subprocess.run([sys.executable, "-m", "meter.pico_config", "--config",
                          str(tmp_path / "bad.json"), "-o", str(tmp_path / "x.json")],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert res.returncode != 0 and "tempest_url" in res.stderr
