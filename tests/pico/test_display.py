"""The Pico displays on the real MicroPython interpreter (tests/pico_harness): every screen of
the 1.3" OLED (SH1107) and the 1.14" LCD (ST7789), drawn by the program's own display code
into its frame buffer, pushed by its driver over the fake SPI bus, and judged three ways:
the frame buffer, the bus replayed through a model of the controller, and the committed
reference image (docs/pico-screens/, shown in docs/pico.md) must all be the same picture.

After a deliberate change to a screen, write the new references and look at them:

    PICO_SCREENS_UPDATE=1 .venv/bin/python -m pytest -q tests/pico/test_display.py
"""

from __future__ import annotations

import functools
import json
import os
import time
from pathlib import Path

import pytest

from meter import pico_config
from meter.config import from_dict
from tests.pico import picotest, screenimg
from tests.pico_harness import runner
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
REFERENCES = REPO / "docs" / "pico-screens"
SCALE = {"oled_1_3": 3, "lcd_1_14": 2}  # the reference PNGs draw each pixel as a square
UPDATE = os.environ.get("PICO_SCREENS_UPDATE") == "1"
NAMES = ["Total", "Main", "Sub1", "Sub2"]
FIRST_END = 28_620_000  # a UTC minute (2024-06-01T00:00Z); any would do: nothing is dated
# A day of readings in Wh per 5 minutes, made up so the pictures show every case: a daily
# shape, four missing intervals, a spike, and a half-hour gap the history fills as missing.
SHAPE = [30, 28, 27, 26, 26, 28, 40, 80, 120, 90, 60, 55, 70, 65, 55, 50, 60, 95, 150, 170,
         130, 90, 60, 40]


