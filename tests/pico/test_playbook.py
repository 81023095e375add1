"""The real playbooks/picos.yml (roles/pico, mpremote) against a virtual Pico W, twice.

The first run builds the flash image on the controller, copies it over the virtual Pico's
serial port with the deploy hold set, and starts the program; the second run finds every
file up to date (changed=0). The deployed program then records, seals its day across local
midnight and delivers it, with its heartbeats, to a real Tempest over MicroPython's sockets.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from tests.pico import picotest
from tests.pico.picotest import API_KEY, PASSWORD, SSID, pico_tempest, playbook
from tests.pico_harness.vpico import vpico
from tests.support.waiting import wait_for


def inventory(tmp: Path, port: str, tempest_url: str) -> Path:
    host = {
        "pico_port": port,
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "pico_archetype": "family",
        "pico_timezone": "Europe/Berlin",
        "pico_location": picotest.BERLIN,
        "pico_commissioned": "2024-06-01",
        "pico_channels": {"Total": 1.0, "Main": 0.5, "Sub1": 0.3, "Sub2": 0.2},
        "pico_tempest_url": tempest_url,
        # In production these come from the vault (group_vars/*/vault.yml).
        "pico_api_key": API_KEY,
        "pico_wifi_ssid": SSID,
        "pico_wifi_password": PASSWORD,
        "pico_options": {"led": False, "idle_ms": 4000, "heartbeat_s": 600},
        "pico_build_dir": str(tmp / "build"),
        "pico_registers_days": 40,
    }
    path = tmp / "hosts.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {"picos": {"hosts": {"pico-1": host}}}}}))
    return path


def test_playbook_deploys_idempotently_and_the_days_reach_tempest(tmp_path):
    picotest.require("micropython", "mpremote", "mpy-cross", "ansible-playbook")
    tempest = pico_tempest(tmp_path).start()
    control = picotest.fast("2024-06-10T21:56:00")
    try:
        # A board fresh from flashing MicroPython: an empty flash (and, for this test only, a
        # boot.py that loads the fakes first; a Pico has them built in).
        files = {"boot.py": "import machine, network, ntptime, socket, time\n",
                 # What a deploy from before the shared core left: the model under /meter/.
                 "meter/model/ticker.py": "raise ImportError('the old layout')\n"}
        with vpico(tmp_path, files=files, control=control, heap="192K") as dev:
            inv = inventory(tmp_path, dev.device, tempest.url + "/")
            first, counts = playbook(inv)
            assert first.returncode == 0, picotest.why_failed(first, dev)
            assert counts["changed"] >= 2 and counts["failed"] == 0, first.stdout[-3000:]
            flash = dev.flash
            assert (flash / "main.py").exists() and (flash / "config.json").exists()
            assert (flash / "picometer" / "app.mpy").exists()
            assert (flash / "loadmodel" / "ticker.mpy").exists()
            assert (flash / "core" / "dayfile_writer.mpy").exists()
            assert not list(flash.glob("core/*.py")) and not list(flash.glob("loadmodel/*.py"))
            assert not list(flash.glob("meter/**/*.py")), "the old layout's files stay behind"
            assert "API_KEY" in (flash / "secrets.py").read_text()
            assert not (flash / "deploy.hold").exists()
            doc = json.loads((flash / "config.json").read_text())
            assert doc["model"]["serial"] == "pico-1" and "tempest_api_key" not in json.dumps(doc)

            second, counts = playbook(inv)
            assert second.returncode == 0, picotest.why_failed(second, dev)
            assert counts["changed"] == 0, second.stdout[-3000:]

            # The program runs (restarted by the second run's contact) and delivers.
            assert list(tempest.wait_days("pico-1", ["2024-06-10"], timeout=90)) == ["2024-06-10"]
            beats = wait_for(lambda: [b for b in tempest.heartbeats("pico-1")
                                      if b.get("kind") == "pico"], 30, 0.3,
                             "a heartbeat from the deployed program")
            assert beats[0]["reset_cause"] == "reset: deploy"
            assert {"uptime_s", "free_mem", "version", "config_hash"} <= set(beats[0])
            assert not [e for e in dev.events() if e[1] == "wdt-expired"]
            day = tempest.day_file("pico-1", "2024-06-10")
            assert day is not None and (flash / "sent" / "pico-1_2024-06-10.json").read_bytes() == day
    finally:
        tempest.stop()
