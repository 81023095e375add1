"""A real bulk DLMS host for the tests and bench/bench_dlms_collect.py: `meter dlms-serve
--count N --mix` on N consecutive ports, its ledger's sealed day files (`meter tick --count N
--ledger`) as ground truth, and Tempest's registration of its meters (`tempest meters add`,
`tempest meters dlms --from`). Processes are stopped by PID by the caller."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
from pathlib import Path

from tests.dlms.meters import AT
from tests.support.processes import stop_process

ROOT = Path(__file__).resolve().parents[2]
SECRET = "bulk-host-secret"
BASE = {
    "serial": "bk", "timezone": "Europe/Berlin", "commissioned": "2024-05-01",
    "faults": {"missing_intervals": 0.01, "estimated": 0.01, "outage_days": 0.05,
               "clock_drift_s_per_day": 20},
}
DAY = "2024-06-15"  # yesterday at AT, in the meters' zone
# The ledger starts the evening before DAY's eve, so it seals DAY's eve and DAY itself.
LEDGER_START = "2024-06-14T22:00:00+02:00"


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "TEMPEST_SETTLE_SECONDS": "0"}


def free_ports(host: str, count: int, tries: int = 50) -> int:
    """A base port whose `count` ports from it are free on `host` right now (below the
    kernel's ephemeral range, so clients' own ports do not take them meanwhile)."""
    for _ in range(tries):
        base = random.randrange(20000, 32000 - count)
        taken = []
        try:
            for p in range(base, base + count):
                s = socket.socket()
                taken.append(s)
                s.bind((host, p))
            return base
        except OSError:
            continue
        finally:
            for s in taken:
                s.close()
    raise AssertionError(f"no {count} free consecutive ports on {host}")


def write_base(tmp: Path, base_port: int) -> Path:
    path = tmp / "bulk.json"
    path.write_text(json.dumps({**BASE, "dlms": {"port": base_port, "password": SECRET}}))
    return path


def seal_ledger(tmp: Path, count: int) -> Path:
    """The bulk host's own sealed day files of DAY (its ledger ticks): data/<serial>/outbox."""
    data = tmp / "host"
    for at in (LEDGER_START, AT.isoformat()):
        subprocess.run([sys.executable, "-m", "meter", "tick", "--config", str(tmp / "bulk.json"),
                        "--count", str(count), "--mix", "--ledger", "--data-dir", str(data),
                        "--at", at], check=True, env=env(), capture_output=True)
    return data


def start_host(tmp: Path, count: int, host: str,
               processes: int = 1) -> tuple[subprocess.Popen, dict]:
    """`meter dlms-serve --count N --mix` on the ledger's folder; (process, its JSON line).
    It writes every meter's endpoint and password to tmp/endpoints.json."""
    base_port = free_ports(host, count)
    write_base(tmp, base_port)
    log = (tmp / "bulk-serve.log").open("w")  # a file: a pipe could fill up
    proc = subprocess.Popen(
        [sys.executable, "-m", "meter", "dlms-serve", "--config", str(tmp / "bulk.json"),
         "--count", str(count), "--mix", "--data-dir", str(tmp / "host"), "--host", host,
         "--at", AT.isoformat(), "--endpoints", str(tmp / "endpoints.json"),
         "--processes", str(processes)],
        stdout=subprocess.PIPE, stderr=log, text=True, env=env())
    line = proc.stdout.readline()  # printed once every port listens
    if not line:
        stop_process(proc)
        raise AssertionError("bulk dlms-serve did not start: "
                             + (tmp / "bulk-serve.log").read_text())
    return proc, json.loads(line)


def register(tmp: Path, tempest_dir: Path, endpoints: Path) -> None:
    """Tempest's registry gets every meter (its zone) and its DLMS endpoint, in bulk."""
    serials = [e["serial"] for e in json.loads(endpoints.read_text())]
    tempest = [sys.executable, "-m", "tempest"]
    subprocess.run([*tempest, "meters", "add", *serials, "--timezone", BASE["timezone"], "-q",
                    "--data-dir", str(tempest_dir)], check=True, env=env(),
                   capture_output=True)
    subprocess.run([*tempest, "meters", "dlms", "--from", str(endpoints), "--data-dir",
                    str(tempest_dir)], check=True, env=env(), capture_output=True)
