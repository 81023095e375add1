"""Demo mode (`"demo": true`): a Pi meter that records and shows its readings and never
touches the network, whatever its config says about Tempest (meter/demo.py).

Judged from outside: a real Tempest that knows the meter's key receives nothing, and a
listening socket of the test's own, named as Tempest and as the agent's address, sees no
connection at all (the same socket does see one from the same meter with demo off, so the
check can fail)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest
import requests

from meter import clock
from tests.support import REPO
from tests.support.addresses import free_address
from tests.support.listener import Listener
from tests.support.processes import stop_process
from tests.support.waiting import wait_for

AT = "2024-06-10T01:00:00+12:00"  # an hour into the local day: the first tick records 12
LINE = re.compile(r"^(?P<serial>\S+) (?P<when>\d{4}-\d\d-\d\dT\d\d:\d\d[+-]\d\d:\d\d)  (?P<body>.*)$")


@pytest.fixture
def listener():
    s = Listener()
    yield s
    s.close()


def readings(stdout: str, serial: str) -> list[tuple[str, dict[str, int]]]:
    """(interval end, {channel: Wh}) for each reading line of `serial`."""
    out = []
    for line in stdout.splitlines():
        m = LINE.match(line)
        if not m or m["serial"] != serial:
            continue
        body = m["body"].removesuffix(" Wh")
        pairs = re.findall(r"(\S+)\s+(\d+)", body)
        out.append((m["when"], {k: int(v) for k, v in pairs}))
    return out


def journal_values(root, day: str) -> list[list[int]]:
    lines = (root / "data" / f"{day}.journal").read_text().splitlines()[1:]
    return [[int(v) for v in line.split()[2:]] for line in lines]


def meter_cmd(m, *args: str, at: str | None = AT, timeout: float = 120):
    return subprocess.run(m.argv(*args, at=at), capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=timeout)


def test_demo_meter_shows_its_readings_and_tempest_receives_nothing(tempest, meter_for):
    m = meter_for(tempest, demo=True, channels={"Total": 1.0, "House": 0.6, "Shed": 0.4})
    run = meter_cmd(m, "run", "--cycles", "1")
    assert run.returncode == 0, run.stderr
    shown = readings(run.stdout, m.serial)
    # The first tick of the day records 00:05 to 01:00: twelve intervals, each shown with the
    # values the journal holds.
    assert [w for w, _ in shown][0] == "2024-06-10T00:05+12:00"
    assert [w for w, _ in shown][-1] == "2024-06-10T01:00+12:00"
    assert len(shown) == 12
    assert [list(v.values()) for _, v in shown] == journal_values(m.root, "2024-06-10")
    assert list(shown[0][1]) == ["Total", "House", "Shed"]
    assert "demo mode, no network" in run.stdout.splitlines()[0]
    # What cron would run on a Pi: tick, deliver, heartbeat. All succeed and send nothing.
    for args, at in ((("tick",), "2024-06-12T00:30:00+12:00"),
                     (("deliver", "--force"), "2024-06-12T00:30:00+12:00"),
                     (("heartbeat",), "2024-06-12T00:30:00+12:00")):
        r = meter_cmd(m, *args, at=at)
        assert r.returncode == 0, (args, r.stderr)
        if args[0] != "tick":
            assert "demo mode" in json.loads(r.stdout)["reason"]
    assert m.names("outbox") == [f"{m.serial}_2024-06-10.json", f"{m.serial}_2024-06-11.json"]
    # Commands that can only mean the network refuse a demo meter, naming why (exit 2).
    for args in (("upload",), ("sync",), ("redial", "--from", "2024-06-10")):
        r = meter_cmd(m, *args, at="2024-06-12T00:30:00+12:00")
        assert r.returncode == 2 and "demo mode" in r.stderr, (args, r.stderr)
    assert tempest.days(m.serial) == {}
    assert tempest.files(m.serial) == []
    assert tempest.admin("GET", f"api/v1/meters/{m.serial}").json().get("heartbeats", 0) == 0
    assert m.names("sent") == []


def test_demo_meter_at_demo_speed_opens_no_socket(tmp_path, meter_for, listener):
    """`meter run` at 3600x (one 5-minute interval every 83 ms) and the agent's calls, with
    Tempest and the agent's reported address both a socket that only listens: no connection."""
    origin = datetime.now(UTC).replace(microsecond=0)
    # The meter's clock: the run's own start, scaled; nothing here depends on which day it is.
    m = meter_for(None, url=listener.url, demo=True, time_scale=3600,
                  time_origin=origin.isoformat(), commissioned="2020-01-01",
                  agent={"host": "127.0.0.1", "key": "demo-agent-key-0123456789",
                         "url": listener.url})
    proc = subprocess.Popen(m.argv("run", "--heartbeat-every", "1", at=None), cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        # The first cycle shows at most 12 of the day's intervals so far; then the loop sleeps
        # to each interval boundary of the scaled clock and shows one more each time.
        wait_for(lambda: len(readings("".join(seen), m.serial)) >= 24, 60,
                 what="readings at demo speed")
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(timeout=30)
        err = proc.stderr.read()
        out = "".join(seen)
    assert proc.returncode == 0, err
    shown = readings(out, m.serial)
    assert len(shown) >= 24
    ends = [clock.parse_instant(w[:16] + ":00" + w[16:]) for w, _ in shown]
    # One 5-minute interval after another; a cycle that fell behind (a slow disk) shows only
    # the newest 12 of what it caught up with, and says so.
    steps = [b - a for a, b in zip(ends, ends[1:], strict=False)]
    assert all(st > 0 and st % 300 == 0 for st in steps), out
    assert steps.count(300) >= 12, out
    assert sum(st > 300 for st in steps) <= out.count("earlier intervals recorded"), out
    # The agent of a demo meter: it ticks on request, and refuses to deliver or redial.
    host, port = free_address()
    agent = subprocess.Popen(m.argv("agent", "--host", host, "--port", str(port), at=None),
                             cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        base = f"http://{host}:{port}/"
        wait_for(lambda: _up(base), 30, what="the agent")
        auth = {"x-api-key": "demo-agent-key-0123456789"}
        assert requests.post(base + "tick", headers=auth, timeout=30).status_code == 200
        for route in ("deliver", "redial?from=2024-06-10"):
            r = requests.post(base + route, headers=auth, timeout=30)
            assert r.status_code == 409 and "demo mode" in r.text, (route, r.text)
    finally:
        stop_process(agent)
    assert listener.connections() == 0
    # The same meter with demo off reaches that socket at once: the check above can fail.
    m.update(demo=False)
    meter_cmd(m, "heartbeat", at=None, timeout=60)
    assert listener.connections() >= 1


def _up(base: str) -> bool:
    try:
        return requests.get(base, timeout=1).ok
    except requests.RequestException:
        time.sleep(0.1)
        return False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
