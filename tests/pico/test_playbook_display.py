"""The pico role installs the display named in the inventory (`pico_display`), and only its
modules: the real playbooks/picos.yml against a virtual Pico W, a demo Pico with the LCD
(no Wi-Fi or key needed), then the same Pico without a display."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from tests.pico import picotest
from tests.pico.picotest import playbook
from tests.pico_harness.vpico import vpico
from tests.support.waiting import wait_for


def inventory(tmp: Path, port: str, display: str) -> Path:
    host = {
        "pico_port": port,
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "pico_archetype": "family",
        "pico_timezone": "Europe/Berlin",
        "pico_location": picotest.BERLIN,
        "pico_commissioned": "2024-06-01",
        "pico_channels": {"Total": 1.0, "Main": 0.5, "Sub1": 0.3, "Sub2": 0.2},
        "pico_tempest_url": "http://127.0.0.1:9/",
        # A demo Pico: no Wi-Fi, no key (the preflight does not ask for them).
        "pico_config_extra": {"demo": True, "time_origin": "2024-06-10T21:45:00+00:00",
                              "time_scale": 300},
        "pico_display": display,
        "pico_options": {"led": False, "idle_ms": 4000},
        "pico_build_dir": str(tmp / "build"),
        "pico_registers_days": 40,
    }
    path = tmp / "hosts.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {"picos": {"hosts": {"pico-1": host}}}}}))
    return path


def test_the_role_installs_the_display_of_the_inventory_and_only_it(tmp_path):
    picotest.require("micropython", "mpremote", "mpy-cross", "ansible-playbook")
    # The fakes first (a Pico has them built in), with the display board's (_panel: SPI).
    files = {"boot.py": "import machine, network, ntptime, socket, time, _panel\n"}
    control = {"clock": {"fast": True}}
    with vpico(tmp_path, files=files, control=control, heap="256K") as dev:
        res, counts = playbook(inventory(tmp_path, dev.device, "lcd_1_14"))
        assert res.returncode == 0, picotest.why_failed(res, dev)
        assert counts["changed"] >= 2 and counts["failed"] == 0, res.stdout[-3000:]
        flash = dev.flash
        shipped = sorted(p.name for p in (flash / "picometer" / "display").iterdir())
        assert shipped == ["__init__.mpy", "history.mpy", "panel.mpy", "screens.mpy",
                           "st7789.mpy"]
        assert 'API_KEY = ""' in (flash / "secrets.py").read_text()  # none needed in demo
        opts = json.loads((flash / "config.json").read_text())["pico"]
        assert opts["display"] == "lcd_1_14" and opts["demo"] is True
        assert opts["time_scale"] == 300
        # The deployed program draws (the driver sets up its SPI bus) and records days.
        wait_for(lambda: [e for e in dev.events() if e[1] == "spi-init"], 60, 0.3,
                 "the LCD's driver starting")
        wait_for(lambda: list((flash / "outbox").glob("pico-1_*.json")), 90, 0.3,
                 "a day sealed by the deployed demo program")

        # The same Pico without its display: the display's modules leave the flash.
        res, counts = playbook(inventory(tmp_path, dev.device, "none"))
        assert res.returncode == 0, picotest.why_failed(res, dev)
        assert counts["changed"] >= 1 and counts["failed"] == 0, res.stdout[-3000:]
        assert not list((flash / "picometer" / "display").glob("*.mpy"))
        assert json.loads((flash / "config.json").read_text())["pico"]["display"] == "none"
        kinds = {e[1] for e in dev.events()}
        assert not kinds & {"wlan-connect", "ntp-ok", "ntp-fail", "socket-refused"}, kinds
        assert "wdt-expired" not in kinds
