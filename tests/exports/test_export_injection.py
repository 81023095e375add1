"""A meter's upload cannot write into the exports: no forged NEM12 record, no readings under
another meter's NMI, no split CSV row (security finding 4).

A real `tempest serve` takes the uploads of a victim meter, whose NMI the operator set in the
inventory (the tempest role's `tempest_settings`, rendered into tempest.toml by Ansible's own
template module), and of attackers whose day files carry, in `metadata.config`, an NMI with a
forged `300` record after a newline, a suffix doing the same, the victim's NMI, and a channel
name ending in a newline. The NEM12 download is read back with nemreader (an independent
reader) and the CSV download with the `csv` module.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import requests
from nemreader import NEMFile

from tests.sinks.sinkhelpers import SYDNEY, day_files, meter_raw
from tests.support import REPO
from tests.support.tempest import Tempest
from tests.support.tempest_client import admin_headers
from tests.support.waiting import wait_for

FIRST, LAST = "2024-05-01", "2024-05-02"
VICTIM_NMI = "VICTIM0001"
FORGED = "77.777"  # a value no meter here reads: seen anywhere in a file, a record was forged
# The victim's 200 record ends here, a forged 300 record follows, then a new 200 record picks
# up what the writer appends after the NMI.
INJECTED = (f"{VICTIM_NMI},E1,1,E1,N1,vic-1,kWh,30,\n300,20240501,"
            + ",".join([FORGED] * 48) + ",A,,,20240502000000,\n200,EVIL000001")


def render_settings(data: Path, tempest_settings: dict) -> None:
    """<data>/tempest.toml as the tempest role writes it (its template, Ansible's template
    module on this host) from the inventory's `tempest_settings`."""
    work = data.parent / "ansible"
    work.mkdir()
    (work / "ansible.cfg").write_text("")
    (work / "vars.json").write_text(json.dumps({
        "tempest_secrets_dir": str(work / "secrets"),  # Tempest makes it (0700) at start
        "tempest_env_file": str(work / "secrets" / "tempest.env"),
        "tempest_drop_dir": str(data / "drop"),
        "tempest_database_url": "",  # the role's vars/main.yml: empty unless clustered
        "tempest_settings": tempest_settings}))
    env = {**os.environ, "ANSIBLE_CONFIG": str(work / "ansible.cfg"),
           "ANSIBLE_HOME": str(work / "home"), "ANSIBLE_LOCAL_TEMP": str(work / "tmp")}
    out = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "localhost", "-i", "localhost,",
         "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}",
         "-e", f"@{work / 'vars.json'}", "-m", "ansible.builtin.template",
         "-a", f"src={REPO / 'roles/tempest/templates/tempest.toml.j2'} "
               f"dest={data / 'tempest.toml'} mode=0600"],
        capture_output=True, text=True, env=env, cwd=work, timeout=120)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]


def _meter(serial: str, channels: dict) -> dict[str, str]:
    # Brisbane keeps +10:00 all year, so its local days are NEM12's market days.
    raw = meter_raw(serial, "Australia/Brisbane", SYDNEY, interval_min=30, channels=channels)
    return day_files(raw, FIRST, LAST)


