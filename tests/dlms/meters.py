"""The DLMS meter the tests serve: its config, the fixed time it starts at, and a real
`meter dlms-serve` process (stopped by PID by the caller)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support.addresses import free_address
from tests.support.processes import stop_process

ROOT = Path(__file__).resolve().parents[2]
BERLIN = ZoneInfo("Europe/Berlin")
DAY = "2024-06-15"
# The meter's true time when the server starts; its clock runs ahead by the drift fault.
AT = datetime(2024, 6, 16, 12, 2, 30, tzinfo=BERLIN)
PASSWORD = "s3cret-pw"
CONFIG = {
    "serial": "dl-1", "timezone": "Europe/Berlin", "archetype": "family", "pv": {"kwp": 4},
    "commissioned": "2024-05-01",
    "faults": {"missing_intervals": 0.01, "estimated": 0.01, "outage_days": 0.1,
               "clock_drift_s_per_day": 20},
}


def start_server(tmp: Path, raw: dict) -> tuple[subprocess.Popen, str, int]:
    host, port = free_address()
    path = tmp / f"{raw['serial']}.json"
    path.write_text(json.dumps({**raw, "dlms": {"port": port, "password": PASSWORD,
                                                "profile_days": 40}}))
    log = (tmp / f"{raw['serial']}-serve.log").open("w")  # a file: a pipe could fill up
    proc = subprocess.Popen(
        [sys.executable, "-m", "meter", "dlms-serve", "--config", str(path), "--host", host,
         "--data-dir", str(tmp / raw["serial"]), "--at", AT.isoformat()],
        stdout=subprocess.PIPE, stderr=log, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = proc.stdout.readline()  # printed once it listens
    if not line:
        stop_process(proc)
        raise AssertionError("dlms-serve did not start: "
                             + (tmp / f"{raw['serial']}-serve.log").read_text())
    assert json.loads(line) == {"serial": raw["serial"], "host": host, "port": port}
    return proc, host, port
