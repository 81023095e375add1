"""`meter run`: the schedule in one process, on a clock that may run faster than real time."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.meter.configs import family

ROOT = Path(__file__).resolve().parents[2]


def test_run_ticks_on_a_fast_clock_and_stops_on_sigterm(tmp_path):
    origin = datetime.now(UTC).replace(microsecond=0).isoformat()
    raw = family(serial="fast", commissioned="2025-01-01", time_scale=600, time_origin=origin,
                 delivery={"mode": "none"})
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    pidfile = tmp_path / "run.pid"
    proc = subprocess.Popen([sys.executable, "-m", "meter", "run", "--config", str(path),
                             "--pidfile", str(pidfile)], env={**os.environ,
                                                              "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        journal = None
        deadline = time.monotonic() + 60
        # Lines of each day's journal as seen over time. Journals are named by local day, so
        # the last is the open one; the one seen first may be a day the loop just finished
        # (near local midnight), so growth is judged within one file, never across two.
        seen: dict[str, list[int]] = {}
        counts: list[int] = []
        while time.monotonic() < deadline:
            data = tmp_path / "data"
            journals = sorted(data.glob("*.journal")) if data.exists() else []
            if journals:
                journal = journals[-1]
                try:
                    lines = len(journal.read_text().splitlines())
                except FileNotFoundError:  # sealed between the listing and the read
                    continue
                counts = seen.setdefault(journal.name, [])
                counts.append(lines)
                if len(counts) > 6 and counts[-1] > counts[0] + 3:
                    break
            time.sleep(0.5)
        assert journal is not None, "meter run never ticked"
        assert counts[-1] > counts[0] + 3, f"the fast clock did not advance ticks: {seen}"
        assert pidfile.read_text().strip() == str(proc.pid)
        # a second loop on the same pidfile refuses to start
        again = subprocess.run([sys.executable, "-m", "meter", "run", "--config", str(path),
                                "--pidfile", str(pidfile)], capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
        assert again.returncode == 2 and "still running" in again.stderr
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert not pidfile.exists()