def _hostile(files: dict[str, str], nmi: str, suffix: str, rename: str | None = None) -> list:
    out = []
    for text in files.values():
        doc = json.loads(text)
        doc["metadata"]["config"]["nmi"] = nmi
        doc["metadata"]["config"]["channels"] = [{"name": "Total", "nem12_suffix": suffix}]
        if rename:
            for part in ("channels", "snapshots", "closing_snapshots", "datastreams",
                         "quality"):
                if rename in doc[part]:
                    doc[part][rename + "\n"] = doc[part].pop(rename)
        out.append(json.dumps(doc))
    return out


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("injection")
    data = tmp / "data"
    data.mkdir()
    # The operator's word on the victim's NMI, from the inventory; the attackers have none.
    render_settings(data, {"NEM12_METERS": {"vic-1": {"nmi": VICTIM_NMI,
                                                      "suffixes": {"Total": "E1"}}}})
    victim = _meter("vic-1", {"Total": 1.0})
    uploads = {
        "vic-1": list(victim.values()),
        "evil-1": _hostile(_meter("evil-1", {"Total": 1.0}), INJECTED,
                           "E1\n300,20240501," + ",".join([FORGED] * 48) + ",A,,,,"),
        "evil-2": _hostile(_meter("evil-2", {"Total": 1.0}), VICTIM_NMI, "E1"),
        "evil-3": _hostile(_meter("evil-3", {"Total": 1.0, "Main": 0.7, "Sub1": 0.3}),
                           VICTIM_NMI, "E1", rename="Main"),
    }
    tempest = Tempest(data, tmp / "tempest.log").start()
    try:
        for serial, texts in uploads.items():
            r = tempest.post("/api/v1/meters", json={"serial": serial}, headers=admin_headers())
            assert r.status_code == 201, r.text
            key = r.json()["key"]
            for text in texts:
                r = tempest.post("/api/v1/days", data=text, headers={"x-api-key": key})
                if r.status_code != 202:
                    continue  # refused at the door: fine, it must just not reach the exports
                url = r.json()["status_url"]
                wait_for(lambda u=url, k=key: tempest.get(u, headers={"x-api-key": k})
                         .json()["status"] != "queued", what=f"{serial} ingested")
        nem12 = requests.get(f"{tempest.url}/api/v1/exports/nem12?from={FIRST}&to={LAST}",
                             timeout=30)
        table = requests.get(f"{tempest.url}/api/v1/exports/csv?from={FIRST}&to={LAST}",
                             timeout=30)
    finally:
        tempest.stop()
    assert nem12.status_code == 200 and table.status_code == 200
    path = tmp / "out.nem12.csv"
    path.write_bytes(nem12.content)
    return victim, path, table.text


def _victim_wh(victim: dict[str, str]) -> dict[str, list[int]]:
    """Per reading day (= market day here), the victim's Wh per interval, in time order."""
    out = {}
    for text in victim.values():
        doc = json.loads(text)
        out[doc["reading_day"]] = [round(v * 1000) for v in doc["datastreams"]["Total"].values()]
    return out


def test_the_nem12_file_has_no_forged_record_and_no_readings_under_a_spoofed_nmi(served):
    victim, path, _ = served
    text = path.read_text()
    assert FORGED not in text
    lines = text.splitlines()
    assert lines[0].startswith("100,NEM12,") and lines[-1] == "900"
    for line in lines[1:-1]:
        fields = line.split(",")
        assert fields[0] in ("200", "300", "400"), line
        if fields[0] == "300":
            assert len(fields) == 2 + 48 + 5, line[:80]
    # One 200 record per stored meter channel, each NMI and suffix as Tempest decided them.
    headers = [line.split(",") for line in lines if line.startswith("200,")]
    assert sorted((h[1], h[4], h[6]) for h in headers) == [
        (VICTIM_NMI, "E1", "vic-1"), ("evil-1", "E1", "evil-1"), ("evil-2", "E1", "evil-2")]

    readings = NEMFile(str(path), strict=True).nem_data().readings
    assert set(readings) == {VICTIM_NMI, "evil-1", "evil-2"}
    assert set(readings[VICTIM_NMI]) == {"E1"}
    got: dict[str, list[int]] = defaultdict(list)
    for r in readings[VICTIM_NMI]["E1"]:
        got[r.t_start.date().isoformat()].append(round(r.read_value * 1000))
    assert dict(got) == _victim_wh(victim)  # the victim's readings, and only them


def test_the_csv_file_has_whole_rows_and_only_the_victims_readings_under_its_serial(served):
    victim, _, text = served
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["serial", "channel", "role", "interval_start", "interval_end", "kwh",
                       "quality"]
    assert all(len(row) == 7 for row in rows), [row for row in rows if len(row) != 7][:3]
    assert {row[0] for row in rows[1:]} <= {"vic-1", "evil-1", "evil-2", "evil-3"}
    assert not any("\n" in field or "\r" in field for row in rows for field in row)
    mine: dict[str, list[int]] = defaultdict(list)
    for row in rows[1:]:
        if row[0] == "vic-1":
            assert row[1] == "Total" and row[6] == "actual"
            mine[row[3][:10]].append(round(float(row[5]) * 1000))
    assert dict(mine) == _victim_wh(victim)
