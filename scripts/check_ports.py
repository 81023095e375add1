"""Check the local fleet's ports before scripts/up.sh deploys, and say which collide.

Tempest listens on METERS_TEMPEST_PORT (8002), meter mNN's agent on METERS_AGENT_PORT_BASE
(18100) + NN, a DLMS meter's server (local_route: dlms in inventory/local/hosts.yml) on
METERS_DLMS_PORT_BASE (18400) + NN, and the fleet's Mosquitto, when a meter uses MQTT, on
METERS_MQTT_PORT (18883). Two of them on one port would make the deploy wait a minute for a process that
can never answer, so this refuses at once, naming the ports, the parts and the variable to
change. A port held by another program is refused too, unless this fleet's own process (from
its pid file under var/local/) holds it: running up.sh again over a live fleet is normal.
Exit 0 when the ports are usable, 2 (with the reason on stderr) when not.
Usage: python scripts/check_ports.py [PROJECT_ROOT]   (default: this checkout)
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import yaml

METERS = 12
# The inventory beside this script (PROJECT_ROOT only says where the fleet's pid files are).
INVENTORY = Path(__file__).resolve().parent.parent / "inventory" / "local" / "hosts.yml"


class PortError(ValueError):
    pass


def _env_port(name: str, default: int) -> int:
    text = os.environ.get(name) or str(default)
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise PortError(f"{name}={text!r}: must be a port number, 1-65535")
    return int(text)


def routes() -> dict[int, str]:
    """Each meter's local_route from the local inventory, by local_index (http if unset)."""
    doc = yaml.safe_load(INVENTORY.read_text())
    hosts = doc["all"]["children"]["meters"]["hosts"]
    return {int(h["local_index"]): h.get("local_route", "http") for h in hosts.values()}


def wanted() -> dict[str, int]:
    tempest = _env_port("METERS_TEMPEST_PORT", 8002)
    base = _env_port("METERS_AGENT_PORT_BASE", 18100)
    dlms = _env_port("METERS_DLMS_PORT_BASE", 18400)
    if base + METERS > 65535:
        raise PortError(f"METERS_AGENT_PORT_BASE={base}: the agents need up to {base + METERS}, "
                        "past the last port, 65535")
    if dlms + METERS > 65535:
        raise PortError(f"METERS_DLMS_PORT_BASE={dlms}: the DLMS meters need up to "
                        f"{dlms + METERS}, past the last port, 65535")
    ports = {"Tempest (METERS_TEMPEST_PORT)": tempest}
    for i in range(1, METERS + 1):
        ports[f"m{i:02d}'s agent (METERS_AGENT_PORT_BASE + {i})"] = base + i
    used = routes()
    for i, route in sorted(used.items()):
        if route == "dlms":
            ports[f"m{i:02d}'s DLMS server (METERS_DLMS_PORT_BASE + {i})"] = dlms + i
    if "mqtt" in used.values():
        ports["Mosquitto (METERS_MQTT_PORT)"] = _env_port("METERS_MQTT_PORT", 18883)
    return ports


def collisions(ports: dict[str, int]) -> list[str]:
    by_port: dict[int, list[str]] = {}
    for part, port in ports.items():
        by_port.setdefault(port, []).append(part)
    return [f"port {port}: {' and '.join(parts)}" for port, parts in sorted(by_port.items())
            if len(parts) > 1]


def _fleet_running(root: Path) -> bool:
    for pidfile in root.glob("var/local/**/*.pid"):
        text = pidfile.read_text().strip()
        if text.isdigit() and Path(f"/proc/{text}").exists():
            return True
    return False


def busy(ports: dict[str, int]) -> list[str]:
    out = []
    for part, port in ports.items():
        with socket.socket() as s:
            s.settimeout(0.3)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                out.append(f"port {port} ({part}) is already in use by another program")
    return out


def main(root: Path) -> int:
    try:
        ports = wanted()
    except PortError as e:
        print(f"scripts/up.sh: {e}", file=sys.stderr)
        return 2
    problems = collisions(ports)
    if not problems and not _fleet_running(root):
        problems = busy(ports)
    if problems:
        print("scripts/up.sh: the fleet's ports do not fit:", file=sys.stderr)
        for line in problems:
            print("  " + line, file=sys.stderr)
        print("Choose other ports with METERS_TEMPEST_PORT, METERS_AGENT_PORT_BASE (agents use "
              "BASE+1 ... BASE+12), METERS_DLMS_PORT_BASE (DLMS meter NN uses BASE+NN) and "
              "METERS_MQTT_PORT.", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    default_root = Path(__file__).resolve().parent.parent
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else default_root))
