"""Each meter's delivery route in the registry, the API and the UI, recorded from what
happened (tempest/routes.py): against a real Tempest (web and ingest), one meter per route."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from tempest.cli import main
from tempest.db import connect, init_db
from tests.concentrator.test_concentrator_routes import add_concentrator
from tests.tempest.tempest_testdata import make_day

DAY = "2023-05-26"
ROUTES = {"up-1": "upload", "rs-1": "rsync", "co-1": "collect", "mq-1": "mqtt",
          "cc-1": "concentrator", "dl-1": "dlms"}


def place(folder: Path, name: str, data: bytes) -> None:
    """As rsync, the collect playbook and the MQTT subscriber do: a hidden name, then a
    rename into place."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f".{name}.tmp").write_bytes(data)
    os.rename(folder / f".{name}.tmp", folder / name)


def routes_listed(tempest, query: str = "") -> dict:
    r = tempest.get(f"api/v1/meters?per_page=50{query}")
    assert r.status_code == 200, r.text
    return {m["serial"]: m["route"] for m in r.json()["items"]}


def test_each_meter_shows_the_route_its_days_came_by(make_tempest, runner, tmp_path):
    tempest = make_tempest().start()
    keys = {serial: tempest.add_meter(serial) for serial in ROUTES}
    assert set(routes_listed(tempest).values()) == {None}  # no day yet, nothing registered
    password = tmp_path / "pw"
    password.write_text("12345678")
    res = runner.invoke(main, ["meters", "dlms", "dl-1", "--host", "127.0.0.1",
                               "--password-file", str(password), "--data-dir",
                               str(tempest.data_dir)])
    assert res.exit_code == 0, res.output
    drop = tempest.data_dir / "drop"
    r = tempest.post("api/v1/days", data=make_day("up-1", DAY),
                     headers={"x-api-key": keys["up-1"], "Content-Type": "application/json"})
    assert r.status_code == 202, r.text
    place(drop / "rs-1", f"rs-1_{DAY}.json", make_day("rs-1", DAY))
    place(drop, f"co-1_{DAY}.json", make_day("co-1", DAY))
    place(drop / "mq-1", f"mq-1_{DAY}.mqtt-0123456789abcdef.json", make_day("mq-1", DAY))
    dcu = add_concentrator(runner, tempest, "dcu-1", "cc-1")
    r = tempest.post("api/v1/concentrator/days", headers={"x-api-key": dcu},
                     json={"files": [make_day("cc-1", DAY).decode()]})
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    for serial in ROUTES:
        if serial != "dl-1":  # Tempest dials it: its route is known before any day
            tempest.wait_days(serial, [DAY])
    assert routes_listed(tempest) == ROUTES
    assert routes_listed(tempest, "&route=mqtt") == {"mq-1": "mqtt"}
    assert routes_listed(tempest, "&route=dlms") == {"dl-1": "dlms"}
    bad = tempest.get("api/v1/meters?route=pigeon")
    assert bad.status_code == 400 and bad.json()["field"] == "route"

    # The heartbeat's own route, beside it.
    r = tempest.post("api/v1/heartbeats", json={"serial": "up-1", "kind": "pi"},
                     headers={"x-api-key": keys["up-1"]})
    assert r.status_code == 200, r.text
    r = tempest.post("api/v1/concentrator/heartbeats", headers={"x-api-key": dcu},
                     json={"heartbeats": [{"serial": "cc-1", "kind": "pi"}]})
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    one = tempest.get("api/v1/meters/up-1").json()
    assert (one["route"], one["heartbeat_route"], one["last_gasp_at"]) == ("upload", "http", None)
    assert tempest.get("api/v1/meters/cc-1").json()["heartbeat_route"] == "concentrator"
    assert tempest.get("api/v1/meters/rs-1").json()["heartbeat_route"] is None

    # The UI: a column and a filter on the fleet page, a badge on the meter's page.
    page = tempest.get("ui/meters?route=rsync").text
    assert 'data-serial="rs-1"' in page and 'data-serial="up-1"' not in page
    assert '<span class="badge rt-rsync">rsync</span>' in page
    assert '<option value="rsync" selected>rsync</option>' in page
    page = tempest.get("ui/meters").text
    for serial in ROUTES:
        assert f'data-serial="{serial}"' in page
    assert "last-gasp" not in page  # no MQTT Last Will here
    meter = tempest.get("ui/meters/up-1").text
    assert '<span class="badge rt-upload">HTTP push</span>' in meter
    assert "heartbeats by HTTP" in meter
    assert '<span class="badge rt-dlms">DLMS pull</span>' in tempest.get("ui/meters/dl-1").text


OLD_METERS = ("CREATE TABLE meters (serial TEXT PRIMARY KEY, key_hash TEXT, "
              "key_issued_at REAL, key_revoked_at REAL, timezone TEXT, created_at REAL NOT "
              "NULL, first_seen REAL, last_seen REAL, address TEXT, agent_url TEXT, "
              "version TEXT, config_hash TEXT, backlog INTEGER, last_tick TEXT, "
              "free_disk_bytes INTEGER, kind TEXT, clock_skew_s REAL, diagnostics TEXT, "
              "heartbeats INTEGER NOT NULL DEFAULT 0, days_stored INTEGER NOT NULL DEFAULT 0, "
              "files_archived INTEGER NOT NULL DEFAULT 0, last_day TEXT, last_file_at REAL)")
ADDED = ["route", "heartbeat_route", "last_gasp_at"]


def test_a_store_made_before_the_route_columns_gains_them(tmp_path, tempest_store):
    """An older store (its meters table without route, heartbeat_route, last_gasp_at) is
    brought up to date at start, its rows kept; a second start changes nothing. On the store
    the suite runs on: SQLite (db.add_columns) or PostgreSQL (schema_pg.sql's ADD COLUMN)."""
    if tempest_store is None:
        target = tmp_path / "tempest.sqlite3"
        old = sqlite3.connect(target)
        old.execute(OLD_METERS)
        old.execute("INSERT INTO meters (serial, created_at) VALUES ('old-1', 1.0)")
        old.commit()
        old.close()
    else:
        target = tempest_store  # a fresh database, made from the current schema: made old
        old = connect(target)
        old.executescript("ALTER TABLE meters " + ", ".join(f"DROP COLUMN {c}" for c in ADDED)
                          + "; INSERT INTO meters (serial, created_at) VALUES ('old-1', 1.0)")
        old.close()
    init_db(target)
    init_db(target)
    conn = connect(target)
    try:
        if tempest_store is None:
            columns = [r["name"] for r in conn.execute("PRAGMA table_info(meters)")]
        else:
            columns = [r["column_name"] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = "
                "'meters' AND table_schema = current_schema() ORDER BY ordinal_position")]
        assert columns[-3:] == ADDED
        assert [tuple(r) for r in conn.execute("SELECT serial, route FROM meters")] == [
            ("old-1", None)]
    finally:
        conn.close()
