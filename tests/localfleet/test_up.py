"""The README's first command, exactly, in a fresh clone: a whole fleet comes up.

It clones the repository, runs `scripts/up.sh` there with an empty HOME (to prove it writes
nothing outside the clone), checks that Tempest's API and UI show 12 meters, each holding the days
its ground truth says it must (`meter truth`: 14 days of history less whole-day outages and
days whose late delivery is not due yet; m07 has such faults, on days that depend on the date),
and fresh heartbeats, runs it again (one fleet, nothing changed), then
`scripts/down.sh`, and checks every process it started has stopped.

The routes of inventory/local/hosts.yml: m04 and m08 deliver nothing themselves (Tempest's DLMS
collector reads their `meter dlms-serve`), m05 and m10 publish to the fleet's Mosquitto (Tempest's
`mqtt-subscribe` takes their days), so their days arriving, with that route and source, proves
each route end to end.
"""

import json
import os
import re
import subprocess
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parents[2]
PORT = 18002
AGENT_BASE = 18200
DLMS_BASE = 18300
MQTT_PORT = 18884
SERIALS = [f"m{i:02d}" for i in range(1, 13)]
DLMS_METERS = ["m04", "m08"]  # inventory/local/hosts.yml: local_route
MQTT_METERS = ["m05", "m10"]
BACKFILL_DAYS = 14  # inventory/local/group_vars/meters/vars.yml: meter_backfill_days


def readme_first_command() -> str:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    first = [line for line in block.splitlines() if line.strip()][0]
    return first.split("#")[0].strip()


def get(path: str):
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}", timeout=10) as r:
        body = r.read()
        return r.status, body


def port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_readme_main_job_brings_up_a_live_fleet(tmp_path):
    command = readme_first_command()
    assert command == "scripts/up.sh"
    clone = tmp_path / "meters"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8",
           "METERS_TEMPEST_PORT": str(PORT), "METERS_AGENT_PORT_BASE": str(AGENT_BASE),
           "METERS_DLMS_PORT_BASE": str(DLMS_BASE), "METERS_MQTT_PORT": str(MQTT_PORT),
           # The clone's pip may reuse this checkout's download cache (outside the clone only
           # because the test says so: scripts/up.sh itself keeps its cache in .venv/).
           "PIP_CACHE_DIR": str(ROOT / ".venv" / "pip-cache")}
    try:
        before = time.time()
        up = subprocess.run(["bash", "-c", command], cwd=clone, env=env, capture_output=True,
                            text=True, timeout=1500)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        assert f"http://127.0.0.1:{PORT}/ui/" in up.stdout
        after = time.time()
        truth = GroundTruth(clone, env, before, after)
        meters = wait_for_fleet(truth.at_least)
        assert len(meters) == 12
        assert any(truth.at_least[s] > 0 for s in SERIALS)
        for m in meters:
            at_most = truth.at_most(m["serial"], time.time())
            assert truth.at_least[m["serial"]] <= m["days_stored"] <= at_most, (
                m, truth.at_least[m["serial"]], at_most)
            assert m["status"] == "online", m
            assert m["key"] == "active"
        by_serial = {m["serial"]: m for m in meters}
        # Sources: a DLMS day file is found as the collector's; an MQTT one in the meter's own
        # drop folder, as an rsync delivery is (docs/api.md: its route says MQTT).
        for serial, route, sources in ([(s, "dlms", {"dlms"}) for s in DLMS_METERS]
                                       + [(s, "mqtt", {"drop", "rsync"}) for s in MQTT_METERS]):
            assert by_serial[serial]["route"] == route, by_serial[serial]
            assert truth.at_least[serial] > 0
            _, body = get(f"/api/v1/meters/{serial}/files?per_page=100")
            files = json.loads(body)["items"]
            # Every day came by the meter's route: a DLMS day file (`.dl-`), an MQTT one (`.mqtt-`,
            # found in the meter's own drop folder, as rsync's), none uploaded.
            assert files and {f["source"] for f in files} <= sources, (serial, files[:3])
            marker = ".dl-" if route == "dlms" else ".mqtt-"
            assert all(marker in f["name"] for f in files), (serial, files[:3])
        assert "DLMS meters:  m04, m08" in up.stdout
        assert f"Mosquitto on 127.0.0.1:{MQTT_PORT}" in up.stdout
        status, page = get("/ui/meters")
        assert status == 200
        html = page.decode()
        for serial in [f"m{i:02d}" for i in range(1, 13)]:
            assert serial in html
        status, day = get("/api/v1/meters/m03/days?per_page=100")
        assert status == 200
        # Idempotent: a second run leaves one fleet and changes nothing.
        again = subprocess.run(["bash", "-c", command], cwd=clone, env=env, capture_output=True,
                               text=True, timeout=1500)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        assert re.findall(r"changed=(\d+)", again.stdout) == ["0"] * 13
        assert len(wait_for_fleet(truth.at_least)) == 12
    finally:
        # Every process the fleet runs, by its pid file (loops, agents, DLMS servers, Tempest,
        # its DLMS collector and MQTT subscriber, Mosquitto), before down.sh removes them.
        pids = running_pids(clone)
        down = subprocess.run(["bash", "scripts/down.sh"], cwd=clone, env=env,
                              capture_output=True, text=True, timeout=300)
    assert down.returncode == 0, down.stderr
    names = {p.name for p in pids}
    assert {"dlms-collect.pid", "mqtt-subscribe.pid", "mosquitto.pid", "dlms.pid"} <= names, names
    ports = [PORT, MQTT_PORT] + [AGENT_BASE + i for i in range(1, 13)] + [
        DLMS_BASE + int(s[1:]) for s in DLMS_METERS]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (any(port_open(p) for p in ports)
                                           or any(alive(pid) for pid in pids.values())):
        time.sleep(0.5)
    assert not port_open(PORT), "Tempest still answers after scripts/down.sh"
    assert not any(port_open(AGENT_BASE + i) for i in range(1, 13)), "an agent still answers"
    assert not [p for p in ports if port_open(p)], "a DLMS server or Mosquitto still answers"
    assert not [f for f, pid in pids.items() if alive(pid)], "a process outlived scripts/down.sh"
    # pip runs `rustc --version` for its user agent; on a machine with rustup on PATH (as this
    # one) that proxy writes ~/.rustup/settings.toml. That is rustup's doing, not ours.
    left = [p for p in home.rglob("*") if p.is_file() and p.relative_to(home).parts[0] != ".rustup"]
    assert not left, f"scripts/up.sh wrote outside the project folder: {left[:5]}"