def synthetic_rows() -> list:
    rows = []
    for k in range(300):
        if 180 <= k < 186:
            continue  # the meter was off: no rows at all
        end = FIRST_END + (k + 1) * 5
        if 100 <= k < 104:
            rows.append([end, None])
            continue
        total = SHAPE[(k * 5 // 60) % 24] + (k * 37) % 11
        if k == 250:
            total = 900
        main, sub1 = total * 5 // 10, total * 3 // 10
        rows.append([end, [total, main, sub1, total - main - sub1]])
    return rows


SPEC = {"serial": "pico-1", "version": "1.0.0", "names": NAMES, "interval": 5,
        "offset_min": 120, "display_s": 5, "rows": synthetic_rows(),
        "status": "demo mode: no network\ntime 300x\nup 0d 2h 5m",
        "temperatures": [["freezing", -52], ["cold", 45], ["mild", 215], ["hot", 333]]}


@functools.lru_cache(maxsize=2)
def _program(panel: str) -> tuple[tuple[str, bytes], ...]:
    cfg = from_dict({"serial": "x"})
    return tuple(pico_config.program_files(cfg, display=panel).items())


def render(tmp_path: Path, panel: str, log: bool = True) -> tuple[list[dict], Path, Path]:
    flash = tmp_path / f"flash-{panel}"
    pico_config.write_image(flash, dict(_program(panel)))
    (flash / "screens.json").write_text(json.dumps({**SPEC, "panel": panel}))
    (flash / "drive.py").write_text(picotest.mp_script("screens.py"))
    res = runner.run(flash, heap="256K", script="drive.py", timeout=120,
                     control={"clock": {"fast": True}, "spi": {"log": log}})
    assert res.ok, res.output[-3000:]
    shots = picotest.parse_json_lines(res.stdout, "shot ")
    return shots, flash, flash.parent / (flash.name + ".harness") / "state" / "spi.log"


@pytest.mark.parametrize("panel", ["oled_1_3", "lcd_1_14"])
def test_every_screen_matches_its_reference_on_the_buffer_and_on_the_bus(tmp_path, panel):
    picotest.require("micropython", "mpy-cross")
    shots, flash, spi_log = render(tmp_path, panel)
    names = [s["name"] for s in shots]
    want = ["empty", "status", "values", "bars"] + (["all"] if panel == "lcd_1_14" else []) + [
        f"chart{i}" for i in range(len(NAMES))] + ["area", "temperature", "splash",
                                                   "temperature-freezing", "temperature-cold",
                                                   "temperature-mild", "temperature-hot"]
    assert names == want
    log = spi_log.read_bytes()
    decode = screenimg.oled_from_spi if panel == "oled_1_3" else screenimg.lcd_from_spi
    wrong = []
    for shot in shots:
        name = shot["name"]
        raw = (flash / "out" / f"{name}.raw").read_bytes()
        pal = flash / "out" / f"{name}.pal"
        drawn = screenimg.canvas_image(panel, raw, pal.read_bytes() if pal.exists() else None)
        start, end = shot["spi"]
        sent = decode(log[start:end])
        assert screenimg.differences(drawn, sent) == 0, f"{name}: the panel would not show " \
            "what was drawn"
        ref = REFERENCES / f"{panel}-{name}.png"
        if UPDATE:
            REFERENCES.mkdir(exist_ok=True)
            screenimg.write_png(ref, drawn, SCALE[panel])
            continue
        assert ref.exists(), f"{ref} missing: PICO_SCREENS_UPDATE=1 writes it"
        diff = screenimg.differences(drawn, screenimg.read_png(ref, SCALE[panel]))
        if diff:
            got = tmp_path / f"{panel}-{name}.png"
            screenimg.write_png(got, drawn, SCALE[panel])
            wrong.append(f"{name}: {diff} pixels differ (drawn: {got})")
    assert not wrong, "\n".join(wrong)
    # Screens differ from each other (a blank or stuck frame would pass the above thrice).
    pictures = {(flash / "out" / f"{n}.raw").read_bytes() for n in names}
    assert len(pictures) == len(names)


@pytest.mark.parametrize("panel", ["oled_1_3", "lcd_1_14"])
def test_drawing_and_pushing_a_screen_are_short_steps(tmp_path, panel):
    """Each unit of the display's work runs between watchdog feeds: measured on the unix
    port (a desktop core; an RP2040 is some 20-50 times slower, still far inside the 8 s
    watchdog). docs/pico.md quotes these figures."""
    picotest.require("micropython", "mpy-cross")
    shots, _, _ = render(tmp_path, panel, log=False)
    draw = max(s["draw_us"] for s in shots)
    push = max(s["push_us"] / s["units"] for s in shots)
    print(f"\n{panel}: slowest draw {draw / 1000:.1f} ms, slowest push unit "
          f"{push / 1000:.2f} ms, units per frame {shots[0]['units']}")
    assert shots[0]["units"] == (1 if panel == "oled_1_3" else 15)
    # Bounds with room for a busy test machine (quiet, they are well under 2 ms): what they
    # hold is that no unit comes near the watchdog's seconds.
    assert draw < 250_000 and push < 100_000


def test_screens_rotate_on_their_timer_and_the_keys_step_through_them(tmp_path):
    """Real time, the OLED: the splash, then the next screen every 2 s; KEY0 (GP15) steps
    forward at once, KEY1 (GP17) back, each well before the timer would have."""
    picotest.require("micropython", "mpy-cross")
    panel = "oled_1_3"
    flash = tmp_path / "flash"
    pico_config.write_image(flash, dict(_program(panel)))
    (flash / "keys.json").write_text(json.dumps({"panel": panel, "display_s": 2,
                                                 "run_ms": 9000}))
    (flash / "drive.py").write_text(picotest.mp_script("keys.py"))
    p = runner.start(flash, heap="256K", script="drive.py", control={})

    def frames() -> list[tuple[str, int]]:
        return [(line.split()[1], int(line.split()[2]))
                for line in p.stdout_so_far().splitlines() if line.startswith("frame ")]

    def wait_frames(n: int) -> list[tuple[str, int]]:
        return wait_for(lambda: (lambda f: f if len(f) >= n else None)(frames()), 20)

    def press(gpio: int) -> None:
        p.control(pins={"in": {str(gpio): 0}})  # the key pulls its pin to ground
        time.sleep(0.3)
        p.control(pins={"in": {str(gpio): 1}})

    try:
        got = wait_frames(1)
        assert got[0][0] == "splash"
        press(15)
        got = wait_frames(2)
        assert got[1][0] == "status" and got[1][1] - got[0][1] < 1900, got
        press(17)
        got = wait_frames(3)
        assert got[2][1] - got[1][1] < 1900, got
        # then the timer: the next screen about display_s later
        got = wait_frames(5)
    finally:
        res = p.wait()
    assert res.ok, res.output[-2000:]
    rotation = ["status", "values", "bars", "chart0", "chart1", "area", "temperature"]
    assert got[2][0] == rotation[-1]  # back from the first screen: the last
    assert got[3][0] == rotation[0] and 1700 <= got[3][1] - got[2][1] <= 2600, got
    assert got[4][0] == rotation[1] and 1700 <= got[4][1] - got[3][1] <= 2600, got


def test_pico_config_ships_a_display_only_when_one_is_chosen():
    """CPython: the image builder's choices (meter/pico_config.py)."""
    raw = picotest.raw_config()
    cfg = from_dict(raw)
    names = {d: sorted(n for n in pico_config.program_files(cfg, mpy=False, display=d)
                       if n.startswith("picometer/display/"))
             for d in ("none", "oled_1_3", "lcd_1_14")}
    common = ["picometer/display/__init__.py", "picometer/display/history.py",
              "picometer/display/panel.py", "picometer/display/screens.py"]
    assert names["none"] == []
    assert names["oled_1_3"] == sorted(common + ["picometer/display/sh1107.py"])
    assert names["lcd_1_14"] == sorted(common + ["picometer/display/st7789.py"])
    # The seed's `display` field chooses one too; --display (the role) wins; a name that is
    # not a Pico display is refused, naming the field.
    assert pico_config.options(from_dict({**raw, "display": "oled_1_3"}))["display"] == "oled_1_3"
    assert pico_config.options(from_dict({**raw, "display": None}))["display"] == "none"
    assert pico_config.options(from_dict({**raw, "display": "oled_1_3"}),
                               {"display": "none"})["display"] == "none"
    with pytest.raises(pico_config.PicoConfigError) as bad:
        pico_config.options(from_dict({**raw, "display": "epaper"}))
    assert bad.value.field == "display" and "oled_1_3" in str(bad.value)
    # Demo speed is for demo mode only; a demo Pico needs no Tempest.
    with pytest.raises(pico_config.PicoConfigError) as bad:
        pico_config.document(from_dict({**raw, "time_scale": 300}))
    assert bad.value.field == "time_scale"
    demo = {**raw, "demo": True, "time_scale": 300, "time_origin": "2024-06-10T21:45:00Z"}
    del demo["tempest_url"]
    opts = pico_config.document(from_dict(demo))["pico"]
    assert (opts["demo"], opts["time_scale"], opts["demo_start"]) == (True, 300, 1718055900)
    del demo["time_origin"]
    opts = pico_config.document(from_dict(demo))["pico"]
    assert opts["demo_start"] == 1717192800  # 2024-06-01 (commissioned) 00:00 in Berlin
