"""The DLMS collector reads the meters of Tempest's registry (docs/dlms.md): a meter registered
with `tempest meters dlms` (its password kept in the secrets folder, never in the store nor
the API), collected from a real `meter dlms-serve` process for yesterday and the missing days
before it; the skew it reads shows in the API, the meter's logged outages on the day page."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from core import civil
from meter import config, daybuild
from meter.vector.engine import VectorMeter
from tempest import create_app, db
from tempest.cli import main as tempest_cli
from tests.dlms.meters import AT, BERLIN, CONFIG, PASSWORD, ROOT, start_server
from tests.support.processes import stop_process

WINDOW = [f"2024-06-{d:02d}" for d in range(9, 16)]  # yesterday (06-15) and 6 days before


def tempest(tmp, *args, env=None):
    got = CliRunner(env=env).invoke(tempest_cli, [*args, "--data-dir", str(tmp / "tempest")])
    return got.exit_code, got.output


@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dlms-registry")
    proc, host, port = start_server(tmp, CONFIG)
    (tmp / "pw").write_text(PASSWORD + "\n")
    assert tempest(tmp, "meters", "add", "dl-1", "--timezone", "Europe/Berlin", "-q")[0] == 0
    code, out = tempest(tmp, "meters", "dlms", "dl-1", "--host", host, "--port", str(port),
                        "--password-file", str(tmp / "pw"))
    assert code == 0, out
    yield tmp, host, port
    stop_process(proc)


def outage_days() -> set[str]:
    cfg = config.from_dict(CONFIG)
    vm = VectorMeter(cfg.model)
    return {d for d in WINDOW
            if daybuild.truth(cfg, civil.parse_day(d), vm)["day_faults"]["outage"]}


def collect(tmp, *args):
    code, out = tempest(tmp, "dlms-collect", "--at", AT.isoformat(), "--redial-days", "6",
                        *args)
    return code, [json.loads(line) for line in out.splitlines()]


def test_registering_a_dlms_meter_keeps_its_password_secret(registered, tmp_path):
    tmp, host, port = registered
    # Bad input names the field, exit 2; an unknown meter is refused.
    (tmp_path / "long").write_text("x" * 33)
    code, out = tempest(tmp, "meters", "dlms", "dl-1", "--host", host, "--password-file",
                        str(tmp_path / "long"))
    assert code == 2 and "32 printable" in out
    code, out = tempest(tmp, "meters", "dlms", "nobody", "--host", host, "--password-file",
                        str(tmp / "pw"))
    assert code == 2 and "no meter nobody" in out
    store = (tmp / "tempest" / "tempest.sqlite3").read_bytes()
    assert PASSWORD.encode() not in store
    secrets = tmp / "tempest.secrets" / "dlms_passwords.json"
    assert json.loads(secrets.read_text()) == {"dl-1": PASSWORD}
    assert secrets.stat().st_mode & 0o077 == 0
    app = create_app({"DATA_DIR": str(tmp / "tempest")})
    client = app.test_client()
    listed = client.get("/api/v1/meters").get_json()["items"]
    assert [(m["serial"], m["route"]) for m in listed] == [("dl-1", "dlms")]
    one = client.get("/api/v1/meters/dl-1")
    assert one.get_json()["dlms"]["host"] == host and one.get_json()["dlms"]["port"] == port
    assert one.get_json()["dlms"]["password"] is True
    assert PASSWORD not in one.get_data(as_text=True)
    page = client.get("/ui/meters/dl-1").get_data(as_text=True)
    assert '<dd id="route"><span class="badge rt-dlms">DLMS pull</span>' in page
    assert f"{host}:{port}" in page
    assert "set (never shown)" in page and PASSWORD not in page


def test_yesterday_and_the_missing_days_are_collected_and_the_outages_logged(registered):
    tmp, _, _ = registered
    outages = outage_days()
    assert outages and outages < set(WINDOW)  # the window has outages and days to collect
    code, out = collect(tmp)
    assert code == 0, out
    assert [o["day"] for o in out] == WINDOW  # oldest first, each once
    for o in out:
        assert (o["file"] is None) == (o["day"] in outages), o
        assert -330 < o["clock_skew_s"] <= -300  # the meter runs about 5 minutes ahead
    # The skew read last is kept and shown.
    client = create_app({"DATA_DIR": str(tmp / "tempest")}).test_client()
    dlms = client.get("/api/v1/meters/dl-1").get_json()["dlms"]
    assert -330 < dlms["clock_skew_s"] <= -300 and dlms["last_error"] is None
    # Every outage day's power down and up is among Tempest's events, once.
    conn = db.connect(tmp / "tempest" / "tempest.sqlite3")
    events = conn.execute("SELECT at, code FROM meter_events ORDER BY at").fetchall()
    assert len(events) == len(set(events))
    downs = {r["at"] for r in events if r["code"] == 1}
    ups = {r["at"] for r in events if r["code"] == 2}
    for d in outages:
        midnight = datetime.fromisoformat(d).replace(tzinfo=BERLIN)
        prev = (midnight - timedelta(days=1)).date().isoformat()
        nxt = (midnight + timedelta(days=1)).date().isoformat()
        if prev not in outages:
            assert midnight.timestamp() in downs, d
        if nxt not in outages:
            assert (midnight + timedelta(days=1)).timestamp() in ups, d

    # Ingest stores the days; the next round redials only what is still not stored (the
    # outage days, which drop nothing) and stores no event twice.
    env = {"TEMPEST_SETTLE_SECONDS": "0"}
    assert tempest(tmp, "ingest", "-q", env=env)[0] == 0
    stored = {r["reading_day"] for r in conn.execute("SELECT reading_day FROM days")}
    assert stored == set(WINDOW) - outages
    code, again = collect(tmp)
    assert code == 0 and sorted(o["day"] for o in again) == sorted(outages)
    assert conn.execute("SELECT count(*) FROM meter_events").fetchone()[0] == len(events)
    conn.close()

    # The day page shows the outage beside the day with no intervals.
    first = min(outages)
    page = client.get(f"/ui/meters/dl-1/days/{first}")
    html = page.get_data(as_text=True)
    assert 'id="events"' in html and "power down" in html, html
    # And in the API, stored day or not.
    logged = client.get(f"/api/v1/meters/dl-1/days/{first}/events").get_json()
    assert logged["day"] == first and logged["events"][0]["event"] == "power_down"
    assert client.get("/api/v1/meters/dl-1/days/2024-13-01/events").status_code == 400


def test_the_loop_collects_yesterday_once_local_midnight_has_passed(registered, tmp_path):
    """`--every`: a collector started 3 s before the meter's local midnight collects the day
    before, then, in its first round after midnight, the day that just ended."""
    _, host, port = registered
    data = str(tmp_path / "t")
    (tmp_path / "pw").write_text(PASSWORD)
    runner = CliRunner()
    assert runner.invoke(tempest_cli, ["meters", "add", "dl-1", "--timezone", "Europe/Berlin",
                                       "-q", "--data-dir", data]).exit_code == 0
    assert runner.invoke(tempest_cli, ["meters", "dlms", "dl-1", "--host", host, "--port",
                                       str(port), "--password-file", str(tmp_path / "pw"),
                                       "--data-dir", data]).exit_code == 0
    before_midnight = datetime(2024, 6, 15, 23, 59, 57, tzinfo=BERLIN)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tempest", "dlms-collect", "--at", before_midnight.isoformat(),
         "--every", "1", "--redial-days", "0", "--data-dir", data],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    days = []
    try:
        while "2024-06-15" not in days:
            days.append(json.loads(lines.get(timeout=60))["day"])
    finally:
        stop_process(proc)
    # 06-14 first (again each round only if it was an outage day: nothing dropped), then 06-15.
    assert days[0] == "2024-06-14" and set(days[:-1]) == {"2024-06-14"}
    assert days[-1] == "2024-06-15"
