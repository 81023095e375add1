"""kill -9 at random moments while `meter tick` writes: no corrupt file, no lost sealed day."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from core import civil, dayfile_reader
from meter import openday, registers
from meter.bulk import derive_all
from meter.clock import now_minute
from meter.config import from_dict
from meter.daybuild import build_days
from tests.meter.configs import family

ROOT = Path(__file__).resolve().parents[2]
KILLS = 40
METERS = 6


def wait_until_working(proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until the tick holds a meter folder's lock (meter.operations.exclusive): past Python's
    and the CLI's start-up, whose length has nothing to do with what this test kills."""
    fds = Path(f"/proc/{proc.pid}/fd")
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if any(os.readlink(fd).endswith("/.lock") for fd in fds.iterdir()):
                return
        except OSError:  # a descriptor closed (or the process ended) while being read
            pass
        time.sleep(0.002)


def test_kill_9_mid_write_never_corrupts_or_loses_a_sealed_day(tmp_path):
    raw = family(serial="crash", commissioned="2024-06-01",
                 faults={"missing_intervals": 0.01, "late_days": 0.1, "duplicate_days": 0.1})
    path = tmp_path / "config.json"
    path.write_text(__import__("json").dumps(raw))
    fleet = tmp_path / "fleet"
    rnd = random.Random(7)
    at = now_minute("2024-06-01T00:05:00+02:00")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # The meters' first tick runs whole: a meter that never once started has no days to lose,
    # and on a busy machine every killed tick could otherwise be a first one.
    stamp = time.strftime("%Y-%m-%dT%H:%M:00+00:00", time.gmtime(at * 60))
    subprocess.run([sys.executable, "-m", "meter", "tick", "--config", str(path), "--data-dir",
                    str(fleet), "--count", str(METERS), "--at", stamp], env=env, check=True,
                   capture_output=True, timeout=600)
    killed = 0
    for _ in range(KILLS):
        at += rnd.randrange(60, 14 * 60)  # an hour to half a day between ticks
        stamp = time.strftime("%Y-%m-%dT%H:%M:00+00:00", time.gmtime(at * 60))
        proc = subprocess.Popen(
            [sys.executable, "-m", "meter", "tick", "--config", str(path), "--data-dir",
             str(fleet), "--count", str(METERS), "--at", stamp],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until_working(proc)
        time.sleep(rnd.uniform(0.0, 0.3))  # a random moment of its work
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait()
    assert killed >= KILLS // 2, f"only {killed} of {KILLS} ticks were still running when killed"
    final = time.strftime("%Y-%m-%dT%H:%M:00+00:00", time.gmtime((at + 60) * 60))
    subprocess.run([sys.executable, "-m", "meter", "tick", "--config", str(path), "--data-dir",
                    str(fleet), "--count", str(METERS), "--at", final], env=env, check=True,
                   capture_output=True)
    last_day = civil.parse_day(final[:10]) - 1
    first = civil.parse_day("2024-06-01")
    for meter_raw in derive_all(raw, METERS, False):
        cfg = from_dict(meter_raw)
        root = fleet / cfg.serial
        delivered = {p.name: p.read_text() for d in ("outbox", "held")
                     for p in (root / d).iterdir() if p.name.endswith(".json")}
        expected = list(build_days(cfg, first, last_day, registers.opening(cfg, first)))
        for built in expected:
            name = f"{cfg.serial}_{civil.format_day(built.day)}.json"
            assert name in delivered, f"sealed day {name} lost"
            assert delivered[name] == built.text, f"{name} differs from its regeneration"
            dayfile_reader.parse(delivered[name])
        opened = openday.render(cfg, root)  # the open day, built from its journal
        if opened is not None:
            assert dayfile_reader.parse(opened[1]).status == "open"
        assert not list(root.glob("**/.*.tmp"))
