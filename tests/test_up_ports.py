"""scripts/check_ports.py, which scripts/up.sh runs before it deploys: ports that collide, or
that another program holds, are refused at once with the parts named (exit 2)."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys

from tests.support import REPO

SCRIPT = REPO / "scripts" / "check_ports.py"


def check(tmp_path, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("METERS_")} | env
    return subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True,
                          text=True, env=full, timeout=30)


def quiet_base() -> int:
    # Twelve agent ports in a high range nobody here listens on.
    return random.randrange(41000, 59000, 100)


def test_tempest_on_an_agents_port_is_refused_naming_both(tmp_path):
    res = check(tmp_path, METERS_TEMPEST_PORT="18107")
    assert res.returncode == 2
    assert "port 18107: Tempest (METERS_TEMPEST_PORT) and m07's agent" in res.stderr


def test_a_port_held_by_another_program_is_refused(tmp_path):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        res = check(tmp_path, METERS_TEMPEST_PORT=str(port),
                    METERS_AGENT_PORT_BASE=str(quiet_base()))
    assert res.returncode == 2
    assert f"port {port} (Tempest (METERS_TEMPEST_PORT)) is already in use" in res.stderr


def test_free_ports_pass_and_a_bad_number_names_the_variable(tmp_path):
    base = quiet_base()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        tempest = probe.getsockname()[1]
    assert check(tmp_path, METERS_TEMPEST_PORT=str(tempest), METERS_AGENT_PORT_BASE=str(base),
                 METERS_DLMS_PORT_BASE=str(base + 50),
                 METERS_MQTT_PORT=str(base + 99)).returncode == 0
    res = check(tmp_path, METERS_AGENT_PORT_BASE="80000")
    assert res.returncode == 2 and "METERS_AGENT_PORT_BASE='80000'" in res.stderr


def test_a_dlms_meter_on_an_agents_port_is_refused_naming_both(tmp_path):
    # m04 and m08 serve DLMS (inventory/local/hosts.yml): BASE + 4 is m04's server.
    res = check(tmp_path, METERS_AGENT_PORT_BASE="18400", METERS_DLMS_PORT_BASE="18400")
    assert res.returncode == 2
    assert "port 18404: m04's agent (METERS_AGENT_PORT_BASE + 4) and m04's DLMS server" \
        in res.stderr
    assert "m01's DLMS server" not in res.stderr  # an HTTP meter serves no DLMS


def test_the_brokers_port_held_by_another_program_is_refused(tmp_path):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        res = check(tmp_path, METERS_MQTT_PORT=str(port), METERS_AGENT_PORT_BASE=str(quiet_base()),
                    METERS_DLMS_PORT_BASE=str(quiet_base() + 50), METERS_TEMPEST_PORT="1")
    assert res.returncode == 2
    assert f"port {port} (Mosquitto (METERS_MQTT_PORT)) is already in use" in res.stderr