def running_pids(clone: Path) -> dict[Path, int]:
    out = {}
    for pidfile in (clone / "var" / "local").glob("**/run/*.pid"):
        text = pidfile.read_text().strip()
        if text.isdigit() and alive(int(text)):
            out[pidfile] = int(text)
    return out


def alive(pid: int) -> bool:
    """Running, not a zombie: the fleet's processes are not this test's children."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class GroundTruth:
    """How many days Tempest must hold for each meter, from the meters' own ground truth.

    The deploy backfills the UTC days from BACKFILL_DAYS days ago to yesterday (the role's
    `date -u`), at some moment between `before` and `after`: if midnight UTC fell in between,
    only the days both windows share are certain. A day is certain when `meter truth` says it
    had no outage and, if it is delivered late, its release was due before the deploy began
    (the first tick releases it). The most a meter may hold: every day of either window or
    ended since, less its outages.

    A DLMS meter's days are the collector's: yesterday in the meter's zone and the 13 days
    before it (inventory/local: tempest_dlms_redial_days). Where the zone's day is ahead of
    UTC's (late evening UTC), that window starts a day later, so only days in both count.
    """

    def __init__(self, clone: Path, env: dict, before: float, after: float):
        first, second = (utc_day(before), utc_day(after))
        early = {first - timedelta(days=n) for n in range(1, BACKFILL_DAYS + 1)}
        late = {second - timedelta(days=n) for n in range(1, BACKFILL_DAYS + 1)}
        self.clone, self.env = clone, env
        self.window = early | late
        self.days: dict[date, list[dict]] = {}
        self.at_least = {s: 0 for s in SERIALS}
        # The DLMS meters (m04, m08) live in Europe/Berlin (inventory/local): the days the
        # collector reads whether it runs as the deploy began or as it ended.
        zone = ZoneInfo("Europe/Berlin")
        collected = set.intersection(*(
            {datetime.fromtimestamp(moment, zone).date() - timedelta(days=n)
             for n in range(1, BACKFILL_DAYS + 1)} for moment in (before, after)))
        for day in sorted(early & late):
            for t in self.truth(day):
                if t["serial"] in DLMS_METERS and day not in collected:
                    continue
                if not t["day_faults"]["outage"] and release(t) <= before:
                    self.at_least[t["serial"]] += 1

    def truth(self, day: date) -> list[dict]:
        if day not in self.days:
            configs = [a for s in SERIALS
                       for a in ("--config", f"var/local/meters/{s}/config.json")]
            out = subprocess.run([".venv/bin/meter", "truth", *configs, "--day", day.isoformat()],
                                 cwd=self.clone, env=self.env, capture_output=True, text=True,
                                 check=True, timeout=300)
            self.days[day] = json.loads(out.stdout)
        return self.days[day]

    def at_most(self, serial: str, now: float) -> int:
        days = self.window | {utc_day(now) - timedelta(days=n) for n in range(0, 2)}
        n = 0
        for day in sorted(days):
            t = next(t for t in self.truth(day) if t["serial"] == serial)
            if not t["day_faults"]["outage"] and day_end(t) <= now:
                n += 1
        return n


def utc_day(seconds: float) -> date:
    return datetime.fromtimestamp(seconds, UTC).date()


def day_end(truth: dict) -> float:
    return datetime.fromisoformat(truth["intervals"][-1]["end"]).timestamp()


def release(truth: dict) -> float:
    """When a sealed day leaves the meter: at its end, or late_days whole days after it."""
    return day_end(truth) + truth["day_faults"]["late_days"] * 86400


def wait_for_fleet(at_least: dict[str, int], timeout: float = 180) -> list[dict]:
    deadline = time.monotonic() + timeout
    meters: list[dict] = []
    while time.monotonic() < deadline:
        try:
            _, body = get("/api/v1/meters?per_page=50")
            meters = json.loads(body)["items"]
            if len(meters) == 12 and all(m["days_stored"] >= at_least[m["serial"]]
                                         and m["status"] == "online" for m in meters):
                return meters
        except OSError:
            pass
        time.sleep(2)
    return meters
